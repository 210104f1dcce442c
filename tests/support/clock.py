"""Stopping the app's one clock (cm_service.clock) for a test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import pytest

from cm_service import clock


def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime | Callable[[], datetime]):
    """Make every `clock.now()` answer `at` (or call it, for a clock that moves) until
    the test ends; calling it again moves the stopped clock."""
    reading = at if callable(at) else (lambda: at)
    monkeypatch.setattr(clock, "now", reading)
