"""Staff pages for attendance by appointment: groups and their rosters, checking a
group meeting in from one form, and a participant's booked sessions.

The routes join the staff blueprint (`web.init_app` imports this module before
registering it) and work as `views` does: parse, call one service, render; a
service's InvalidInput or Conflict comes back next to the field it names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .. import clock, rules
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..rules.money import format_cents
from ..services.access.actors import Actor
from ..services.cm import appointments, groups, participants
from ..services.cm.checkins import CheckinResult
from ..services.cm.participants import ParticipantRecord
from ..services.cm.timeline import clinic_today
from ..services.errors import CMError, InvalidInput, NotFound
from ..services.reads import board
from . import forms
from .common import show_error

if TYPE_CHECKING:
    from ..models import Appointment, LedgerEntry, Participant, SessionGroup

bp = Blueprint("groups", __name__)

MEETINGS_SHOWN = 5  # last week's meeting (a late check-in) and the next four
UPCOMING_SHOWN = 20
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
CHECKED_IN = ("attended", "late", "excused")


def _render(template: str, **context: Any) -> str:
    return render_template(
        template,
        session_labels=forms.SESSION_LABELS,
        weekday_names=forms.WEEKDAY_NAMES,
        **context,
    )


def _today() -> date:
    return clinic_today(current_user.clinic, clock.now())


def _submit(
    form: forms.FlaskForm, call: Callable[[], Any], aliases: dict | None = None
) -> tuple[Any, int]:
    """Validate `form` and call the service: (its result, 200), or (None, status)
    with the error shown on the form. NotFound stays a 404 page."""
    if not form.validate():
        return None, 422
    try:
        return call(), 200
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error, aliases)
        return None, error.status


# Words for what a check-in earned and what the next session earns.


def amount_words(draws: int, points: int, cents: int, *, signed: bool = False) -> str:
    """ "2 draws", "$5.00 (20 points)"; with `signed`, "+2 draws"; "" for nothing."""
    parts = []
    if draws:
        count = f"{draws:+d}" if signed else str(draws)
        parts.append(f"{count} draw{'' if abs(draws) == 1 else 's'}")
    if points:
        sign = "+" if signed and cents >= 0 else ""
        parts.append(f"{sign}{format_cents(cents)} ({points} points)")
    return " and ".join(parts)


def earned_words(mark: str, posted: Sequence[LedgerEntry]) -> str:
    if mark == "excused":
        return "excused"
    draws = sum(e.amount for e in posted if e.account == "draws")
    points = [e for e in posted if e.account == "points"]
    earned = amount_words(
        draws,
        sum(e.amount for e in points),
        sum(e.cents for e in points),
        signed=True,
    )
    return earned or ("nothing: late" if mark == "late" else "nothing")


def session_words(session: rules.NextSession) -> str:
    """ "next group session Tue 13 Jan earns 2 draws"."""
    label = forms.SESSION_LABELS.get(session.session_type, session.session_type)
    value = amount_words(session.draws, session.points, session.cents) or "nothing"
    on = session.on
    return f"next {label.lower()} session {on:%a} {on.day} {on:%b} earns {value}"


def next_words(sessions: Sequence[rules.NextSession], session_type: str) -> str:
    """What the next session of `session_type` earns (else the first schedule's)."""
    pick = next((s for s in sessions if s.session_type == session_type), None)
    pick = pick or (sessions[0] if sessions else None)
    return session_words(pick) if pick else "no further paid session booked"


# Groups


@dataclass(frozen=True)
class GroupRow:
    group: SessionGroup
    members: int
    next_meeting: date


@bp.get("/groups")
@role_required(*ANY_STAFF)
def groups_list():
    return _render_groups(forms.GroupForm(formdata=None))


def _render_groups(form: forms.GroupForm, status: int = 200):
    today = _today()
    rows = [
        GroupRow(
            group,
            len(groups.current_members(group, today)),
            groups.next_meeting(group, today),
        )
        for group in groups.groups_of(current_actor().clinic_id)
    ]
    return _render("staff/groups.html", rows=rows, form=form, today=today), status


@bp.post("/groups")
@role_required(*WRITERS)
def create_group():
    actor = current_actor()
    form = forms.GroupForm()
    group, status = _submit(
        form,
        lambda: groups.create_group(
            actor,
            form.name.data,
            form.session_type.data,
            form.weekday_number(),
            form.starts_at.data,
            now=clock.now(),
        ),
    )
    if group is None:
        return _render_groups(form, status)
    flash(f"Created {group.name}. Add its members next.")
    return redirect(url_for(".group_detail", group_id=group.id))


def _on_roster(group: SessionGroup, today: date) -> list:
    # Members from today on, also those joining later (current_members is a day's).
    members = [m for m in group.members if m.left_on is None or m.left_on > today]
    return sorted(members, key=lambda m: m.participant.code)


def _meetings(group: SessionGroup, today: date) -> list[date]:
    first = groups.next_meeting(group, today - timedelta(days=6))
    return [first + timedelta(weeks=n) for n in range(MEETINGS_SHOWN)]


def _member_form(today: date, **kwargs) -> forms.MemberForm:
    form = forms.MemberForm(**kwargs)
    if form.joined_on.data is None and not form.joined_on.raw_data:
        form.joined_on.data = today
    return form


def _render_group(group_id: int, member: forms.MemberForm, status: int = 200):
    group = groups.get_group(current_actor(), group_id)
    today = _today()
    return _render(
        "staff/groups_detail.html",
        group=group,
        members=_on_roster(group, today),
        meetings=_meetings(group, today),
        member=member,
        today=today,
    ), status


@bp.get("/groups/<int:group_id>")
@role_required(*ANY_STAFF)
def group_detail(group_id: int):
    return _render_group(group_id, _member_form(_today(), formdata=None))


def _participant_by_code(actor: Actor, code: str) -> Participant:
    try:
        return board.find_by_code(actor, code)
    except NotFound as error:
        # A code typed into the form is bad input next to it, not a missing page.
        raise InvalidInput("participant", error.message) from None


@bp.post("/groups/<int:group_id>/members")
@role_required(*WRITERS)
def add_group_member(group_id: int):
    actor = current_actor()
    groups.get_group(actor, group_id)  # another clinic's group: 404 before anything
    form = _member_form(_today())

    def add():
        person = _participant_by_code(actor, form.participant.data)
        return groups.add_member(
            actor, group_id, person.id, form.joined_on.data, now=clock.now()
        )

    member, status = _submit(form, add, {"first_on": "joined_on"})
    if member is None:
        return _render_group(group_id, form, status)
    flash(
        f"Added {member.participant.code}: booked into every meeting from "
        f"{member.joined_on:%a %d %b %Y} to the end of their protocol."
    )
    return redirect(url_for(".group_detail", group_id=group_id))


@bp.route(
    "/groups/<int:group_id>/members/<int:participant_id>/remove",
    methods=["GET", "POST"],
)
@role_required(*WRITERS)
def remove_group_member(group_id: int, participant_id: int):
    """GET asks to confirm; POST takes them off the roster from today."""
    actor = current_actor()
    group = groups.get_group(actor, group_id)
    today = _today()
    member = next(
        (m for m in _on_roster(group, today) if m.participant_id == participant_id),
        None,
    )
    if member is None:
        abort(404)
    if request.method == "GET":
        return _render("staff/groups_remove.html", group=group, member=member)
    groups.remove_member(actor, group_id, participant_id, now=clock.now())
    flash(
        f"Removed {member.participant.code} from {group.name}; "
        "their meetings from today on are cancelled."
    )
    return redirect(url_for(".group_detail", group_id=group_id))


# A meeting's check-in


def _meeting_day(text: str) -> date:
    if not _ISO_DAY.fullmatch(text):
        abort(404)
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)


def _open_ids(lines: Sequence[groups.RosterLine]) -> list[int]:
    """The members still to check in (a nightly `missed` mark can be replaced)."""
    return [ln.appointment.id for ln in lines if ln.recorded not in CHECKED_IN]


def _render_meeting(
    group: SessionGroup,
    day: date,
    lines: Sequence[groups.RosterLine],
    form: forms.MeetingForm,
    status: int = 200,
):
    today = clinic_today(group.clinic, clock.now())
    return _render(
        "staff/group_meeting.html",
        group=group,
        day=day,
        lines=lines,
        form=form,
        today=today,
        marks=forms.MEETING_MARKS,
    ), status


@bp.get("/groups/<int:group_id>/meetings/<on>")
@role_required(*ANY_STAFF)
def group_meeting(group_id: int, on: str):
    day = _meeting_day(on)
    group, lines = groups.view_roster(current_actor(), group_id, day, now=clock.now())
    form = forms.meeting_form(_open_ids(lines), formdata=None)
    return _render_meeting(group, day, lines, form)


@bp.post("/groups/<int:group_id>/meetings/<on>")
@role_required(*WRITERS)
def check_in_group_meeting(group_id: int, on: str):
    actor = current_actor()
    day = _meeting_day(on)
    group, lines = groups.roster(actor, group_id, day)
    form = forms.meeting_form(_open_ids(lines))
    outcomes, status = _submit(
        form,
        lambda: groups.check_in_meeting(
            actor,
            group_id,
            day,
            form.marks(request.form),
            now=clock.now(),
            reasons=form.reasons(),
        ),
    )
    if outcomes is None:
        return _render_meeting(group, day, lines, form, status)
    rows = _answers(group, lines, outcomes, clinic_today(group.clinic, clock.now()))
    return _render("staff/group_meeting_result.html", group=group, day=day, rows=rows)


@dataclass(frozen=True)
class Answer:
    """One member's line on the meeting's answer page."""

    appointment: Appointment
    mark: str
    earned: str
    next: str = ""
    result: CheckinResult | None = None


def _answers(
    group: SessionGroup,
    lines: Sequence[groups.RosterLine],
    outcomes: Sequence[groups.MemberOutcome],
    today: date,
) -> list[Answer]:
    by_id = {o.appointment.id: o for o in outcomes}
    return [
        _answer(group, line, by_id.get(line.appointment.id), today) for line in lines
    ]


def _answer(
    group: SessionGroup,
    line: groups.RosterLine,
    outcome: groups.MemberOutcome | None,
    today: date,
) -> Answer:
    appointment = line.appointment
    if outcome is None and line.recorded == "missed":
        return Answer(appointment, "missed", "nothing: missed")
    if outcome is None and line.recorded is not None:
        # Checked in before this form (another form, the API): left as it was.
        return Answer(appointment, line.recorded, "already recorded")
    if outcome is None:
        when = "tonight" if appointment.on == today else "at the next nightly run"
        return Answer(appointment, "not marked", f"nothing: marked missed {when}")
    if outcome.result is None:
        return Answer(appointment, outcome.mark, f"already recorded: {outcome.mark}")
    result = outcome.result
    return Answer(
        appointment,
        outcome.mark,
        earned_words(outcome.mark, result.posted),
        next_words(result.next_sessions, group.session_type),
        result,
    )


# A participant's booked sessions


def _book_form(today: date, **kwargs) -> forms.BookForm:
    form = forms.BookForm(**kwargs)
    if form.first_on.data is None and not form.first_on.raw_data:
        form.first_on.data = today
    return form


def _render_sessions(
    record: ParticipantRecord,
    book: forms.BookForm,
    status: int = 200,
    cancel: tuple[int, forms.CancelSessionForm] | None = None,
):
    booked = appointments.upcoming(
        record.participant.id, record.today, limit=UPCOMING_SHOWN
    )
    cancels = {
        a.id: forms.CancelSessionForm(prefix=f"cancel-{a.id}", formdata=None)
        for a in booked
    }
    if cancel is not None:
        cancels[cancel[0]] = cancel[1]
    evaluation = record.evaluation
    return _render(
        "staff/sessions.html",
        record=record,
        booked=booked,
        book=book,
        cancels=cancels,
        failed=cancel[1] if cancel else None,
        next_sessions=[session_words(s) for s in evaluation.next_sessions]
        if evaluation
        else [],
    ), status


@bp.get("/participants/<int:participant_id>/sessions")
@role_required(*ANY_STAFF)
def participant_sessions(participant_id: int):
    # The participant's record is read: audited as the record page is.
    record = participants.view_participant(
        current_actor(), participant_id, now=clock.now()
    )
    return _render_sessions(record, _book_form(record.today, formdata=None))


def _record_again(participant_id: int) -> ParticipantRecord:
    """The record shown again with a form's errors: no second view row."""
    return participants.participant_record(
        current_actor(), participant_id, now=clock.now()
    )


@bp.post("/participants/<int:participant_id>/sessions")
@role_required(*WRITERS)
def book_session(participant_id: int):
    actor = current_actor()
    form = forms.BookForm()
    booked, status = _submit(
        form,
        lambda: appointments.book(
            actor,
            participant_id,
            form.session_type.data,
            form.first_on.data,
            form.starts_at.data,
            now=clock.now(),
            weekly=bool(form.weekly.data),
            until=form.until.data,
        ),
    )
    if booked is None:
        return _render_sessions(_record_again(participant_id), form, status)
    flash(_booked_message(booked))
    return redirect(url_for(".participant_sessions", participant_id=participant_id))


def _day_list(days: Sequence[date]) -> str:
    return ", ".join(f"{on:%a %d %b %Y}" for on in days)


def _booked_message(booked: appointments.Booked) -> str:
    made = booked.appointments
    label = forms.SESSION_LABELS.get(made[0].session_type, made[0].session_type)
    plural = "" if len(made) == 1 else "s"
    message = f"Booked {len(made)} {label.lower()} session{plural}: "
    message += (
        _day_list([made[0].on])
        if len(made) == 1
        else (f"{made[0].on:%a %d %b %Y} to {made[-1].on:%a %d %b %Y}")
    )
    if booked.already:
        message += f". Already booked, left as they were: {_day_list(booked.already)}"
    return message + "."


@bp.post("/participants/<int:participant_id>/sessions/<int:appointment_id>/cancel")
@role_required(*WRITERS)
def cancel_session(participant_id: int, appointment_id: int):
    actor = current_actor()
    appointments.booked_session(actor, participant_id, appointment_id)
    form = forms.CancelSessionForm(prefix=f"cancel-{appointment_id}")
    done, status = _submit(
        form,
        lambda: appointments.cancel(
            actor, appointment_id, form.reason.data, now=clock.now()
        ),
    )
    if done is None:
        record = _record_again(participant_id)
        return _render_sessions(
            record,
            _book_form(record.today, formdata=None),
            status,
            (appointment_id, form),
        )
    label = forms.SESSION_LABELS.get(done.session_type, done.session_type)
    flash(f"Cancelled the {label.lower()} session on {done.on:%a %d %b %Y}.")
    return redirect(url_for(".participant_sessions", participant_id=participant_id))
