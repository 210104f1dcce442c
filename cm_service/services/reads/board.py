"""The front desk's reads: the day's board, the week, the code box, the check-in
page and a check-in's result.

Read-only use cases for staff screens. The board lists who the clinic's enrollments
schedule to test on a day (rules.scheduled_days) and where each stands, beside the
sessions booked and the groups meeting that day, what was missed the day before and,
when nothing is due, the next day something is; the week view counts the same per
day. The board and the check-in reads write the audit "view" row because they show
participants' records.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, func, select, type_coerce

from ... import rules
from ...extensions import db
from ...models import (
    Appointment,
    AuditLog,
    Clinic,
    Enrollment,
    Event,
    EventVoid,
    Exemption,
    LedgerEntry,
    Participant,
    Protocol,
    SessionGroup,
)
from ...rules.outcomes import day_rows
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..admin.protocol_admin import protocol_label
from ..cm import appointments, groups
from ..cm.evaluation import standing as kept_standing
from ..cm.ledger import Balance, balance_of
from ..cm.participants import CODE_PATTERN, exemptions_of
from ..cm.timeline import (
    clinic_today,
    closed_through,
    facts_of,
    spec_of,
)
from ..errors import NotFound
from ..validation import FAR, HORIZON, check_date, horizon
from .outlook import Outlook, outlook_of, session_noun

# Recollects older than this have been dealt with or have become a missed day.
PENDING_DAYS = 7
# A board with nothing due looks this far ahead for the next day with something.
NEXT_DAYS = 14
# A code that matches more participants than this asks for more of the code.
MAX_CHOICES = 20
ONE_DAY = timedelta(days=1)
# How today's session stands, by which of its events decides it (as the fold
# orders them: attendance, then an excuse, then a missed mark).
_DECIDES = {"attended": 0, "late": 0, "excused": 1, "missed": 2}
CAME = ("attended", "late")
_SESSION_WORD = {"attendance": "attended"}  # excused and missed keep their kind


@dataclass(frozen=True)
class Person:
    """A participant as the boards list them: the columns their pages show."""

    id: int
    code: str
    display_name: str | None


@dataclass(frozen=True)
class BoardRow:
    participant: Person
    protocol: str  # the enrollment's protocol version, labelled (protocol_label)
    scheduled: bool
    outcome: str | None  # today's test outcome; None while nothing is recorded
    # The sessions attended today, in words ("group session", "group session, late").
    sessions: tuple[str, ...] = ()


@dataclass(frozen=True)
class MeetingToday:
    """A group meeting today: how many are booked into it, how many came."""

    group: SessionGroup
    booked: int
    attended: int


@dataclass(frozen=True)
class SessionToday:
    """A session booked today outside a group, and how it stands."""

    appointment: Appointment
    participant: Person
    outcome: str | None  # attended | late | excused | missed; None while open

    @property
    def what(self) -> str:
        return session_noun(self.appointment.session_type)


@dataclass(frozen=True)
class PendingItem:
    participant: Person
    on: date
    what: str


@dataclass(frozen=True)
class MissedItem:
    """A test or booked session of the day before with nothing recorded, or marked
    missed: a late check-in or an excuse may still be recorded for it."""

    participant: Person
    on: date
    what: str
    marked: bool  # recorded missed (by the nightly job or by staff)
    appointment: Appointment | None = None


@dataclass(frozen=True)
class Board:
    day: date  # the day shown
    waiting: list[BoardRow]
    checked_in: list[BoardRow]
    excused: list[BoardRow]
    pending: list[PendingItem]
    meetings: list[MeetingToday] = field(default_factory=list)
    sessions: list[SessionToday] = field(default_factory=list)
    today: date | None = None  # the clinic's today (default: the day shown)
    # The day before's missed tests and sessions (for today and past days).
    missed: list[MissedItem] = field(default_factory=list)
    # When the day has nothing due: the next day that has (within NEXT_DAYS).
    next_day: date | None = None

    @property
    def nothing_due(self) -> bool:
        return not (
            self.waiting
            or self.checked_in
            or self.excused
            or self.meetings
            or self.sessions
        )

    @property
    def day_before(self) -> date:
        return self.day - ONE_DAY

    @property
    def when(self) -> str:
        """'past', 'today' or 'future': which words the page uses for the day."""
        today = self.today or self.day
        if self.day == today:
            return "today"
        return "past" if self.day < today else "future"


@dataclass(frozen=True)
class Line:
    """One active enrollment as the boards read it: who, its protocol, the facts
    that decide its days (calendar, targets, exemptions, the dates closed) and its
    verified, non-voided events of the days the board looks at, as rules facts."""

    enrollment_id: int
    participant: Person
    protocol: str  # labelled (protocol_label)
    spec: rules.ProtocolSpec
    facts: rules.EnrollmentFacts
    events: list[rules.Fact]


def day_board(actor: Actor, *, now: datetime, day: object = None) -> Board:
    """Who the actor's clinic expects on `day` (default: its today), who has
    checked in (for a test or only for a session), what is pending (specimens to
    recollect within the PENDING_DAYS days before), the day's group meetings and
    other booked sessions, what was missed the day before and, when nothing is
    due, the next day something is.

    Classifies only those days' events (rules.day_outcomes), in a few set-based
    queries for the whole clinic: a day's outcome does not depend on the fold.
    Raises InvalidInput("day") for a date out of range. Writes the audit "view"
    row (the board lists participants' results).
    """
    actor.require("admin", "staff", "auditor")
    clinic = _clinic_of(actor)
    today = clinic_today(clinic, now)
    day = today if day is None else check_day(day, today)
    since = day - timedelta(PENDING_DAYS)
    lines = lines_of(clinic.id, after=since, through=day)
    board = Board(day, [], [], [], [], today=today)
    for line in lines:
        _place(board, line, since)
    clinic_groups = groups.groups_of(clinic.id)
    booked = appointments.on_day(clinic.id, day)
    booked_before = (
        appointments.on_day(clinic.id, day - ONE_DAY) if day <= today else []
    )
    people = _people(lines, booked + booked_before)
    _add_sessions(board, lines, booked, people, clinic_groups)
    if day <= today:
        _add_missed_sessions(board, lines, booked_before, people)
    if board.nothing_due:
        board = replace(board, next_day=_next_day(clinic.id, lines, clinic_groups, day))
    _audit_view(actor, clinic, now, {"on": day.isoformat()}, len(lines))
    return board


def check_day(value: object, today: date) -> date:
    """A day a board may show: within a year either side of the clinic's today."""
    return check_date(
        "day", value, earliest=today - HORIZON, latest=horizon(today), too_late=FAR
    )


def _clinic_of(actor: Actor) -> Clinic:
    clinic = db.session.get(Clinic, actor.clinic_id)
    if clinic is None:
        raise NotFound("No such clinic.", "clinic")
    return clinic


def lines_of(clinic_id: int, *, after: date, through: date) -> list[Line]:
    """The clinic's active enrollments, by participant code, each with its events
    dated after `after` up to `through`.

    Five queries whatever the clinic's size, of columns, not model objects (the
    board lists every enrollment on every view): the enrollments with their
    participants, their exemptions, their protocols, the dates the nightly job has
    closed, the events. Only the facts a day's outcome and the calendar read are
    loaded (`_facts`): no ledger, bookings or funding, which only the fold's
    awards and caps read.
    """
    is_active = (Enrollment.clinic_id == clinic_id, Enrollment.status == "active")
    active = select(Enrollment.id).where(*is_active)
    enrollments = db.session.execute(
        select(
            Enrollment.id,
            Enrollment.protocol_id,
            _raw(Enrollment.start_on),
            _raw(Enrollment.targets),
            _raw(Enrollment.testing_days),
            Enrollment.status,
            Enrollment.ends_on,
            Participant.id,
            Participant.code,
            Participant.display_name,
        )
        .join(Participant, Participant.id == Enrollment.participant_id)
        .where(*is_active)
        .order_by(Participant.code)
    ).all()
    if not enrollments:
        return []
    exemptions: dict[int, list[rules.Exemption]] = defaultdict(list)
    for enrollment_id, analyte, starts_on, ends_on, medication in db.session.execute(
        select(
            Exemption.enrollment_id,
            Exemption.analyte,
            Exemption.starts_on,
            Exemption.ends_on,
            Exemption.medication,
        )
        .where(Exemption.enrollment_id.in_(active))
        .order_by(Exemption.id)
    ):
        exemptions[enrollment_id].append(
            rules.Exemption(analyte, starts_on, ends_on, medication)
        )
    protocols = _protocols({row[1] for row in enrollments})
    closed = closed_through([clinic_id]).get(clinic_id)
    events = _facts_between(active, after, through)
    day, targets, testing = _Decoder(_day), _Decoder(_panel), _Decoder(_testing_days)
    lines = []
    for row in enrollments:
        enrollment_id, protocol_id, start_on = row[0], row[1], day(row[2])
        spec, label = protocols[protocol_id]
        facts = rules.EnrollmentFacts(
            start_on=start_on,
            targets=targets(row[3]),
            testing_days=testing(row[4]),
            exemptions=tuple(exemptions.get(enrollment_id, ())),
            ends_on=row[6] if row[5] == "discharged" else None,
            closed_through=closed,
        )
        person = Person(row[7], row[8], row[9])
        events_of = events.get(enrollment_id, [])
        lines.append(Line(enrollment_id, person, label, spec, facts, events_of))
    return lines


# A board reads a few thousand values per view, most of them repeated (the same
# dates, panels and testing days): `_raw` reads a column as the database sends
# it, and a `_Decoder` decodes each distinct value once. A backend that sends the
# value decoded already (a date, a JSON document) passes it through.
def _raw(column: Any) -> Any:
    return type_coerce(column, Text)


class _Decoder:
    """One request's memo of a column decoder (`decode` of the raw text)."""

    def __init__(self, decode: Callable[[Any], Any]) -> None:
        self.decode = decode
        self.seen: dict[str, Any] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value if value is None else self.decode(value)
        found = self.seen.get(value, _UNSEEN)
        if found is _UNSEEN:
            found = self.seen[value] = self.decode(value)
        return found


_UNSEEN = object()


def _day(value: str | date) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _panel(value: Any) -> tuple[str, ...] | None:
    """facts_of's targets: the enrollment's panel, if it names one."""
    targets = _json(value)
    return tuple(targets) if targets else None


def _testing_days(value: Any) -> Mapping[int, tuple[int, ...]]:
    """facts_of's testing days (phase index -> weekdays), read-only: one mapping
    serves every enrollment that overrides the same days."""
    days = _json(value) or {}
    return MappingProxyType({int(k): tuple(v) for k, v in days.items()})


def _protocols(ids: set[int]) -> dict[int, tuple[rules.ProtocolSpec, str]]:
    """protocol id -> its validated spec and its label."""
    found = db.session.scalars(select(Protocol).where(Protocol.id.in_(ids)))
    return {p.id: (spec_of(p), protocol_label(p)) for p in found}


def _facts_between(
    enrollment_ids: Select[int], after: date, through: date
) -> dict[int, list[rules.Fact]]:
    """enrollment -> its verified, non-voided events dated after `after` up to
    `through`, as rules facts (timeline.to_facts), in date order."""
    query = (
        select(
            Event.enrollment_id,
            Event.id,
            Event.kind,
            _raw(Event.collected_on),
            _raw(Event.results),
            Event.refused,
            Event.session_type,
            Event.late,
        )
        .outerjoin(EventVoid, EventVoid.event_id == Event.id)
        .where(
            Event.enrollment_id.in_(enrollment_ids),
            EventVoid.id.is_(None),
            Event.verified_at.is_not(None),
            Event.collected_on > after,
            Event.collected_on <= through,
        )
        .order_by(Event.collected_on, Event.id)
    )
    day, json_of = _Decoder(_day), _Decoder(_json)
    found: dict[int, list[rules.Fact]] = defaultdict(list)
    for row in db.session.execute(query):
        enrollment_id, event_id, kind, on, results, refused, session_type, late = row
        found[enrollment_id].append(
            rules.Fact(
                event_id=event_id,
                kind=kind,
                on=day(on),
                results=dict(json_of(results) or {}),
                refused=refused,
                session_type=session_type,
                late=bool(late),
            )
        )
    return found


def _audit_view(
    actor: Actor,
    clinic: Clinic,
    now: datetime,
    what: Mapping[str, str],
    enrollments: int,
) -> None:
    audit.append(
        actor,
        "view_board",
        "clinic",
        clinic.id,
        now=now,
        clinic_id=clinic.id,
        detail={**what, "enrollments": enrollments},
    )
    db.session.commit()


def _place(board: Board, line: Line, since: date) -> None:
    """Put one enrollment's day, its pending recollections and the day before's
    missed test on the board.

    Reads the days the fold walks after `since` up to the day (rules.day_outcomes,
    as its rows): a scheduled day is among them (nothing is scheduled after the
    protocol's last day), with an extra test's."""
    on, participant = board.day, line.participant
    # The day before's test is missed only on today's board and past days':
    # tomorrow's yesterday is not over.
    before = board.day_before if board.when != "future" else None
    scheduled, outcome, found = False, None, False
    for when, due, result, *_ in day_rows(
        line.spec, line.facts, line.events, on, after=since
    ):
        if result == "recollect":
            board.pending.append(PendingItem(participant, when, "recollect specimen"))
        if when == before and due and result in (None, "missed"):
            board.missed.append(
                MissedItem(participant, before, "test", result is not None)
            )
        if when == on:
            scheduled, outcome, found = due, result, True
    attended = _attended_on(line, on)
    if not found and not attended:
        return
    row = BoardRow(participant, line.protocol, scheduled, outcome, attended)
    if not found:
        board.checked_in.append(row)  # came only for a session
    elif outcome in (None, "recollect"):
        board.waiting.append(row)
    elif outcome == "excused":
        board.excused.append(row)
    else:
        board.checked_in.append(row)


def _people(lines: list[Line], booked: list[Appointment]) -> dict[int, Person]:
    """participant id -> Person, for everyone the lines and the sessions `booked`
    name: the lines' own, and one query for anyone booked with no active
    enrollment (none, as a rule)."""
    people = {line.participant.id: line.participant for line in lines}
    others = {a.participant_id for a in booked} - people.keys()
    if others:
        rows = db.session.execute(
            select(Participant.id, Participant.code, Participant.display_name).where(
                Participant.id.in_(sorted(others))
            )
        )
        people.update((i, Person(i, code, name)) for i, code, name in rows)
    return people


def _add_missed_sessions(
    board: Board,
    lines: list[Line],
    booked: list[Appointment],
    people: Mapping[int, Person],
) -> None:
    """The day before's booked sessions (`booked`) nobody checked in (or marked
    missed)."""
    before = board.day_before
    outcomes = _session_outcomes(lines, before)
    shown = {line.enrollment_id for line in lines}
    for appointment in booked:
        outcome = outcomes.get(_slot(appointment))
        if appointment.enrollment_id in shown and outcome in (None, "missed"):
            when = appointment.starts_at.strftime("%H:%M")
            board.missed.append(
                MissedItem(
                    people[appointment.participant_id],
                    before,
                    f"{_session_name(appointment)} {when}",
                    outcome is not None,
                    appointment,
                )
            )
    board.missed.sort(key=lambda item: item.participant.code)


def _session_name(appointment: Appointment) -> str:
    if appointment.group is not None:
        return appointment.group.name
    return session_noun(appointment.session_type)


def _attended_on(line: Line, on: date) -> tuple[str, ...]:
    return tuple(
        session_noun(e.session_type) + (", late" if e.late else "")
        for e in line.events
        if e.kind == "attendance" and e.on == on and e.session_type
    )


def _add_sessions(
    board: Board,
    lines: list[Line],
    booked: list[Appointment],
    people: Mapping[int, Person],
    clinic_groups: list[SessionGroup],
) -> None:
    """The day's group meetings (by weekday, or with a member booked that day) and
    the sessions booked outside a group (of `booked`, the day's), with what the
    day's events say of each."""
    outcomes = _session_outcomes(lines, board.day)
    for group in clinic_groups:
        members = [a for a in booked if a.group_id == group.id]
        if members or group.weekday == board.day.weekday():
            came = [a for a in members if outcomes.get(_slot(a)) in CAME]
            board.meetings.append(MeetingToday(group, len(members), len(came)))
    board.sessions.extend(
        SessionToday(a, people[a.participant_id], outcomes.get(_slot(a)))
        for a in booked
        if a.group_id is None
    )


def _next_day(
    clinic_id: int,
    lines: list[Line],
    clinic_groups: list[SessionGroup],
    after: date,
) -> date | None:
    """The first day after `after` (within NEXT_DAYS) with a scheduled test, a
    booked session or a group meeting: what a board with nothing due offers."""
    first, last = after + ONE_DAY, after + timedelta(NEXT_DAYS)
    found = [groups.next_meeting(group, first) for group in clinic_groups]
    for line in lines:
        tests = rules.scheduled_days(line.spec, line.facts, first, last)
        found.extend(tests[:1])
    booked = db.session.scalar(
        select(func.min(Appointment.on)).where(
            Appointment.clinic_id == clinic_id,
            Appointment.on.between(first, last),
            Appointment.cancelled_at.is_(None),
        )
    )
    if booked is not None:
        found.append(booked)
    return min((on for on in found if on <= last), default=None)


def _slot(appointment: Appointment) -> tuple[int, str]:
    return appointment.enrollment_id, appointment.session_type


def _session_outcomes(lines: Iterable[Line], on: date) -> dict[tuple[int, str], str]:
    """(enrollment, session type) -> how that day's session of that type stands:
    attendance decides it before an excuse, an excuse before a missed mark."""
    found: dict[tuple[int, str], str] = {}
    for line in lines:
        for e in line.events:
            if e.on != on or not e.session_type:
                continue  # a test day's event, or another day's
            word = "late" if e.late else _SESSION_WORD.get(e.kind, e.kind)
            slot = (line.enrollment_id, e.session_type)
            if _DECIDES.get(word, 9) < _DECIDES.get(found.get(slot, ""), 9):
                found[slot] = word
    return found


@dataclass(frozen=True)
class WeekDay:
    """One day of the week view: its tests due and recorded, its sessions."""

    on: date
    due: list[Person] = field(default_factory=list)
    recorded: list[Person] = field(default_factory=list)
    booked: int = 0
    meetings: list[SessionGroup] = field(default_factory=list)

    @property
    def nothing_due(self) -> bool:
        return not (self.due or self.booked or self.meetings)


@dataclass(frozen=True)
class Week:
    today: date
    days: list[WeekDay]

    @property
    def start(self) -> date:
        return self.days[0].on


def week_board(actor: Actor, *, now: datetime, day: object = None) -> Week:
    """The week (Monday to Sunday) holding `day` (default: the clinic's today):
    per day, who is due to test and whose test is recorded, how many sessions are
    booked and which groups meet. Set-based like the day's board; raises
    InvalidInput("day") for a date out of range; writes the audit "view" row."""
    actor.require("admin", "staff", "auditor")
    clinic = _clinic_of(actor)
    today = clinic_today(clinic, now)
    day = today if day is None else check_day(day, today)
    monday = day - timedelta(day.weekday())
    week = Week(today, [WeekDay(monday + timedelta(n)) for n in range(7)])
    lines = lines_of(clinic.id, after=monday - ONE_DAY, through=monday + timedelta(6))
    for line in lines:
        _add_week_tests(week, line)
    _add_week_sessions(week, clinic.id)
    _audit_view(actor, clinic, now, {"week": monday.isoformat()}, len(lines))
    return week


def _add_week_tests(week: Week, line: Line) -> None:
    monday, participant = week.start, line.participant
    sunday = monday + timedelta(6)
    for on, scheduled, outcome, *_ in day_rows(
        line.spec, line.facts, line.events, sunday, after=monday - ONE_DAY
    ):
        if scheduled:
            entry = week.days[(on - monday).days]
            entry.due.append(participant)
            if outcome not in (None, "recollect", "missed"):
                entry.recorded.append(participant)


def _add_week_sessions(week: Week, clinic_id: int) -> None:
    monday = week.start
    counts = dict(
        db.session.execute(
            select(Appointment.on, func.count())
            .where(
                Appointment.clinic_id == clinic_id,
                Appointment.on.between(monday, monday + timedelta(6)),
                Appointment.cancelled_at.is_(None),
            )
            .group_by(Appointment.on)
        ).all()
    )
    clinic_groups = groups.groups_of(clinic_id)
    for n, line in enumerate(week.days):
        meeting = [g for g in clinic_groups if g.weekday == line.on.weekday()]
        week.days[n] = replace(line, booked=counts.get(line.on, 0), meetings=meeting)


def participant_codes(actor: Actor) -> list[str]:
    """The codes of the actor's clinic's participants (for type-ahead)."""
    actor.require("admin", "staff", "auditor")
    return list(
        db.session.scalars(
            select(Participant.code)
            .where(Participant.clinic_id == actor.clinic_id)
            .order_by(Participant.code)
        )
    )


def match_codes(actor: Actor, code: str) -> list[Participant]:
    """The actor's clinic's participants a typed code may mean, by code.

    The code exactly, whatever the case; else the codes equal to it without
    dashes and spaces ("p0003" is P-0003); else, for digits only, every code
    ending in them ("3" is P-0003, "1" both P-0001 and P-0011); else the codes
    starting with it ("p00" is every P-00..). Other clinics' codes never match.
    """
    actor.require("admin", "staff", "auditor")
    typed = code.strip().upper() if isinstance(code, str) else ""
    # Text no code can be (a NUL, a lone surrogate) is never looked up as one.
    exact = (
        _participants(actor.clinic_id, Participant.code == typed)
        if CODE_PATTERN.match(typed)
        else []
    )
    bare = "".join(ch for ch in typed if ch.isascii() and ch.isalnum())
    if exact or not bare:
        return exact
    squeezed = func.replace(Participant.code, "-", "")
    if bare.isdigit():
        return _participants(actor.clinic_id, squeezed.like(f"%{bare}"))
    # `bare` is letters and digits only, so it holds no LIKE wildcard.
    return (
        _participants(actor.clinic_id, squeezed == bare)
        or _same_number(actor.clinic_id, bare)
        or _participants(actor.clinic_id, squeezed.like(f"{bare}%"))
    )


def _same_number(clinic_id: int | None, bare: str) -> list[Participant]:
    """Codes with `bare`'s letters and its number, leading zeros aside ("p2" and
    "P-02" are P-0002)."""
    found = re.fullmatch(r"([A-Z]+)(\d+)", bare)
    if found is None or not found.group(2).strip("0"):
        return []
    letters, number = found.group(1), int(found.group(2))
    rows = db.session.execute(
        select(Participant.id, Participant.code).where(
            Participant.clinic_id == clinic_id,
            func.replace(Participant.code, "-", "").like(f"{letters}%"),
        )
    )
    ids = [
        pid
        for pid, code in rows
        if (digits := code.replace("-", "")[len(letters) :]).isdigit()
        and int(digits) == number
    ]
    return _participants(clinic_id, Participant.id.in_(ids)) if ids else []


def _participants(
    clinic_id: int | None, condition: ColumnElement[bool]
) -> list[Participant]:
    """The clinic's participants meeting `condition`, by code; none for no clinic
    (the system actor's)."""
    return list(
        db.session.scalars(
            select(Participant)
            .where(Participant.clinic_id == clinic_id, condition)
            .order_by(Participant.code)
            .limit(MAX_CHOICES + 1)
        )
    )


def find_by_code(actor: Actor, code: str) -> Participant:
    """The one participant of the actor's clinic a typed code means (match_codes).

    Raises NotFound(field="code") for unknown codes and other clinics' codes alike,
    and for a code several participants match (naming them).
    """
    found = match_codes(actor, code)
    if not found:
        raise NotFound("No participant with that code in this clinic.", "code")
    if len(found) > 1:
        codes = ", ".join(p.code for p in found[:MAX_CHOICES])
        raise NotFound(
            f"Several participants match: {codes}. Type the whole code.", "code"
        )
    return found[0]


@dataclass(frozen=True)
class Standing:
    """Where a participant stands: what a check-in screen shows around its form."""

    participant: Participant
    enrollment: Enrollment | None
    targets: tuple[str, ...]
    today: date
    balance: Balance
    evaluation: rules.Standing | rules.Evaluation | None
    # The enrollment's prescribed-medication exemptions (badges on check-in).
    exemptions: tuple[Exemption, ...] = ()
    # Which lines fit the protocol: tests, sessions, money, draws (outlook.py).
    outlook: Outlook | None = None


def checkin_standing(actor: Actor, participant_id: int, *, now: datetime) -> Standing:
    """The participant's current enrollment, its target panel and standing.

    Writes the audit "view" row. Raises NotFound outside the actor's clinic.
    """
    standing = current_standing(actor, participant_id, now=now)
    participant = standing.participant
    audit.append(
        actor,
        "view_checkin",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()
    return standing


def current_standing(actor: Actor, participant_id: int, *, now: datetime) -> Standing:
    """The same read without the audit row: for a form the actor just opened (its
    POST, or the re-rendered form after bad input, which must write nothing)."""
    actor.require("admin", "staff", "auditor")
    return _standing(get_participant(actor, participant_id), now)


def checkin_targets(actor: Actor, participant_id: int) -> tuple[str, ...]:
    """The substances the participant's check-in form asks about (no standing: a
    check-in POST needs only its form's fields)."""
    actor.require("admin", "staff", "auditor")
    return _targets(_active_enrollment(get_participant(actor, participant_id)))


def _active_enrollment(participant: Participant) -> Enrollment | None:
    return db.session.scalars(
        select(Enrollment)
        .where(
            Enrollment.participant_id == participant.id,
            Enrollment.status == "active",
        )
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    ).first()


def _targets(enrollment: Enrollment | None) -> tuple[str, ...]:
    if enrollment is None:
        return ()
    return tuple(enrollment.targets or spec_of(enrollment.protocol).targets.substances)


def _standing(participant: Participant, now: datetime) -> Standing:
    today = clinic_today(participant.clinic, now)
    enrollment = _active_enrollment(participant)
    evaluation = kept_standing(enrollment, today) if enrollment else None
    return standing_of(
        participant,
        enrollment,
        today,
        balance_of(participant.id),
        evaluation,
        exemptions_of(enrollment),
    )


def standing_of(
    participant: Participant,
    enrollment: Enrollment | None,
    today: date,
    balance: Balance,
    evaluation: rules.Standing | rules.Evaluation | None,
    exemptions: tuple[Exemption, ...] = (),
) -> Standing:
    """The standing block's read-model from what a page has already read."""
    return Standing(
        participant,
        enrollment,
        _targets(enrollment),
        today,
        balance,
        evaluation,
        exemptions,
        outlook_of(enrollment, evaluation, balance, today),
    )


def _checkin_record(event: Event) -> dict[str, Any]:
    """The detail of the audit row the check-in that recorded `event` wrote."""
    record = db.session.scalars(
        select(AuditLog).where(
            AuditLog.object_type == "event",
            AuditLog.object_id == event.id,
            AuditLog.action == f"record_{event.kind}",
        )
    ).first()
    return record.detail if record else {}


def _posted_by_checkin(detail: Mapping[str, Any], event: Event) -> list[LedgerEntry]:
    wanted = [tuple(pair) for pair in detail.get("posted", [])]
    entries = []
    for key, amount in wanted:
        entry = db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.enrollment_id == event.enrollment_id,
                LedgerEntry.award_key == key,
                LedgerEntry.amount == amount,
            )
            .order_by(LedgerEntry.id.desc())
        ).first()
        if entry is not None:
            entries.append(entry)
    return sorted(entries, key=lambda e: e.id)


@dataclass(frozen=True)
class CheckinOutcome:
    """A recorded event and what it paid, with the participant's new standing."""

    event: Event
    posted: list[LedgerEntry]
    standing: Standing
    # Awards kept back to offset an earlier overpayment, explained.
    withheld: list[str] = field(default_factory=list)
    # A test on a day the protocol schedules none: it pays nothing (and may reset
    # the run, as the protocol's extra_tests says).
    extra_test: bool = False


def checkin_outcome(actor: Actor, event_id: int, *, now: datetime) -> CheckinOutcome:
    """The entries the check-in that recorded `event_id` posted, and the standing.

    The check-in's audit row lists what its settle posted ([award key, amount]);
    settle posts at most one entry per key, so the newest entry with that key and
    amount is the one. Writes the audit "view" row; NotFound outside scope.
    """
    actor.require("admin", "staff", "auditor")
    event = db.session.get(Event, event_id)
    if event is None or not actor.may_see_clinic(event.clinic_id):
        raise NotFound("No such check-in.", "event")
    detail = _checkin_record(event)
    posted = _posted_by_checkin(detail, event)
    withheld = [text for _, _, text in detail.get("withheld", [])]
    participant = get_participant(actor, event.participant_id)
    standing = _standing(participant, now)
    audit.append(
        actor,
        "view_checkin_result",
        "event",
        event.id,
        now=now,
        clinic_id=event.clinic_id,
        participant_id=event.participant_id,
    )
    db.session.commit()
    return CheckinOutcome(event, posted, standing, withheld, _extra_test(event))


def _extra_test(event: Event) -> bool:
    if event.kind not in ("specimen", "breath") or event.enrollment_id is None:
        return False
    enrollment = db.session.get_one(Enrollment, event.enrollment_id)
    on = event.collected_on
    spec = spec_of(enrollment.protocol)
    return not rules.scheduled_days(spec, facts_of(enrollment), on, on)
