"""Loads what the rules engine needs for enrollments and runs the fold.

Read-only: turns rows (events, voids, exemptions, other enrollments' payments) into
rules facts, so settle, the nightly job, the participant view and reports all see the
same timeline. Loading is set-based: a handful of queries for any number of
enrollments, never one query per participant (the nightly job settles thousands).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import extract, func, select

from ... import rules
from ...extensions import db
from ...models import (
    Appointment,
    Clinic,
    Enrollment,
    Event,
    EventVoid,
    Exemption,
    JobRun,
    LedgerEntry,
    Protocol,
)

PAID_KINDS = ("award", "bonus", "adjustment")
T = TypeVar("T")
CHUNK = 500  # ids per IN (...) list: well inside every backend's parameter limit


def clinic_today(clinic: Clinic, now: datetime) -> date:
    """The clinic-local date at `now`: every 'day' in the service is one of these."""
    return now.astimezone(ZoneInfo(clinic.timezone)).date()


def spec_of(protocol: Protocol) -> rules.ProtocolSpec:
    """The validated spec of a stored protocol version (versions are immutable)."""
    return _validated(json.dumps(protocol.spec, sort_keys=True))


@functools.lru_cache(maxsize=256)
def _validated(document: str) -> rules.ProtocolSpec:
    """Validated once per document: a page would otherwise spend more on checking
    the protocol than on reading the participant (the spec is frozen, so sharing
    it is safe). Keyed by content, not id, as ids repeat across databases."""
    return rules.validate_spec(json.loads(document))


@dataclass(frozen=True)
class Timeline:
    """One enrollment's protocol, facts and verified, non-voided events."""

    enrollment: Enrollment
    spec: rules.ProtocolSpec
    facts: rules.EnrollmentFacts
    events: list[Event]

    def evaluate(self, as_of: date) -> rules.Evaluation:
        return rules.evaluate(self.spec, self.facts, to_facts(self.events), as_of=as_of)


def chunks(ids: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


def not_null(value: T | None) -> T:
    """A value of a nullable column that cannot be NULL where it is read: its
    query leaves NULL out (`IS NOT NULL`, `IN (...)`), or every writer sets it (a
    paid ledger entry's enrollment). Typed as present; a clear error if not."""
    if value is None:
        raise ValueError("NULL in a column read as never NULL here")
    return value


def load_timelines(
    enrollments: Sequence[Enrollment], *, with_events: bool = True
) -> dict[int, Timeline]:
    """Timelines for many enrollments in a few set-based queries."""
    ids = [e.id for e in enrollments]
    events = _grouped(_events(ids), "enrollment_id") if with_events else {}
    exemptions = _grouped(_exemptions(ids), "enrollment_id")
    paid = _paid_elsewhere_by_year(enrollments)
    specs = _specs({e.protocol_id for e in enrollments})
    closed = closed_through({e.clinic_id for e in enrollments})
    booked = bookings_of(ids)
    # Imported here: funding reads enrollments' ledgers through this module's peers.
    from . import funding

    programs = funding.program_caps(ids)
    elsewhere = funding.paid_elsewhere(enrollments)
    return {
        e.id: Timeline(
            enrollment=e,
            spec=specs[e.protocol_id],
            facts=replace(
                facts_of(e, exemptions.get(e.id, []), paid.get(e.id, {})),
                closed_through=closed.get(e.clinic_id),
                bookings=booked.get(e.id, ()),
                programs=programs.get(e.id, ()),
                program_paid_cents=elsewhere.get(e.id, {}),
            ),
            events=events.get(e.id, []),
        )
        for e in enrollments
    }


def closed_through(
    clinic_ids: Iterable[int], before: date | None = None
) -> dict[int, date]:
    """Per clinic, the last date up to which its nightly job has closed every date
    (before `before`, if given): up to it, a scheduled day with nothing recorded is
    missed (the job writes the event; the fold derives it until then, so a late
    enrollment or a void cannot pay a missed day's streak). A date still open, or
    being closed by another job process, ends the run of closed dates."""
    query = select(JobRun.clinic_id, JobRun.run_on).where(
        JobRun.job == "nightly",
        JobRun.status == "succeeded",  # a held (safe mode) date waits for review
        JobRun.clinic_id.in_(sorted(clinic_ids)),
    )
    if before is not None:
        query = query.where(JobRun.run_on < before)
    done: dict[int, set[date]] = defaultdict(set)
    for clinic_id, on in db.session.execute(query):
        done[clinic_id].add(on)
    closed = {}
    for clinic_id, dates in done.items():
        # Dates before the first run are never run (the job starts there).
        last = min(dates)
        while last + timedelta(days=1) in dates:
            last += timedelta(days=1)
        closed[clinic_id] = last
    return closed


def with_events_after(
    timelines: Mapping[int, Timeline], after: Mapping[int, date]
) -> dict[int, Timeline]:
    """The timelines with their events, only those dated after `after[id]` where
    given (what a fold resuming from a checkpoint reads): a query per chunk and date."""
    events: dict[int, list[Event]] = defaultdict(list)
    for since, ids in _by_date(timelines, after).items():
        for event in _events(ids, after=since):
            events[event.enrollment_id].append(event)
    return {i: replace(t, events=events.get(i, [])) for i, t in timelines.items()}


def _by_date(
    ids: Iterable[int], dates: Mapping[int, date]
) -> dict[date | None, list[int]]:
    groups: dict[date | None, list[int]] = defaultdict(list)
    for i in sorted(ids):
        groups[dates.get(i)].append(i)
    return groups


def load_day(enrollments: Sequence[Enrollment], day: date) -> dict[int, Timeline]:
    """Timelines holding only `day`'s events, with the facts that decide scheduling:
    what the nightly job needs, at a cost that does not grow with history."""
    events = _grouped(_events([e.id for e in enrollments], on=day), "enrollment_id")
    specs = _specs({e.protocol_id for e in enrollments})
    return {
        e.id: Timeline(e, specs[e.protocol_id], facts_of(e), events.get(e.id, []))
        for e in enrollments
    }


def load_timeline(enrollment: Enrollment) -> Timeline:
    return load_timelines([enrollment])[enrollment.id]


def facts_of(
    enrollment: Enrollment,
    exemptions: Iterable[Exemption] = (),
    year_paid_cents: dict[int, int] | None = None,
) -> rules.EnrollmentFacts:
    return rules.EnrollmentFacts(
        start_on=enrollment.start_on,
        targets=tuple(enrollment.targets) if enrollment.targets else None,
        testing_days={
            int(k): tuple(v) for k, v in (enrollment.testing_days or {}).items()
        },
        exemptions=tuple(
            rules.Exemption(
                analyte=x.analyte,
                starts_on=x.starts_on,
                ends_on=x.ends_on,
                note=x.medication,
            )
            for x in exemptions
        ),
        year_paid_cents=year_paid_cents or {},
        ends_on=enrollment.ends_on if enrollment.status == "discharged" else None,
    )


def _grouped(rows: Iterable[Any], attribute: str) -> dict[int, list[Any]]:
    groups: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        groups[getattr(row, attribute)].append(row)
    return groups


def _events(
    ids: Sequence[int], on: date | None = None, after: date | None = None
) -> list[Event]:
    """Verified events of the enrollments (on one day, or after one, if given) that
    have not been voided, in date order."""
    found: list[Event] = []
    for part in chunks(ids):
        query = (
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(Event.enrollment_id.in_(part), EventVoid.id.is_(None))
            .where(Event.verified_at.is_not(None))
            .order_by(Event.collected_on, Event.id)
        )
        if on is not None:
            query = query.where(Event.collected_on == on)
        if after is not None:
            query = query.where(Event.collected_on > after)
        found.extend(db.session.scalars(query))
    return found


def bookings_of(ids: Sequence[int]) -> dict[int, tuple[rules.Booking, ...]]:
    """enrollment -> its booked sessions that were not cancelled, in date order."""
    found: dict[int, list[rules.Booking]] = defaultdict(list)
    for part in chunks(sorted(ids)):
        rows = db.session.execute(
            select(Appointment.enrollment_id, Appointment.on, Appointment.session_type)
            .where(
                Appointment.enrollment_id.in_(part),
                Appointment.cancelled_at.is_(None),
            )
            .order_by(Appointment.on, Appointment.session_type)
        )
        for enrollment_id, on, session_type in rows:
            found[enrollment_id].append(rules.Booking(on, session_type))
    return {i: tuple(b) for i, b in found.items()}


def events_of(enrollment_id: int) -> list[Event]:
    return _events([enrollment_id])


def _exemptions(ids: Sequence[int]) -> list[Exemption]:
    found: list[Exemption] = []
    for part in chunks(ids):
        found.extend(
            db.session.scalars(
                select(Exemption)
                .where(Exemption.enrollment_id.in_(part))
                .order_by(Exemption.id)
            )
        )
    return found


def _specs(protocol_ids: set[int]) -> dict[int, rules.ProtocolSpec]:
    protocols = db.session.scalars(
        select(Protocol).where(Protocol.id.in_(protocol_ids))
    )
    return {p.id: spec_of(p) for p in protocols}


def _paid_elsewhere_by_year(
    enrollments: Sequence[Enrollment],
) -> dict[int, dict[int, int]]:
    # The calendar-year cap spans all of a participant's enrollments (CA: $599/year).
    # (enrollment or None, year, cents): an entry without an enrollment, were one
    # ever posted, would count as paid elsewhere for each of them.
    by_participant: dict[int, list[tuple[int | None, int, int]]] = defaultdict(list)
    participant_ids = sorted({e.participant_id for e in enrollments})
    year = extract("year", LedgerEntry.on)
    for part in chunks(participant_ids):
        rows = db.session.execute(
            select(
                LedgerEntry.participant_id,
                LedgerEntry.enrollment_id,
                year,
                func.sum(LedgerEntry.cents),
            )
            .where(
                LedgerEntry.participant_id.in_(part),
                LedgerEntry.account == "points",
                LedgerEntry.kind.in_(PAID_KINDS),
                LedgerEntry.on.is_not(None),
            )
            .group_by(LedgerEntry.participant_id, LedgerEntry.enrollment_id, year)
        )
        for participant_id, enrollment_id, on_year, cents in rows:
            by_participant[participant_id].append(
                (enrollment_id, int(on_year), int(cents))
            )
    paid: dict[int, dict[int, int]] = {}
    for e in enrollments:
        years: dict[int, int] = defaultdict(int)
        for enrollment_id, on_year, cents in by_participant.get(e.participant_id, []):
            if enrollment_id != e.id:
                years[on_year] += cents
        paid[e.id] = dict(years)
    return paid


def to_facts(events: Iterable[Event]) -> list[rules.Fact]:
    return [
        rules.Fact(
            event_id=e.id,
            kind=e.kind,
            on=e.collected_on,
            results=dict(e.results or {}),
            refused=e.refused,
            session_type=e.session_type,
            late=bool(e.late),
        )
        for e in events
    ]


def posted_by_keys(
    enrollment_ids: Sequence[int], after: Mapping[int, date] | None = None
) -> dict[int, dict[str, rules.Held]]:
    """enrollment -> award key -> what the ledger holds for it; only the keys of
    awards dated after `after[id]` where given."""
    posted: dict[int, dict[str, rules.Held]] = defaultdict(dict)
    for since, ids in _by_date(enrollment_ids, after or {}).items():
        for part in chunks(ids):
            query = (
                select(
                    LedgerEntry.enrollment_id,
                    LedgerEntry.award_key,
                    LedgerEntry.account,
                    func.sum(LedgerEntry.amount),
                    func.count(),
                    func.max(LedgerEntry.on),
                )
                .where(
                    LedgerEntry.enrollment_id.in_(part),
                    LedgerEntry.award_key.is_not(None),
                )
                .group_by(
                    LedgerEntry.enrollment_id,
                    LedgerEntry.award_key,
                    LedgerEntry.account,
                )
            )
            if since is not None:
                # A key's first entry carries its award's date.
                query = query.having(func.max(LedgerEntry.on) > since)
            for enrollment_id, key, account, total, count, on in db.session.execute(
                query
            ):
                posted[not_null(enrollment_id)][not_null(key)] = rules.Held(
                    account, int(total), int(count), on
                )
    return posted


def posted_totals_through(
    through: Mapping[int, date],
) -> dict[int, tuple[int, int]]:
    """enrollment -> (points, draws) its award entries dated up to `through[id]`
    hold: what a fold checkpoint at that date must agree with."""
    totals: dict[int, dict[str, int]] = {}
    for since, ids in _by_date(through, through).items():
        totals |= award_totals(ids, through=since)
    return {i: (t.get("points", 0), t.get("draws", 0)) for i, t in totals.items()}


def ledger_rows(
    enrollment_id: int, since: date
) -> tuple[list[rules.LedgerRow], dict[str, int]]:
    """This enrollment's award rows per key dated from `since`, and its totals per
    account over every date: what the caps are held on."""
    rows = db.session.execute(
        select(
            LedgerEntry.award_key,
            func.max(LedgerEntry.on),
            LedgerEntry.account,
            func.sum(LedgerEntry.amount),
        )
        .where(
            LedgerEntry.enrollment_id == enrollment_id,
            LedgerEntry.award_key.is_not(None),
            LedgerEntry.on >= since,
        )
        .group_by(LedgerEntry.award_key, LedgerEntry.account)
    )
    found = [
        rules.LedgerRow(not_null(key), not_null(on), account, int(amount))
        for key, on, account, amount in rows
    ]
    return found, award_totals([enrollment_id]).get(enrollment_id, {})


def award_totals(
    enrollment_ids: Sequence[int], through: date | None = None
) -> dict[int, dict[str, int]]:
    """enrollment -> account -> what its award entries hold (dated up to
    `through`, if given)."""
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for part in chunks(sorted(enrollment_ids)):
        query = (
            select(
                LedgerEntry.enrollment_id,
                LedgerEntry.account,
                func.sum(LedgerEntry.amount),
            )
            .where(
                LedgerEntry.enrollment_id.in_(part),
                LedgerEntry.award_key.is_not(None),
            )
            .group_by(LedgerEntry.enrollment_id, LedgerEntry.account)
        )
        if through is not None:
            query = query.where(LedgerEntry.on <= through)
        rows = db.session.execute(query)
        for enrollment_id, account, amount in rows:
            totals[not_null(enrollment_id)][account] = int(amount)
    return totals
