"""What an enrollment's protocol prescribes now, for settle and the screens.

`fold_enrollments` is the one load -> plan -> fold: it resumes each enrollment's fold
from its checkpoint when that can be trusted, so a page or a settle costs the days
since the last settle, not the whole history. Settle folds through it and hands
back what it folded, so a check-in's answer is not folded again.
`standings_of` is what pages and check-in answers show (the run, what the next
negative earns, totals): the standing settle or the nightly job kept for the day, or
a fold (`evaluate_enrollments`) where none is kept. `evaluate_history` folds from the
first day and lists every day, for the pages that show them (history, progress).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from ... import rules
from ...models import Enrollment
from . import checkpoints, standings
from .timeline import (
    Timeline,
    award_totals,
    load_timeline,
    load_timelines,
    posted_totals_through,
    to_facts,
    with_events_after,
)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Fold:
    """One enrollment folded: its timeline (events only after the resume point),
    the checkpoint plan it resumed from, and what the engine gave: an evaluation
    (awards after the resume point; the run, next negative and totals of the whole
    enrollment, before the ledger's offset: see `shown`), or for a settle nobody
    reads the answer of, the awards alone (`rules.Folded`: no next-award probes)."""

    timeline: Timeline
    plan: checkpoints.Resume
    result: rules.Evaluation | rules.Folded

    @property
    def awards(self) -> tuple[rules.Award, ...]:
        """The awards after the resume point, what settle compares with the ledger."""
        return self.result.awards

    @property
    def evaluation(self) -> rules.Evaluation | None:
        result = self.result
        return result if isinstance(result, rules.Evaluation) else None


def fold_enrollments(
    enrollments: Sequence[Enrollment],
    as_of: Mapping[int, date],
    *,
    trust: bool = True,
    settling: bool = False,
    answer: bool = True,
) -> dict[int, Fold]:
    """Load, plan and fold each enrollment to `as_of[its id]`, in a few set-based
    queries: the one place this sequence is written (settle and pages).

    The fold resumes from the stored checkpoint when it may be trusted (`trust`) and
    is before `as_of`. `settling` also requires the ledger to agree with the
    checkpoint (else the fold starts from day one) and stores the state after the
    day before `as_of` as the next checkpoint, inside the caller's transaction.
    `answer=False` (a settle whose caller shows nothing: the nightly job, imports)
    folds the awards alone, without working out what the next awards pay.
    """
    timelines = load_timelines(enrollments, with_events=False)
    plans: dict[int, checkpoints.Resume] = {}
    for on in set(as_of.values()):
        group = {i: t for i, t in timelines.items() if as_of[i] == on}
        plans.update(checkpoints.plan(group, on - ONE_DAY, trust=trust))
    for i, plan in plans.items():
        if plan.checkpoint is not None and plan.checkpoint.through >= as_of[i]:
            plans[i] = replace(plan, checkpoint=None)
    if settling:
        plans = _agreeing_with_ledger(plans)
    timelines = with_events_after(timelines, checkpoints.resume_dates(plans))
    folds = {}
    for i, timeline in timelines.items():
        plan = plans[i]
        events = to_facts(timeline.events)
        take = as_of[i] - ONE_DAY if settling else None
        # `evaluate` also works out what the next awards pay; `fold_awards` not.
        fold = rules.evaluate if answer else rules.fold_awards
        result = fold(
            timeline.spec,
            timeline.facts,
            events,
            as_of=as_of[i],
            resume=plan.checkpoint,
            checkpoint_on=take,
        )
        if settling:
            checkpoints.store(timeline, plan, result.checkpoint)
        folds[i] = Fold(timeline, plan, result)
    return folds


def _agreeing_with_ledger(
    plans: dict[int, checkpoints.Resume],
) -> dict[int, checkpoints.Resume]:
    """Keep a checkpoint only where the ledger holds exactly what the fold paid up
    to it: an offset still being absorbed (or a withheld award) needs the whole
    history to be settled right, so those enrollments fold from day one."""
    through = checkpoints.resume_dates(plans)
    held = posted_totals_through(through)
    kept = {}
    for enrollment_id, plan in plans.items():
        if enrollment_id in through:
            totals = plan.checkpoint.state.totals  # type: ignore[union-attr]
            points, draws = held.get(enrollment_id, (0, 0))
            if (points, draws) != (totals.points, totals.draws):
                plan = replace(plan, checkpoint=None)
        kept[enrollment_id] = plan
    return kept


def shown(folds: Mapping[int, Fold]) -> dict[int, rules.Evaluation]:
    """The evaluations as pages and answers show them: what the next negative and
    sessions pay after the ledger's offset (read now: after settle posted)."""
    evaluations = {
        i: fold.evaluation for i, fold in folds.items() if fold.evaluation is not None
    }
    return _offset({i: folds[i].timeline for i in evaluations}, evaluations)


def evaluate_enrollment(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """Where the enrollment stands at `as_of` (days and awards only since the
    checkpoint it resumed from: see Evaluation.since)."""
    return evaluate_enrollments([enrollment], as_of)[enrollment.id]


def evaluate_enrollments(
    enrollments: Sequence[Enrollment], as_of: date
) -> dict[int, rules.Evaluation]:
    """The same for many enrollments, in a few set-based queries."""
    return shown(fold_enrollments(enrollments, {e.id: as_of for e in enrollments}))


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
        adjusted[i] = rules.with_next(evaluation, nxt, sessions)
    return adjusted


def offsets(
    evaluations: Mapping[int, rules.Evaluation | rules.Standing],
) -> dict[int, dict[str, int]]:
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


def standing(enrollment: Enrollment, as_of: date) -> rules.Standing:
    """Where the enrollment stands at `as_of`, as pages show it (see `standings`)."""
    return standings_of([enrollment], as_of)[enrollment.id]


def standings_of(
    enrollments: Sequence[Enrollment], as_of: date
) -> dict[int, rules.Standing]:
    """The standings kept for `as_of` (services/cm/standings.py), and for the
    enrollments with none kept, a fold: the same answer either way."""
    kept = standings.read([e.id for e in enrollments], as_of)
    rest = [e for e in enrollments if e.id not in kept]
    folded = evaluate_enrollments(rest, as_of) if rest else {}
    return {
        **kept,
        **{i: rules.standing_of(ev, as_of) for i, ev in folded.items()},
    }


def evaluate_history(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """Everything the protocol prescribes, with every day since the enrollment began."""
    timeline = load_timeline(enrollment)
    return _offset(
        {enrollment.id: timeline}, {enrollment.id: timeline.evaluate(as_of)}
    )[enrollment.id]
