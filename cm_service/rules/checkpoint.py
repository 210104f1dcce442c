"""A fold checkpoint as plain JSON, for the services layer to keep between settles.

Owns the storable form of `evaluate.Checkpoint`: streaks, the week being tallied, the
totals so far and the cap windows a later date can still fall in (money as exact
fractions). Per-test windows belong to dates already folded and are left out.
Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import asdict, replace
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Any, cast

from .caps import CapMeter
from .escalation import Streak
from .evaluate import Checkpoint, _State, _Totals, _WeekTally, meter_facts
from .facts import EnrollmentFacts

FORMAT = 3


def dump(checkpoint: Checkpoint) -> dict[str, Any]:
    state = checkpoint.state
    return {
        "format": FORMAT,
        "through": checkpoint.through.isoformat(),
        "streak": asdict(state.streak),
        "sessions": [asdict(streak) for streak in state.sessions],
        "tally": asdict(state.tally) if state.tally else None,
        "totals": {
            **asdict(replace(state.totals, cents_by_year={})),
            "cents_by_year": sorted(state.totals.cents_by_year.items()),
        },
        "used": [
            [list(window), value.numerator, value.denominator]
            for window, value in _windows(state.meter)
            if _still_open(window, checkpoint.through)
        ],
    }


def load(data: dict[str, Any], facts: EnrollmentFacts) -> Checkpoint | None:
    """The checkpoint, or None for one written in another format (fold again)."""
    if data.get("format") != FORMAT:
        return None
    used: dict[Hashable, Fraction] = {
        tuple(window): Fraction(numerator, denominator)
        for window, numerator, denominator in data["used"]
    }
    tally, totals = data["tally"], dict(data["totals"])
    by_year = MappingProxyType(dict(map(tuple, totals.pop("cents_by_year"))))
    state = _State(
        meter=CapMeter(MappingProxyType(used), **meter_facts(facts)),
        streak=Streak(**data["streak"]),
        sessions=tuple(Streak(**streak) for streak in data["sessions"]),
        tally=_WeekTally(**tally) if tally else None,
        totals=_Totals(**totals, cents_by_year=by_year),
    )
    return Checkpoint(date.fromisoformat(data["through"]), state)


def _windows(meter: CapMeter) -> list[tuple[tuple[Any, ...], int | Fraction]]:
    """The meter's windows with what they count (every window is a tuple)."""
    return [(cast(tuple[Any, ...], w), value) for w, value in meter.used.items()]


def _still_open(window: tuple[Any, ...], through: date) -> bool:
    """Whether an award dated after `through` can still count in `window`."""
    scope = window[0]
    if scope == "program":  # a funding program's award, month or year window
        scope, window = window[2], (window[2], *window[3:])
    if scope in ("test", "award"):
        return False  # a test window is one folded day or session
    iso = through.isocalendar()
    if scope == "week":
        return (window[1], window[2]) >= (iso.year, iso.week)
    if scope == "month":
        return (window[1], window[2]) >= (through.year, through.month)
    if scope == "year":
        return bool(window[1] >= through.year)
    return True
