"""Where an enrollment stands on one day, as the pages show it, and its stored form.

A `Standing` is the part of an `Evaluation` that the participant home, the check-in
form and answer and the API balance read: the run and level (and the level recovery
would restore), the next negative and next sessions and what they pay, the totals,
and the sessions counted that day. It holds no award list and no day list, so it is
small enough to keep in one row per enrollment and read instead of folding.
`dump`/`load` give it as plain JSON (explanations as messages, rules/messages.py).
Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from types import MappingProxyType
from typing import Any

from .evaluate import Evaluation, NextNegative, NextSession
from .messages import from_json, to_json
from .sessions import SessionOutcome

FORMAT = 1


@dataclass(frozen=True)
class Standing:
    """`as_of`: the clinic day it is for. The fields mean what the same fields of an
    `Evaluation` at `as_of` mean; `sessions` are only those counted on `as_of`."""

    as_of: date
    run: int
    level: int
    saved_level: int | None
    longest_run: int
    next_negative: NextNegative
    total_points: int
    total_cents: int
    total_draws: int
    capped_cents: int
    cents_by_year: Mapping[int, int] = field(
        default_factory=lambda: MappingProxyType({})
    )
    sessions: tuple[SessionOutcome, ...] = ()
    next_sessions: tuple[NextSession, ...] = ()
    session_runs: tuple[int, ...] = ()


def standing_of(evaluation: Evaluation, as_of: date) -> Standing:
    """The standing an evaluation at `as_of` gives."""
    return Standing(
        as_of=as_of,
        run=evaluation.run,
        level=evaluation.level,
        saved_level=evaluation.saved_level,
        longest_run=evaluation.longest_run,
        next_negative=evaluation.next_negative,
        total_points=evaluation.total_points,
        total_cents=evaluation.total_cents,
        total_draws=evaluation.total_draws,
        capped_cents=evaluation.capped_cents,
        cents_by_year=MappingProxyType(dict(evaluation.cents_by_year)),
        sessions=tuple(s for s in evaluation.sessions if s.on == as_of),
        next_sessions=evaluation.next_sessions,
        session_runs=evaluation.session_runs,
    )


def dump(standing: Standing) -> dict[str, Any]:
    n = standing.next_negative
    return {
        "format": FORMAT,
        "as_of": standing.as_of.isoformat(),
        "run": standing.run,
        "level": standing.level,
        "saved_level": standing.saved_level,
        "longest_run": standing.longest_run,
        "next_negative": {
            "points": n.points,
            "draws": n.draws,
            "cents": n.cents,
            "bonus_points": n.bonus_points,
            "bonus_draws": n.bonus_draws,
            "on": _day(n.on),
            "explanation": n.explanation,
            "withheld": n.withheld,
            "why": _why(n.why),
        },
        "totals": [
            standing.total_points,
            standing.total_cents,
            standing.total_draws,
            standing.capped_cents,
        ],
        "cents_by_year": sorted(standing.cents_by_year.items()),
        "sessions": [
            [s.on.isoformat(), s.session_type, s.outcome, s.event_id]
            + [s.phase, s.index, s.booked]
            for s in standing.sessions
        ],
        "next_sessions": [
            {
                "on": s.on.isoformat(),
                "session_type": s.session_type,
                "booked": s.booked,
                "points": s.points,
                "draws": s.draws,
                "cents": s.cents,
                "explanation": s.explanation,
                "run": s.run,
                "withheld": s.withheld,
                "why": _why(s.why),
            }
            for s in standing.next_sessions
        ],
        "session_runs": list(standing.session_runs),
    }


def load(data: Mapping[str, Any]) -> Standing | None:
    """The standing `dump` stored, or None for another format (fold instead)."""
    if data.get("format") != FORMAT:
        return None
    n = dict(data["next_negative"])
    points, cents, draws, capped = data["totals"]
    return Standing(
        as_of=date.fromisoformat(data["as_of"]),
        run=data["run"],
        level=data["level"],
        saved_level=data["saved_level"],
        longest_run=data["longest_run"],
        next_negative=NextNegative(
            **{**n, "on": _from_day(n["on"]), "why": _from_why(n["why"])}
        ),
        total_points=points,
        total_cents=cents,
        total_draws=draws,
        capped_cents=capped,
        cents_by_year=MappingProxyType({y: c for y, c in data["cents_by_year"]}),
        sessions=tuple(
            SessionOutcome(date.fromisoformat(on), *rest)
            for on, *rest in data["sessions"]
        ),
        next_sessions=tuple(
            NextSession(
                **{
                    **s,
                    "on": date.fromisoformat(s["on"]),
                    "why": _from_why(s["why"]),
                }
            )
            for s in data["next_sessions"]
        ),
        session_runs=tuple(data["session_runs"]),
    )


def _day(on: date | None) -> str | None:
    return on.isoformat() if on is not None else None


def _from_day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text is not None else None


def _why(why: Any) -> Any:
    return to_json(why) if why is not None else None


def _from_why(data: Any) -> Any:
    return from_json(data) if data is not None else None
