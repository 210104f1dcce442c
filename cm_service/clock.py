"""The one clock: every "now" a request, a command or a job starts from.

Services never read the time themselves; they are given `now` by their caller, which
reads it here. Tests stop this one clock (`tests.support.clock.freeze`) instead of
patching each caller.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, timezone-aware in UTC."""
    return datetime.now(UTC)
