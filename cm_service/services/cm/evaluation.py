"""What an enrollment's protocol prescribes now, for the screens that show it.

`evaluate_enrollments` is what pages and check-in answers show (the run, what the next
negative earns, totals): it resumes each fold from the enrollment's checkpoint when
that can be trusted, so a page costs the days since the last settle, not the whole
history. `evaluate_history` folds from the first day and lists every day, for the
pages that show them (history, progress).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

from ... import rules
from ...models import Enrollment
from . import checkpoints
from .timeline import (
    Timeline,
    award_totals,
    load_timeline,
    load_timelines,
    to_facts,
    with_events_after,
)


def evaluate_enrollment(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """Where the enrollment stands at `as_of` (days and awards only since the
    checkpoint it resumed from: see Evaluation.since)."""
    return evaluate_enrollments([enrollment], as_of)[enrollment.id]


def evaluate_enrollments(
    enrollments: Sequence[Enrollment], as_of: date
) -> dict[int, rules.Evaluation]:
    """The same for many enrollments, in a few set-based queries."""
    timelines = load_timelines(enrollments, with_events=False)
    plans = checkpoints.plan(timelines, as_of - timedelta(days=1))
    after = {i: on for i, on in checkpoints.resume_dates(plans).items() if on < as_of}
    timelines = with_events_after(timelines, after)
    evaluations = {
        i: rules.evaluate(
            t.spec,
            t.facts,
            to_facts(t.events),
            as_of=as_of,
            resume=plans[i].checkpoint if i in after else None,
        )
        for i, t in timelines.items()
    }
    return _offset(timelines, evaluations)


def _offset(
    timelines: dict[int, Timeline], evaluations: dict[int, rules.Evaluation]
) -> dict[int, rules.Evaluation]:
    """Say what the next negative really pays where the ledger holds more than
    the fold (an overpayment a correction left, withheld from the next awards)."""
    over = offsets(evaluations)
    adjusted = {}
    for i, evaluation in evaluations.items():
        spec = timelines[i].spec
        nxt = rules.after_offset(spec, evaluation.next_negative, over[i])
        sessions = tuple(
            rules.session_after_offset(spec, session, over[i])
            for session in evaluation.next_sessions
        )
        adjusted[i] = replace(evaluation, next_negative=nxt, next_sessions=sessions)
    return adjusted


def offsets(evaluations: dict[int, rules.Evaluation]) -> dict[int, dict[str, int]]:
    """Per enrollment and account, what the ledger holds above what the fold of
    the current history pays (positive while an offset is being absorbed)."""
    held = award_totals(list(evaluations))
    return {
        i: {
            "points": held.get(i, {}).get("points", 0) - evaluation.total_points,
            "draws": held.get(i, {}).get("draws", 0) - evaluation.total_draws,
        }
        for i, evaluation in evaluations.items()
    }


def evaluate_history(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """Everything the protocol prescribes, with every day since the enrollment began."""
    timeline = load_timeline(enrollment)
    return _offset(
        {enrollment.id: timeline}, {enrollment.id: timeline.evaluate(as_of)}
    )[enrollment.id]
