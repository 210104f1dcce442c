"""Stopping the app's one clock (cm_service.clock) for a test.

The `clock` fixture (tests/conftest.py) is the one way tests stop time: it stops
the clock at NOW and returns a `Clock`; set `clock.now` (or call `clock.advance`)
to move it. `freeze` is what the fixture does, for a fixture that needs another
moment."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest

from cm_service import clock as app_clock


class Clock:
    """A stopped clock that a test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> datetime:
        self.now += by
        return self.now


def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime | Callable[[], datetime]):
    """Make every `clock.now()` answer `at` (or call it, for a clock that moves) until
    the test ends; calling it again moves the stopped clock."""
    reading = at if callable(at) else (lambda: at)
    monkeypatch.setattr(app_clock, "now", reading)
