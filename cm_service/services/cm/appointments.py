"""Booked sessions: booking a participant's sessions, cancelling one, listing them,
and closing a day's booked sessions that nobody checked in (the nightly job).

A protocol whose attendance schedule says `scheduled: true` pays only booked
sessions, and a booked session left empty when its day ends is missed (it resets
the next award when the protocol says so). Booking or cancelling a session on a
closed day changes what was earned, so each use case settles the enrollment in its
own transaction, with its audit row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ... import rules
from ...extensions import db
from ...models import Appointment, Enrollment, Event, EventVoid, Participant
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import FAR, check_date, check_reason, horizon
from .checkins import check_session_type
from .events import add_event
from .ledger import settle_many
from .timeline import chunks, clinic_today, load_timeline

WEEK = timedelta(weeks=1)
MAX_WEEKS = 52  # a weekly booking reaches at most a year ahead
PAST_DAYS = 31  # a session booked after the fact: at most a month back


@dataclass(frozen=True)
class Booked:
    """What a booking made, and the dates it left alone (already booked)."""

    appointments: list[Appointment]
    already: list[date]


def book(
    actor: Actor,
    participant_id: int,
    session_type: str,
    first_on: object,
    starts_at: object,
    *,
    now: datetime,
    weekly: bool = False,
    until: object = None,
    group_id: int | None = None,
) -> Booked:
    """Book one session, or the same session weekly from `first_on` to `until`
    (default: the end of the participant's protocol). Raises InvalidInput naming the
    field at fault; nothing is written then."""
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    dates, enrollment, at = _plan(
        participant, session_type, first_on, starts_at, weekly, until, now
    )
    booked = _booked_dates(enrollment.id, session_type, dates)
    fresh = [on for on in dates if on not in booked]
    if not fresh:
        raise InvalidInput(
            "first_on", f"{participant.code} is already booked for {_days(dates)}."
        )
    made = [
        Appointment(
            clinic_id=participant.clinic_id,
            participant_id=participant.id,
            enrollment_id=enrollment.id,
            group_id=group_id,
            session_type=session_type,
            on=on,
            starts_at=at,
            created_by_id=actor.user_id,
            created_at=now,
        )
        for on in fresh
    ]
    db.session.add_all(made)
    db.session.flush()
    audit.append(
        actor,
        "book_session",
        "appointment",
        made[0].id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={
            "session_type": session_type,
            "dates": [on.isoformat() for on in fresh],
            "starts_at": at.strftime("%H:%M"),
            "group_id": group_id,
        },
    )
    _settle_if_closed([enrollment], fresh, participant, now, actor)
    return Booked(made, sorted(booked))


def _plan(
    participant: Participant,
    session_type: object,
    first_on: object,
    starts_at: object,
    weekly: bool,
    until: object,
    now: datetime,
) -> tuple[list[date], Enrollment, time]:
    check_session_type(session_type)
    today = clinic_today(participant.clinic, now)
    first = check_date(
        "first_on",
        first_on,
        earliest=today - timedelta(days=PAST_DAYS),
        latest=horizon(today),
        too_late=FAR,
    )
    if not isinstance(starts_at, time):
        raise InvalidInput("starts_at", "Enter the start time as HH:MM.")
    enrollment = enrollment_on(participant, first, "first_on")
    end = last_day_of(enrollment)
    if not weekly:
        return [first], enrollment, starts_at
    last = end if until is None else check_date("until", until, earliest=first)
    last = min(last, end, first + WEEK * (MAX_WEEKS - 1))
    dates = []
    on = first
    while on <= last:
        dates.append(on)
        on += WEEK
    return dates, enrollment, starts_at


def enrollment_on(participant: Participant, on: date, field: str) -> Enrollment:
    """The participant's enrollment in force on `on` (its protocol not yet over)."""
    enrollment = db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.status == "active",
            Enrollment.start_on <= on,
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()
    if enrollment is None or on > last_day_of(enrollment):
        raise InvalidInput(
            field, f"{participant.code} is not enrolled on {on:%a %d %b %Y}."
        )
    return enrollment


def last_day_of(enrollment: Enrollment) -> date:
    timeline = load_timeline(enrollment)
    return rules.last_day(timeline.spec, timeline.facts)


def _booked_dates(
    enrollment_id: int, session_type: str, dates: Sequence[date]
) -> set[date]:
    return set(
        db.session.scalars(
            select(Appointment.on).where(
                Appointment.enrollment_id == enrollment_id,
                Appointment.session_type == session_type,
                Appointment.on.in_(list(dates)),
                Appointment.cancelled_at.is_(None),
            )
        )
    )


def _days(dates: Sequence[date]) -> str:
    if len(dates) == 1:
        return f"{dates[0]:%a %d %b %Y}"
    return f"every date from {dates[0]:%d %b} to {dates[-1]:%d %b %Y}"


def booked_session(
    actor: Actor, participant_id: int, appointment_id: int
) -> Appointment:
    """The participant's booked session, in the actor's clinic, or NotFound (a
    URL names both, and the page goes back to this participant)."""
    appointment = db.session.get(Appointment, appointment_id)
    if (
        appointment is None
        or appointment.participant_id != participant_id
        or not actor.may_see_clinic(appointment.clinic_id)
    ):
        raise NotFound("No such booked session.", "appointment")
    return appointment


def cancel(
    actor: Actor, appointment_id: int, reason: object, *, now: datetime
) -> Appointment:
    """Cancel a booked session with a reason: it is no longer expected, so it can
    no longer be missed. A session already checked in cannot be cancelled."""
    actor.require("admin", "staff")
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is None or not actor.may_see_clinic(appointment.clinic_id):
        raise NotFound("No such booked session.", "appointment")
    text = check_reason(reason, "Say why the session is cancelled.")
    if appointment.cancelled_at is not None:
        raise Conflict("already_cancelled", "This session was already cancelled.")
    if _recorded(appointment):
        raise Conflict(
            "already_recorded",
            "This session is already checked in: void the check-in instead.",
        )
    appointment.cancelled_at = now
    appointment.cancelled_by_id = actor.user_id
    appointment.cancel_reason = text
    audit.append(
        actor,
        "cancel_session",
        "appointment",
        appointment.id,
        now=now,
        clinic_id=appointment.clinic_id,
        participant_id=appointment.participant_id,
        detail={"on": appointment.on.isoformat(), "reason": text},
    )
    enrollment = db.session.get_one(Enrollment, appointment.enrollment_id)
    _settle_if_closed(
        [enrollment], [appointment.on], appointment.participant, now, actor
    )
    return appointment


def cancel_many(
    actor: Actor, appointments: Iterable[Appointment], reason: str, *, now: datetime
) -> list[Appointment]:
    """Cancel open sessions inside the caller's transaction (a member leaving a
    group); sessions already checked in stay."""
    cancelled = []
    for appointment in appointments:
        if appointment.cancelled_at is None and not _recorded(appointment):
            appointment.cancelled_at = now
            appointment.cancelled_by_id = actor.user_id
            appointment.cancel_reason = reason
            cancelled.append(appointment)
    return cancelled


def _recorded(appointment: Appointment) -> bool:
    """Whether its slot holds attendance or an excuse (a missed mark can go)."""
    return (
        db.session.scalar(
            select(Event.id)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id == appointment.enrollment_id,
                Event.collected_on == appointment.on,
                Event.session_type == appointment.session_type,
                Event.kind.in_(("attendance", "excused")),
                EventVoid.id.is_(None),
            )
            .limit(1)
        )
        is not None
    )


def _settle_if_closed(
    enrollments: Sequence[Enrollment],
    dates: Sequence[date],
    participant: Participant,
    now: datetime,
    actor: Actor,
) -> None:
    # A booking only changes awards once its day has ended; settling then keeps
    # the ledger right at once rather than at the next nightly reconciliation.
    if min(dates) < clinic_today(participant.clinic, now):
        settle_many(list(enrollments), now=now, actor_id=actor.user_id)
    db.session.commit()


def upcoming(participant_id: int, today: date, limit: int = 10) -> list[Appointment]:
    """The participant's next booked sessions from `today`, soonest first."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.participant_id == participant_id,
                Appointment.on >= today,
                Appointment.cancelled_at.is_(None),
            )
            .order_by(Appointment.on, Appointment.starts_at, Appointment.id)
            .limit(limit)
        )
    )


def on_day(clinic_id: int, day: date) -> list[Appointment]:
    """The clinic's booked sessions on `day`, by start time."""
    return list(
        db.session.scalars(
            select(Appointment)
            .where(
                Appointment.clinic_id == clinic_id,
                Appointment.on == day,
                Appointment.cancelled_at.is_(None),
            )
            .order_by(Appointment.starts_at, Appointment.group_id, Appointment.id)
        )
    )


@dataclass
class Closed:
    """What closing a day's booked sessions wrote (or held, in safe mode)."""

    enrollments: list[Enrollment]
    missed: int = 0
    excused: int = 0
    held: int = 0


def close_sessions(
    clinic_id: int,
    day: date,
    now: datetime,
    *,
    since: datetime | None,
    excuse_of: Callable[[int, date], str | None],
    safe_mode: bool,
) -> Closed:
    """Write `missed` (or `excused`, on a closure or a pause: `excuse_of(enrollment
    id, date)`) for every booked session up to `day` with nothing recorded: the
    day's own sessions, and earlier ones booked, or emptied by a void, since the
    last successful run began (`since`), so the cost follows the day's activity."""
    open_slots = _unrecorded(_candidates(clinic_id, day, since))
    closed = Closed([])
    enrollments: dict[int, Enrollment] = {}
    for appointment in open_slots:
        enrollment = enrollments.get(appointment.enrollment_id) or db.session.get(
            Enrollment, appointment.enrollment_id
        )
        if enrollment is None or enrollment.status != "active":
            continue
        reason = excuse_of(enrollment.id, appointment.on)
        if reason is None and safe_mode:
            closed.held += 1
            continue
        add_event(
            enrollment,
            "excused" if reason else "missed",
            appointment.on,
            now=now,
            session_type=appointment.session_type,
            reason=reason,
        )
        closed.excused += bool(reason)
        closed.missed += not reason
        enrollments[enrollment.id] = enrollment
    db.session.flush()
    closed.enrollments = list(enrollments.values())
    return closed


def _candidates(clinic_id: int, day: date, since: datetime | None) -> list[Appointment]:
    query = select(Appointment).where(
        Appointment.clinic_id == clinic_id,
        Appointment.on <= day,
        Appointment.cancelled_at.is_(None),
    )
    if since is not None:
        voided = (
            select(Event.enrollment_id)
            .join(EventVoid, EventVoid.event_id == Event.id)
            .where(Event.clinic_id == clinic_id, EventVoid.voided_at >= since)
        )
        query = query.where(
            (Appointment.on == day)
            | (Appointment.created_at >= since)
            | Appointment.enrollment_id.in_(voided)
        )
    return list(db.session.scalars(query.order_by(Appointment.on, Appointment.id)))


def _unrecorded(appointments: Sequence[Appointment]) -> list[Appointment]:
    """The appointments whose slot holds no standing session event."""
    recorded: dict[int, set[tuple[date, str | None]]] = defaultdict(set)
    ids = sorted({a.enrollment_id for a in appointments})
    for part in chunks(ids):
        rows = db.session.execute(
            select(Event.enrollment_id, Event.collected_on, Event.session_type)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id.in_(part),
                Event.session_type.is_not(None),
                Event.kind.in_(("attendance", "excused", "missed")),
                EventVoid.id.is_(None),
            )
        )
        for enrollment_id, on, session_type in rows:
            recorded[enrollment_id].add((on, session_type))
    seen: set[tuple[int, date, str]] = set()
    found = []
    for a in appointments:
        slot = (a.enrollment_id, a.on, a.session_type)
        if (a.on, a.session_type) in recorded[a.enrollment_id] or slot in seen:
            continue
        seen.add(slot)
        found.append(a)
    return found
