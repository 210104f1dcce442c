"""Fixtures of the CM service tests."""

from __future__ import annotations

from collections import Counter

import pytest

from cm_service import rules


@pytest.fixture
def folds(monkeypatch) -> Counter[str]:
    """Calls of the engine's folds, by name, from here on. The spy still calls
    the real engine: the answers are the engine's, only the calls are counted."""
    calls: Counter[str] = Counter()
    for name in ("evaluate", "fold_awards"):
        real = getattr(rules, name)

        def spy(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(rules, name, spy)
    return calls
