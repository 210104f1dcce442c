"""Groups: a named recurring session with a roster, and checking a meeting in.

Adding a member books them into every meeting from the day they join to the end of
their protocol; removing one cancels the meetings ahead. A meeting is checked in
from one form: each mark (attended, late, excused) is recorded and settled as its
own event, exactly as a single check-in is, and a member left unmarked is missed
when the nightly job closes the day.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from ...extensions import db
from ...models import Appointment, Event, EventVoid, GroupMember, SessionGroup
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import FAR, REASON_MAX, check_date, check_text, horizon
from . import appointments, checkins
from .checkins import CheckinResult, check_session_type
from .timeline import clinic_today

MARKS = ("attended", "late", "excused")
NAME_MAX = 120
EXCUSE = "Excused at the group check-in"


def create_group(
    actor: Actor,
    name: object,
    session_type: object,
    weekday: object,
    starts_at: object,
    *,
    now: datetime,
) -> SessionGroup:
    """A new weekly group. Raises InvalidInput naming the field at fault."""
    actor.require("admin", "staff")
    text = check_text("name", name, max_length=NAME_MAX)
    if not text:
        raise InvalidInput("name", "Name the group, e.g. Tuesday CBT group.")
    kind = check_session_type(session_type)
    if isinstance(weekday, bool) or weekday not in range(7):
        raise InvalidInput("weekday", "Choose the day of the week the group meets.")
    if not isinstance(starts_at, time):
        raise InvalidInput("starts_at", "Enter the start time as HH:MM.")
    clinic_id = actor.clinic_id
    if db.session.scalar(
        select(SessionGroup.id).where(
            SessionGroup.clinic_id == clinic_id, SessionGroup.name == text
        )
    ):
        raise InvalidInput("name", f"There is already a group called {text}.")
    group = SessionGroup(
        clinic_id=clinic_id,
        name=text,
        session_type=kind,
        weekday=int(weekday),  # type: ignore[call-overload]
        starts_at=starts_at,
        created_at=now,
    )
    db.session.add(group)
    db.session.flush()
    audit.append(
        actor,
        "create_group",
        "session_group",
        group.id,
        now=now,
        clinic_id=clinic_id,
        detail={"name": text, "session_type": kind, "weekday": group.weekday},
    )
    db.session.commit()
    return group


def get_group(actor: Actor, group_id: int) -> SessionGroup:
    group = db.session.get(SessionGroup, group_id)
    if group is None or not actor.may_see_clinic(group.clinic_id):
        raise NotFound("No such group.", "group")
    return group


def groups_of(clinic_id: int) -> list[SessionGroup]:
    return list(
        db.session.scalars(
            select(SessionGroup)
            .where(SessionGroup.clinic_id == clinic_id, SessionGroup.active)
            .order_by(SessionGroup.weekday, SessionGroup.starts_at, SessionGroup.name)
        )
    )


def current_members(group: SessionGroup, on: date) -> list[GroupMember]:
    return [
        m
        for m in group.members
        if m.joined_on <= on and (m.left_on is None or m.left_on > on)
    ]


def next_meeting(group: SessionGroup, on: date) -> date:
    """The group's first meeting on or after `on`."""
    return on + timedelta(days=(group.weekday - on.weekday()) % 7)


def add_member(
    actor: Actor,
    group_id: int,
    participant_id: int,
    joined_on: object,
    *,
    now: datetime,
) -> GroupMember:
    """Put a participant on the roster and book them into every meeting from
    `joined_on` to the end of their protocol."""
    group = get_group(actor, group_id)
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    joined = check_date(
        "joined_on",
        joined_on,
        earliest=today - timedelta(days=appointments.PAST_DAYS),
        latest=horizon(today),
        too_late=FAR,
    )
    if any(m.participant_id == participant.id for m in current_members(group, joined)):
        raise InvalidInput(
            "participant", f"{participant.code} is already in the group."
        )
    appointments.book(
        actor,
        participant.id,
        group.session_type,
        next_meeting(group, joined),
        group.starts_at,
        weekly=True,
        now=now,
        group_id=group.id,
    )
    member = GroupMember(
        group_id=group.id,
        participant_id=participant.id,
        joined_on=joined,
        created_at=now,
    )
    db.session.add(member)
    db.session.flush()
    audit.append(
        actor,
        "join_group",
        "session_group",
        group.id,
        now=now,
        clinic_id=group.clinic_id,
        participant_id=participant.id,
        detail={"joined_on": joined.isoformat()},
    )
    db.session.commit()
    return member


def remove_member(
    actor: Actor, group_id: int, participant_id: int, *, now: datetime
) -> GroupMember:
    """Take a participant off the roster from today: their meetings ahead are
    cancelled (those already checked in stay)."""
    group = get_group(actor, group_id)
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    # Not yet left, also a member joining later (a future `joined_on` typed by
    # mistake must be removable too).
    member = next(
        (
            m
            for m in group.members
            if m.participant_id == participant.id
            and (m.left_on is None or m.left_on > today)
        ),
        None,
    )
    if member is None:
        raise Conflict("not_a_member", f"{participant.code} is not in the group.")
    member.left_on = today
    ahead = db.session.scalars(
        select(Appointment).where(
            Appointment.group_id == group.id,
            Appointment.participant_id == participant.id,
            Appointment.on >= today,
            Appointment.cancelled_at.is_(None),
        )
    )
    cancelled = appointments.cancel_many(actor, ahead, f"Left {group.name}", now=now)
    audit.append(
        actor,
        "leave_group",
        "session_group",
        group.id,
        now=now,
        clinic_id=group.clinic_id,
        participant_id=participant.id,
        detail={"left_on": today.isoformat(), "cancelled": len(cancelled)},
    )
    db.session.commit()
    return member


@dataclass(frozen=True)
class RosterLine:
    """One booked member of a meeting and what is already recorded for them."""

    appointment: Appointment
    recorded: str | None  # attended | late | excused | missed | None


def roster(
    actor: Actor, group_id: int, on: object
) -> tuple[SessionGroup, list[RosterLine]]:
    """The members booked into the group's meeting on `on`, by code."""
    group = get_group(actor, group_id)
    day = check_date("on", on)
    booked = list(
        db.session.scalars(
            select(Appointment).where(
                Appointment.group_id == group.id,
                Appointment.on == day,
                Appointment.cancelled_at.is_(None),
            )
        )
    )
    marks = _recorded_marks(booked)
    lines = [RosterLine(a, marks.get(a.id)) for a in booked]
    return group, sorted(lines, key=lambda line: line.appointment.participant.code)


def _recorded_marks(booked: list[Appointment]) -> dict[int, str]:
    found: dict[int, str] = {}
    for appointment in booked:
        events = db.session.scalars(
            select(Event)
            .outerjoin(EventVoid, EventVoid.event_id == Event.id)
            .where(
                Event.enrollment_id == appointment.enrollment_id,
                Event.collected_on == appointment.on,
                Event.session_type == appointment.session_type,
                EventVoid.id.is_(None),
            )
            .order_by(Event.id)
        ).all()
        kinds = [e.kind for e in events]
        if "attendance" in kinds:
            late = any(e.late for e in events if e.kind == "attendance")
            found[appointment.id] = "late" if late else "attended"
        elif kinds:
            found[appointment.id] = kinds[0]
    return found


@dataclass(frozen=True)
class MemberOutcome:
    """What checking one member in recorded, posted, and what comes next."""

    appointment: Appointment
    mark: str
    result: CheckinResult | None  # None: already recorded before this submit


def check_in_meeting(
    actor: Actor,
    group_id: int,
    on: object,
    marks: Mapping[int, str],
    *,
    now: datetime,
    reasons: Mapping[int, str] | None = None,
) -> list[MemberOutcome]:
    """Record each marked member of the meeting (appointment id -> attended, late
    or excused; unmarked members are left for the nightly job to mark missed).

    Every mark is checked before anything is written: a mark for someone not
    booked into this meeting, or an unknown mark, is refused as InvalidInput
    naming that member's field. A member already recorded is left as recorded.
    """
    group, lines = roster(actor, group_id, on)
    if lines and lines[0].appointment.on > clinic_today(group.clinic, now):
        raise InvalidInput("on", "This meeting has not happened yet.")
    by_id = {line.appointment.id: line for line in lines}
    reasons = reasons or {}
    for appointment_id, mark in marks.items():
        if appointment_id not in by_id:
            raise InvalidInput(
                f"mark-{appointment_id}", "That person is not booked into this meeting."
            )
        if mark not in MARKS:
            raise InvalidInput(
                f"mark-{appointment_id}", "Choose attended, late or excused."
            )
        # Checked here, not by excuse_session: members marked before would be
        # written already, and its "reason" field would not say whose it is.
        reason = check_text(
            f"reason-{appointment_id}",
            reasons.get(appointment_id),
            max_length=REASON_MAX,
            multiline=True,
        )
        if mark == "excused" and 0 < len(reason) < 3:
            raise InvalidInput(
                f"reason-{appointment_id}", "Say why the session is excused."
            )
    if not marks:
        raise InvalidInput(
            "marks", "Mark at least one member attended, late or excused."
        )
    _check_enrolled([by_id[i] for i in marks], now)
    outcomes = []
    for line in lines:
        marked = marks.get(line.appointment.id)
        if marked is None:
            continue
        if line.recorded in ("attended", "late", "excused"):
            outcomes.append(MemberOutcome(line.appointment, line.recorded, None))
            continue
        result = _record_mark(actor, group, line.appointment, marked, reasons, now)
        outcomes.append(MemberOutcome(line.appointment, marked, result))
    return outcomes


def _check_enrolled(lines: list[RosterLine], now: datetime) -> None:
    """Each member to record must still be enrolled on the meeting's day (a
    discharge after booking): checked before the first member is written."""
    for line in lines:
        if line.recorded in ("attended", "late", "excused"):
            continue
        appointment = line.appointment
        try:
            checkins.enrollment_on(appointment.participant, appointment.on, now)
        except InvalidInput as error:
            raise InvalidInput(f"mark-{appointment.id}", error.message) from None


def view_roster(
    actor: Actor, group_id: int, on: object, *, now: datetime
) -> tuple[SessionGroup, list[RosterLine]]:
    """The meeting's roster for a page: each member's record is shown, so the
    view is audited as a view of theirs (one row, naming them all)."""
    group, lines = roster(actor, group_id, on)
    audit.append(
        actor,
        "view_group_meeting",
        "session_group",
        group.id,
        now=now,
        clinic_id=group.clinic_id,
        detail={
            "on": lines[0].appointment.on.isoformat() if lines else str(on),
            "participants": [line.appointment.participant_id for line in lines],
        },
    )
    db.session.commit()
    return group, lines


def _record_mark(
    actor: Actor,
    group: SessionGroup,
    appointment: Appointment,
    mark: str,
    reasons: Mapping[int, str],
    now: datetime,
) -> CheckinResult:
    if mark == "excused":
        reason = (reasons.get(appointment.id) or "").strip() or EXCUSE
        return checkins.excuse_session(
            actor,
            appointment.participant_id,
            appointment.on,
            appointment.session_type,
            reason,
            now=now,
        )
    # A meeting checked in from its roster was seen by the staff member marking it.
    off_site = appointment.session_type in checkins.OFF_SITE_TYPES
    return checkins.record_attendance(
        actor,
        appointment.participant_id,
        appointment.on,
        appointment.session_type,
        now=now,
        late=mark == "late",
        verification="note" if off_site else None,
        verification_note=f"Seen at {group.name}" if off_site else None,
    )
