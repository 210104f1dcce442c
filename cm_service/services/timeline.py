"""Loads what the rules engine needs for an enrollment and runs the fold.

Read-only: turns rows (events, voids, exemptions, other enrollments' payments) into
rules facts, so settle, the participant view and reports all see the same timeline.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from .. import rules
from ..extensions import db
from ..models import Clinic, Enrollment, Event, EventVoid, LedgerEntry, Protocol

PAID_KINDS = ("award", "bonus", "adjustment")


def clinic_today(clinic: Clinic, now: datetime) -> date:
    """The clinic-local date at `now`: every 'day' in the service is one of these."""
    return now.astimezone(ZoneInfo(clinic.timezone)).date()


def spec_of(protocol: Protocol) -> rules.ProtocolSpec:
    """The validated spec of a stored protocol version (versions are immutable)."""
    return rules.validate_spec(protocol.spec)


def facts_of(enrollment: Enrollment) -> rules.EnrollmentFacts:
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
            for x in enrollment.exemptions
        ),
        year_paid_cents=_paid_elsewhere_by_year(enrollment),
        ends_on=enrollment.ends_on if enrollment.status == "discharged" else None,
    )


def _paid_elsewhere_by_year(enrollment: Enrollment) -> dict[int, int]:
    # The calendar-year cap spans all of a participant's enrollments (CA: $599/year).
    rows = db.session.execute(
        select(LedgerEntry.on, LedgerEntry.cents).where(
            LedgerEntry.participant_id == enrollment.participant_id,
            LedgerEntry.enrollment_id != enrollment.id,
            LedgerEntry.account == "points",
            LedgerEntry.kind.in_(PAID_KINDS),
        )
    )
    paid: dict[int, int] = defaultdict(int)
    for on, cents in rows:
        if on is not None:
            paid[on.year] += cents
    return dict(paid)


def events_of(enrollment_id: int) -> list[Event]:
    """Verified events of an enrollment that have not been voided, in date order."""
    return list(
        db.session.scalars(
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(Event.enrollment_id == enrollment_id, EventVoid.id.is_(None))
            .where(Event.verified_at.is_not(None))
            .order_by(Event.collected_on, Event.id)
        )
    )


def to_facts(events: Iterable[Event]) -> list[rules.Fact]:
    return [
        rules.Fact(
            event_id=e.id,
            kind=e.kind,
            on=e.collected_on,
            results=dict(e.results or {}),
            refused=e.refused,
            session_type=e.session_type,
        )
        for e in events
    ]


def evaluate_enrollment(enrollment: Enrollment, as_of: date) -> rules.Evaluation:
    """What the enrollment's protocol prescribes for its events up to `as_of`."""
    return rules.evaluate(
        spec_of(enrollment.protocol),
        facts_of(enrollment),
        to_facts(events_of(enrollment.id)),
        as_of=as_of,
    )


def posted_by_key(enrollment_id: int) -> dict[str, tuple[int, int]]:
    """award key -> (amount posted so far, number of entries) for one enrollment."""
    rows = db.session.execute(
        select(LedgerEntry.award_key, func.sum(LedgerEntry.amount), func.count())
        .where(
            LedgerEntry.enrollment_id == enrollment_id,
            LedgerEntry.award_key.is_not(None),
        )
        .group_by(LedgerEntry.award_key)
    )
    return {key: (int(total), int(count)) for key, total, count in rows}
