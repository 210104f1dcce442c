"""The nightly job: close a clinic-local day exactly once, and catch up on missed ones.

`run_nightly(clinic, day)` writes a `missed` event for every scheduled test with no
result (an `excused` one on clinic closures and participant pauses), settles what
changed, completes finished enrollments and records a JobRun. The claim and all the
work are one transaction: a crash rolls both back, so a rerun starts clean, and the
ledger's idempotency keys make even a doubled run post nothing twice. Its cost follows
the day's activity: settling resumes from each enrollment's fold checkpoint.

`run_reconciliation(clinic, day)` is the day's second, separate job: it folds a
rotating seventh of the clinic's enrollments from day one (no checkpoint), so every
enrollment is checked against its whole history weekly, and counts any difference it
had to post. That check is by nature as long as the history, which is why it is not
part of closing the day. `tick(now)` runs both, catching up, as the scheduler does.
"""

from __future__ import annotations

import logging
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, func, select, text
from sqlalchemy.exc import IntegrityError

from ... import clock, rules
from ...extensions import db
from ...models import (
    Clinic,
    ClinicClosure,
    Enrollment,
    Event,
    EventVoid,
    JobRun,
    LedgerEntry,
    Pause,
)
from ..access import audit, drafts
from ..access.actors import SYSTEM
from ..errors import InvalidInput, NotFound
from ..integrations import reminders
from . import appointments, standings
from .evaluation import evaluate_enrollments
from .events import add_event
from .ledger import settle_many, settle_standing
from .timeline import (
    Timeline,
    chunks,
    clinic_today,
    closed_through,
    load_day,
    to_facts,
)

JOB = "nightly"
RECONCILE_JOB = "reconcile"
DONE = ("succeeded", "held")
MAX_DATES_PER_TICK = 60  # bounds one tick's work after long downtime
RECONCILE_EVERY_DAYS = 7  # every enrollment is re-settled at least weekly
log = logging.getLogger(__name__)


@dataclass
class Counts:
    missed: int = 0
    missed_sessions: int = 0
    excused: int = 0
    held: int = 0
    settled: int = 0
    awards_posted: int = 0
    points: int = 0
    draws: int = 0
    completed: int = 0
    reconciled: int = 0
    reconcile_differences: int = 0
    # Kept standings (services/cm/standings.py) that differed from a fresh fold.
    standing_differences: int = 0
    reminders: int = 0
    # The enrollments whose test on the run's day was recorded missed (not a count).
    missed_on: list[Enrollment] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if isinstance(v, int)}


@dataclass
class RunOutcome:
    clinic_id: int
    day: date
    status: str  # succeeded | held | skipped (already done or running elsewhere)
    counts: Counts = field(default_factory=Counts)


def run_nightly(clinic_id: int, day: date, *, now: datetime) -> RunOutcome:
    """Close one clinic-local day, once. Safe to call again, late or concurrently.

    Raises NotFound for an unknown clinic and InvalidInput("date") for a day that has
    not ended yet in the clinic's time zone.
    """
    return _run_once(JOB, clinic_id, day, now, _close_day)


def run_reconciliation(clinic_id: int, day: date, *, now: datetime) -> RunOutcome:
    """Re-settle the day's reconciliation slice from day one, once per clinic-date."""
    return _run_once(RECONCILE_JOB, clinic_id, day, now, _reconcile_slice)


Work = Callable[[Clinic, date, datetime], Counts]


def _run_once(
    job: str, clinic_id: int, day: date, now: datetime, work: Work
) -> RunOutcome:
    clinic = db.session.get(Clinic, clinic_id)
    if clinic is None:
        raise NotFound(f"There is no clinic {clinic_id}.", "clinic")
    if day >= clinic_today(clinic, now):
        raise InvalidInput("date", f"{day} has not ended yet in {clinic.timezone}.")
    try:
        return _run_claimed(job, clinic, day, now, work)
    except IntegrityError:
        # Another process claimed the same (job, clinic, day) first and committed.
        db.session.rollback()
        return RunOutcome(clinic.id, day, "skipped")
    except Exception as error:
        db.session.rollback()
        _record_failure(job, clinic.id, day, now, error)
        raise


def _run_claimed(
    job: str, clinic: Clinic, day: date, now: datetime, work: Work
) -> RunOutcome:
    _one_run_per_clinic(job, clinic.id)
    run = db.session.scalars(
        select(JobRun)
        .where(JobRun.job == job, JobRun.clinic_id == clinic.id, JobRun.run_on == day)
        .with_for_update()
    ).first()
    if run is not None and run.status in DONE:
        db.session.rollback()
        return RunOutcome(clinic.id, day, "skipped")
    counts = work(clinic, day, now)
    status = "held" if counts.held else "succeeded"
    if run is None:
        run = JobRun(job=job, clinic_id=clinic.id, run_on=day, started_at=now)
        db.session.add(run)
    run.status, run.counts, run.error = status, counts.as_dict(), None
    run.finished_at = clock.now()
    db.session.flush()
    audit.append(
        SYSTEM,
        f"{job}_{status}",
        "job_run",
        run.id,
        now=now,
        clinic_id=clinic.id,
        detail={"day": day.isoformat(), **run.counts},
    )
    db.session.commit()
    return RunOutcome(clinic.id, day, status, counts)


def _one_run_per_clinic(job: str, clinic_id: int) -> None:
    """On PostgreSQL, one run of a job per clinic at a time; a second scheduler waits
    its turn, then finds the date done and skips it. Per clinic, not per date: two
    processes closing different dates of one clinic each lock its enrollments in
    two steps (the day's gaps, then settle) and could deadlock. SQLite's BEGIN
    IMMEDIATE already serialises writers."""
    if db.session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"{job}:{clinic_id}".encode())
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _record_failure(
    job: str, clinic_id: int, day: date, now: datetime, error: Exception
) -> None:
    log.exception("%s run for clinic %s on %s failed", job, clinic_id, day)
    run = db.session.scalars(
        select(JobRun).where(
            JobRun.job == job, JobRun.clinic_id == clinic_id, JobRun.run_on == day
        )
    ).first()
    if run is None:
        run = JobRun(job=job, clinic_id=clinic_id, run_on=day, started_at=now)
        db.session.add(run)
    run.status, run.error = "failed", f"{type(error).__name__}: {error}"[:2000]
    run.finished_at = clock.now()
    db.session.commit()


def _close_day(clinic: Clinic, day: date, now: datetime) -> Counts:
    counts = Counts()
    timelines = load_day(_enrollments_on(clinic.id, day), day)
    # Gaps first: they lock their enrollments before any event row is written.
    changed = _record_gaps(clinic, day, now, timelines, counts)
    changed += _record_unresolved(clinic, day, now, timelines, counts)
    changed += _close_sessions(clinic, day, now, counts)
    completed = _complete_finished(timelines, day, counts)
    to_settle = list({e.id: e for e in changed + completed}.values())
    _count_posted(counts, settle_many(to_settle, now=now))
    counts.settled = len(to_settle)
    # "We missed you": queued in this transaction, for those who opted in.
    missed = [e for e in counts.missed_on if e.status == "active"]
    counts.reminders = reminders.queue_missed(clinic, missed, day, now=now)
    return counts


def _reconcile_slice(clinic: Clinic, day: date, now: datetime) -> Counts:
    counts = Counts()
    enrollments = _load(_reconciliation_slice(clinic.id, day))
    posted, differ = _reconcile(enrollments, now)
    counts.standing_differences = len(differ)
    _count_posted(counts, posted)
    counts.settled = counts.reconciled = len(enrollments)
    counts.reconcile_differences = len({e.enrollment_id for e in posted})
    return counts


def _reconcile(
    enrollments: Sequence[Enrollment], now: datetime
) -> tuple[list[LedgerEntry], list[int]]:
    """Settle the enrollments from day one, and check each standing kept for today
    against that fold (the fresh one replaces it). Returns what had to be posted
    and the enrollments whose kept standing differed."""
    today = {e.id: clinic_today(e.clinic, now) for e in enrollments}
    kept = {
        i: standing
        for on in set(today.values())
        for i, standing in standings.read(
            [i for i, d in today.items() if d == on], on
        ).items()
    }
    settled, fresh = settle_standing(enrollments, now=now, resume=False)
    differ = [i for i, standing in kept.items() if standing != fresh[i]]
    if differ:
        log.error("Standings differed from a fresh fold: enrollments %s", differ)
    return [entry for s in settled.values() for entry in s.entries], differ


def _count_posted(counts: Counts, posted: Sequence[LedgerEntry]) -> None:
    counts.awards_posted = len(posted)
    counts.points = sum(e.amount for e in posted if e.account == "points")
    counts.draws = sum(e.amount for e in posted if e.account == "draws")


def _enrollments_on(clinic_id: int, day: date) -> list[Enrollment]:
    return list(
        db.session.scalars(select(Enrollment).where(*_active_on(clinic_id, day)))
    )


def _active_on(clinic_id: int, day: date) -> tuple[ColumnElement[bool], ...]:
    return (
        Enrollment.clinic_id == clinic_id,
        Enrollment.status == "active",
        Enrollment.start_on <= day,
    )


def _load(ids: Sequence[int], *, lock: bool = False) -> list[Enrollment]:
    found: list[Enrollment] = []
    for part in chunks(sorted(ids)):
        query = select(Enrollment).where(Enrollment.id.in_(part))
        found.extend(db.session.scalars(query.with_for_update() if lock else query))
    return found


def _record_unresolved(
    clinic: Clinic,
    day: date,
    now: datetime,
    timelines: dict[int, Timeline],
    counts: Counts,
) -> list[Enrollment]:
    """Write missed (or excused) events for scheduled tests with no result."""
    closure = _closures(clinic.id, day).get(day)
    pauses = _pauses_of(list(timelines))
    changed = []
    for timeline in timelines.values():
        if not _unresolved(timeline, day):
            continue
        enrollment = timeline.enrollment
        reason = _excuse(closure, _paused(pauses.get(enrollment.id), day))
        if _close_test_day(clinic, enrollment, day, now, reason, counts):
            changed.append(enrollment)
            if reason is None:
                counts.missed_on.append(enrollment)
    db.session.flush()
    return changed


def _close_test_day(
    clinic: Clinic,
    enrollment: Enrollment,
    day: date,
    now: datetime,
    excuse: str | None,
    counts: Counts,
) -> bool:
    """Write a day's unresolved test as excused or missed; False when safe mode
    holds it (nothing is missed until an admin reviews the day)."""
    if excuse:
        _system_event(enrollment, day, now, "excused", excuse)
        counts.excused += 1
    elif clinic.safe_mode:
        counts.held += 1
        return False
    else:
        _system_event(enrollment, day, now, "missed", None)
        counts.missed += 1
    return True


def _record_gaps(
    clinic: Clinic,
    day: date,
    now: datetime,
    timelines: dict[int, Timeline],
    counts: Counts,
) -> list[Enrollment]:
    """Write missed (or excused) events for earlier scheduled days left with no
    record at all: an enrollment entered after its first days had closed, a
    voided result, days a scheduler that was down never closed. Missed is derived
    from the calendar, not remembered, so report and ledger see the same days."""
    closed = _closed_through(clinic.id, day)
    if closed is None:
        return []
    gaps = _gaps(_at_risk(clinic.id, timelines), closed)
    if not gaps:
        return []
    # Another job process closing another date may fill the same gaps: lock the
    # enrollments, then look again at what is recorded (PostgreSQL; SQLite's
    # BEGIN IMMEDIATE already made this the only writer).
    db.session.execute(
        select(Enrollment.id)
        .where(Enrollment.id.in_(sorted(gaps)))
        .order_by(Enrollment.id)
        .with_for_update()
    ).all()
    gaps = _gaps({i: timelines[i] for i in gaps}, closed)
    if not gaps:
        return []
    closures = _closures(clinic.id, min(d for days in gaps.values() for d in days))
    pauses = _pauses_of(list(gaps))
    changed = []
    for enrollment_id, days in gaps.items():
        enrollment = timelines[enrollment_id].enrollment
        for on in days:
            reason = _excuse(closures.get(on), _paused(pauses.get(enrollment_id), on))
            _close_test_day(clinic, enrollment, on, now, reason, counts)
        changed.append(enrollment)
    db.session.flush()
    return changed


RECORDS = ("specimen", "breath", "excused", "missed")
GAP_MARGIN = timedelta(days=1)


def _close_sessions(
    clinic: Clinic, day: date, now: datetime, counts: Counts
) -> list[Enrollment]:
    """Booked sessions nobody checked in: missed, or excused on a closure or pause,
    like a test day (for the day, and for earlier sessions booked or emptied since
    the last run)."""
    since = _last_run_started(clinic.id)
    closures = _closures(clinic.id, date.min)  # a clinic's closures are few
    pauses: dict[int, list[Pause]] = {}

    def excuse_of(enrollment_id: int, on: date) -> str | None:
        if enrollment_id not in pauses:
            pauses.update(_pauses_of([enrollment_id]) or {enrollment_id: []})
        return _excuse(closures.get(on), _paused(pauses.get(enrollment_id), on))

    closed = appointments.close_sessions(
        clinic.id,
        day,
        now,
        since=None if since is None else since - GAP_MARGIN,
        excuse_of=excuse_of,
        safe_mode=clinic.safe_mode,
    )
    counts.missed_sessions += closed.missed
    counts.excused += closed.excused
    counts.held += closed.held
    return closed.enrollments


def _last_run_started(clinic_id: int) -> datetime | None:
    return db.session.scalar(
        select(func.max(JobRun.started_at)).where(
            JobRun.job == JOB,
            JobRun.clinic_id == clinic_id,
            JobRun.status == "succeeded",
        )
    )


def _at_risk(clinic_id: int, timelines: dict[int, Timeline]) -> dict[int, Timeline]:
    """The enrollments that can have gaps: only a late enrollment or a void leaves
    a closed day without a record (each date's own run closes its day), so those
    entered or voided since the clinic's last successful run began (with a day's
    margin) are the ones to look at: the cost follows the day's corrections, not
    the clinic's size or history."""
    since = _last_run_started(clinic_id)
    if since is None:
        return timelines
    since -= GAP_MARGIN
    ids: set[int] = set()
    for part in chunks(sorted(timelines)):
        ids.update(
            db.session.scalars(
                select(Enrollment.id).where(
                    Enrollment.id.in_(part), Enrollment.created_at >= since
                )
            )
        )
        ids.update(
            db.session.scalars(
                select(Event.enrollment_id)
                .join(EventVoid, EventVoid.event_id == Event.id)
                .where(Event.enrollment_id.in_(part), EventVoid.voided_at >= since)
                .distinct()
            )
        )
    return {i: t for i, t in timelines.items() if i in ids}


def _closed_through(clinic_id: int, day: date) -> date | None:
    """The last date before `day` up to which every date is closed: a later
    date's gaps are its own run's to fill (it may be running in another process)."""
    return closed_through([clinic_id], before=day).get(clinic_id)


def _gaps(timelines: dict[int, Timeline], through: date) -> dict[int, list[date]]:
    """Per enrollment, its scheduled days up to `through` with no standing record."""
    recorded = _recorded_days(list(timelines), through)
    gaps = {}
    for enrollment_id, timeline in timelines.items():
        start = timeline.enrollment.start_on
        end = min(through, rules.last_day(timeline.spec, timeline.facts))
        if end < start:
            continue
        seen = recorded.get(enrollment_id, set())
        days = [
            on
            for on in rules.scheduled_days(timeline.spec, timeline.facts, start, end)
            if on not in seen
        ]
        if days:
            gaps[enrollment_id] = days
    return gaps


def _recorded_days(enrollment_ids: list[int], through: date) -> dict[int, set[date]]:
    found: dict[int, set[date]] = defaultdict(set)
    for part in chunks(enrollment_ids):
        rows = db.session.execute(
            select(Event.enrollment_id, Event.collected_on)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id.in_(part),
                Event.kind.in_(RECORDS),
                Event.session_type.is_(None),  # a session's record is not a test's
                Event.verified_at.is_not(None),
                Event.collected_on <= through,
                EventVoid.id.is_(None),
            )
            .distinct()
        )
        for enrollment_id, on in rows:
            found[enrollment_id].add(on)
    return found


def _closures(clinic_id: int, since: date) -> dict[date, str]:
    rows = db.session.execute(
        select(ClinicClosure.closed_on, ClinicClosure.reason).where(
            ClinicClosure.clinic_id == clinic_id, ClinicClosure.closed_on >= since
        )
    )
    return {on: reason for on, reason in rows}


def _pauses_of(enrollment_ids: list[int]) -> dict[int, list[Pause]]:
    found: dict[int, list[Pause]] = defaultdict(list)
    for part in chunks(enrollment_ids):
        for pause in db.session.scalars(
            select(Pause).where(Pause.enrollment_id.in_(part))
        ):
            found[pause.enrollment_id].append(pause)
    return found


def _paused(pauses: list[Pause] | None, on: date) -> str | None:
    for pause in pauses or []:
        if pause.starts_on <= on and (pause.ends_on is None or on <= pause.ends_on):
            return pause.reason
    return None


def _excuse(closure: str | None, pause: str | None) -> str | None:
    # Never punish people for the clinic's faults, nor for a hospital stay.
    if closure:
        return f"Clinic closed: {closure}"
    return f"Paused: {pause}" if pause else None


def _unresolved(timeline: Timeline, day: date) -> bool:
    if not rules.scheduled_days(timeline.spec, timeline.facts, day, day):
        return False
    todays = to_facts(
        e for e in timeline.events if e.collected_on == day and e.session_type is None
    )
    outcome, _ = rules.outcome_of_day(timeline.spec, timeline.facts, todays)
    return outcome in (None, "recollect")


def _system_event(
    enrollment: Enrollment, day: date, now: datetime, kind: str, reason: str | None
) -> None:
    add_event(enrollment, kind, day, now=now, reason=reason)


def _complete_finished(
    timelines: dict[int, Timeline], day: date, counts: Counts
) -> list[Enrollment]:
    done = []
    for timeline in timelines.values():
        last = rules.last_day(timeline.spec, timeline.facts)
        if last <= day:
            timeline.enrollment.status = "completed"
            timeline.enrollment.ends_on = last
            done.append(timeline.enrollment)
    counts.completed = len(done)
    return done


def _reconciliation_slice(clinic_id: int, day: date) -> list[int]:
    """The 1/7 of the clinic's enrollments re-settled tonight (by id), so each one is
    checked at least weekly and any drift is posted and counted."""
    remainder = day.toordinal() % RECONCILE_EVERY_DAYS
    return list(
        db.session.scalars(
            select(Enrollment.id).where(
                Enrollment.clinic_id == clinic_id,
                Enrollment.id % RECONCILE_EVERY_DAYS == remainder,
            )
        )
    )


def due_dates(clinic: Clinic, now: datetime) -> list[date]:
    """Closed clinic-local dates with no successful (or held) run, oldest first:
    failed dates, then every date after the last success up to yesterday."""
    yesterday = clinic_today(clinic, now) - timedelta(days=1)
    runs = db.session.execute(
        select(JobRun.run_on, JobRun.status).where(
            JobRun.job == JOB, JobRun.clinic_id == clinic.id
        )
    ).all()
    done = {on for on, status in runs if status in DONE}
    failed = sorted(on for on, status in runs if status == "failed")
    first = max(done) + timedelta(days=1) if done else _first_day(clinic.id)
    if first is None:
        return failed
    span = [first + timedelta(days=n) for n in range((yesterday - first).days + 1)]
    return sorted(set(failed) | {d for d in span if d not in done})


def _first_day(clinic_id: int) -> date | None:
    return db.session.scalar(
        select(func.min(Enrollment.start_on)).where(Enrollment.clinic_id == clinic_id)
    )


def run_due(
    now: datetime,
    *,
    clinic_id: int | None = None,
    limit: int = MAX_DATES_PER_TICK,
    progress: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Catch up: run every due date of every clinic (or one), oldest first, at most
    `limit` dates in all. A failed date is logged, recorded and retried next tick."""
    outcomes: list[RunOutcome] = []
    for clinic in clinics_to_run(clinic_id):
        for day in due_dates(clinic, now):
            if len(outcomes) >= limit:
                return outcomes
            try:
                outcome = run_nightly(clinic.id, day, now=now)
            except Exception:  # noqa: BLE001 - recorded as a failed JobRun; retried
                outcome = RunOutcome(clinic.id, day, "failed")
            outcomes.append(outcome)
            if progress:
                progress(outcome)
    return outcomes


def reconciliation_dates(clinic: Clinic, now: datetime) -> list[date]:
    """Closed dates of the last week whose reconciliation has not run: an older
    slice is checked again by a newer date's run of the same slice."""
    yesterday = clinic_today(clinic, now) - timedelta(days=1)
    week = yesterday - timedelta(days=RECONCILE_EVERY_DAYS - 1)
    runs = db.session.execute(
        select(JobRun.job, JobRun.run_on, JobRun.status).where(
            JobRun.clinic_id == clinic.id,
            JobRun.run_on >= week,
            JobRun.run_on <= yesterday,
            JobRun.status.in_(DONE),
        )
    ).all()
    closed = {on for job, on, _ in runs if job == JOB}
    checked = {on for job, on, _ in runs if job == RECONCILE_JOB}
    return sorted(closed - checked)


def reconcile_due(
    now: datetime, *, clinic_id: int | None = None, limit: int = RECONCILE_EVERY_DAYS
) -> list[RunOutcome]:
    """Run the reconciliation of every closed date of the last week not yet checked."""
    outcomes: list[RunOutcome] = []
    for clinic in clinics_to_run(clinic_id):
        for day in reconciliation_dates(clinic, now)[:limit]:
            try:
                outcomes.append(run_reconciliation(clinic.id, day, now=now))
            except Exception:  # noqa: BLE001 - recorded as a failed JobRun; retried
                outcomes.append(RunOutcome(clinic.id, day, "failed"))
    return outcomes


def tick(now: datetime) -> tuple[list[RunOutcome], list[RunOutcome]]:
    """The scheduler's every-15-minutes job: close due days, then reconcile (and
    delete the staff form drafts that expired unclaimed)."""
    outcomes = run_due(now), reconcile_due(now)
    keep_standings(now)
    drafts.purge(now=now)
    return outcomes


def keep_standings(now: datetime, *, clinic_id: int | None = None) -> int:
    """Keep today's standing of every active enrollment that has none kept for
    today, so the day's first page reads instead of folding. Commits per chunk;
    safe to run again or to stop halfway (it writes what pages would fold).
    Returns how many it wrote."""
    written = 0
    for clinic in clinics_to_run(clinic_id):
        today = clinic_today(clinic, now)
        ids = list(
            db.session.scalars(
                select(Enrollment.id).where(*_active_on(clinic.id, today))
            )
        )
        kept = standings.read(ids, today)
        missing = [i for i in ids if i not in kept]
        for part in chunks(missing):
            # Never beside a run closing this clinic's day, and each enrollment
            # locked as settle locks it: on PostgreSQL a check-in committed
            # between this fold and its write would otherwise be overwritten by
            # a standing that missed it. Loaded per chunk: a commit expires
            # what was loaded before it.
            _one_run_per_clinic(JOB, clinic.id)
            evaluations = evaluate_enrollments(_load(part, lock=True), today)
            standings.write(
                {i: rules.standing_of(ev, today) for i, ev in evaluations.items()},
                now=now,
            )
            db.session.commit()
            written += len(part)
    db.session.commit()
    return written


def clinics_to_run(clinic_id: int | None) -> list[Clinic]:
    query = select(Clinic).order_by(Clinic.id)
    if clinic_id is not None:
        query = query.where(Clinic.id == clinic_id)
    return list(db.session.scalars(query))


def enrollment_count() -> int:
    """How many enrollments `reconcile_all` would fold (for a progress bar)."""
    return db.session.scalar(select(func.count()).select_from(Enrollment)) or 0


def reconcile_all(
    now: datetime, *, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Re-settle every enrollment from day one; report what had to be posted and
    how many kept standings differed from the fold. Commits per chunk."""
    ids = list(db.session.scalars(select(Enrollment.id).order_by(Enrollment.id)))
    differences: dict[str, int] = defaultdict(int)
    for part in chunks(ids):
        posted, differ = _reconcile(_load(part), now)
        db.session.commit()
        differences["enrollments"] += len(part)
        differences["entries"] += len(posted)
        differences["standings"] += len(differ)
        differences["points"] += sum(e.amount for e in posted if e.account == "points")
        if progress:
            progress(len(part))
    return dict(differences)


def recent_runs(clinic_id: int, limit: int = 60, job: str = JOB) -> list[JobRun]:
    return list(
        db.session.scalars(
            select(JobRun)
            .where(JobRun.clinic_id == clinic_id, JobRun.job == job)
            .order_by(JobRun.run_on.desc())
            .limit(limit)
        )
    )
