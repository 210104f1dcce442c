"""The Today board and the check-in: record a visit, see what it earned."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from flask import (
    Blueprint,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.cm import (
    checkins,
)
from ..services.errors import CMError, InvalidInput
from ..services.reads import board
from . import forms
from .common import show_error, typed_date

bp = Blueprint("today", __name__)
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DaySwitch:
    """The board's day switch: which of its links is the page shown, and the
    message a bad `?day=` or `?week=` gets."""

    today: date
    shown: date | None = None  # the day on the board; None for a week
    week_start: date | None = None
    error: str | None = None

    @property
    def value(self) -> date:
        return self.shown or self.week_start or self.today

    @property
    def title(self) -> str:
        names = {self.today: "Today", self.today - ONE_DAY: "Yesterday"}
        return {**names, self.today + ONE_DAY: "Tomorrow"}.get(self.shown, "Day")

    def links(self) -> list[tuple[str, str, bool]]:
        before, after = self.today - ONE_DAY, self.today + ONE_DAY
        monday = self.today - timedelta(days=self.today.weekday())
        return [
            (
                "Yesterday",
                url_for(".today", day=before.isoformat()),
                self.shown == before,
            ),
            ("Today", url_for(".today"), self.shown == self.today),
            (
                "Tomorrow",
                url_for(".today", day=after.isoformat()),
                self.shown == after,
            ),
            ("This week", url_for(".today", week=1), self.week_start == monday),
        ]


# A participant id no URL holds otherwise: a link built for it is cut there into
# the link's head and tail, which make the link for any id (`_per_participant`).
_MARK = 987_654_321_012_345


def _per_participant(endpoint: str, **values: str) -> Callable[[int], str]:
    """url_for(endpoint, participant_id=pid, **values) for every pid, built once:
    a board links each of its hundreds of rows (the id is the path's integer)."""
    head, _, tail = url_for(endpoint, participant_id=_MARK, **values).partition(
        str(_MARK)
    )
    return lambda pid: f"{head}{pid}{tail}"


@dataclass(frozen=True)
class BoardLinks:
    """Where the board's codes lead, per participant id: `visit` from the day's
    lists (today's check-in; a past day's, dated that day; a day ahead's record),
    `checkin` today's check-in, `record` the participant's record."""

    visit: Callable[[int], str]
    checkin: Callable[[int], str]
    record: Callable[[int], str]


def _links(shown: board.Board) -> BoardLinks:
    checkin = _per_participant(".checkin")
    record = _per_participant("staff.participants.participant_detail")
    visit = {"future": record, "today": checkin}.get(shown.when)
    if visit is None:  # a past day: the check-in dated that day
        visit = _per_participant(".checkin", on=shown.day.isoformat())
    return BoardLinks(visit, checkin, record)


@bp.get("/today")
@role_required(*ANY_STAFF)
def today():
    """The board of a day (`?day=YYYY-MM-DD`, default today) or of the week
    holding it (`?week=1`); a bad date shows today's board with the message."""
    actor = current_actor()
    try:
        template, shown = _board_of(actor, request.args)
        status = 200
    except InvalidInput as bad:
        day = board.day_board(actor, now=clock.now())
        template, status = "staff/today.html", 422
        shown = {
            "board": day,
            "switch": DaySwitch(day.today, day.day, error=bad.message),
            "links": _links(day),
        }
    return render_template(
        template,
        **shown,
        find=forms.FindForm(formdata=None),
        codes=board.participant_codes(actor),
    ), status


def _board_of(actor, args) -> tuple[str, dict]:
    day = typed_date(args.get("day"))
    week = args.get("week")
    if week is None:
        shown = board.day_board(actor, now=clock.now(), day=day)
        switch = DaySwitch(shown.today, shown.day)
        links = _links(shown)
        return "staff/today.html", {"board": shown, "switch": switch, "links": links}
    if week != "1":
        raise InvalidInput("week", "Choose a week with week=1.")
    shown = board.week_board(actor, now=clock.now(), day=day)
    switch = DaySwitch(shown.today, week_start=shown.start)
    return "staff/week.html", {"week": shown, "switch": switch}


@bp.get("/checkin")
@role_required(*ANY_STAFF)
def checkin_find():
    actor = current_actor()
    form = forms.FindForm(request.args)
    status, choices = 200, []
    if request.args:
        if form.validate():
            choices = board.match_codes(actor, form.code.data)
            if len(choices) == 1:
                return redirect(url_for(".checkin", participant_id=choices[0].id))
            if not choices:
                form.code.errors.append("No participant with that code in this clinic.")
                status = 404
        else:
            status = 422
    codes = board.participant_codes(actor)
    return render_template(
        "staff/checkin_find.html",
        find=form,
        codes=codes,
        choices=choices[: board.MAX_CHOICES],
        more=len(choices) > board.MAX_CHOICES,
    ), status


def _checkin_forms(standing: board.Standing, late=None, **submitted) -> dict:
    """Blank check-in forms dated today, or dated and filled as `late` says (a
    late check-in from the board: its day and, for a session, its type)."""
    day, session_type = late or (standing.today, None)
    data = {"formdata": None}
    built = {
        "specimen": forms.specimen_form(standing.targets, prefix="s", **data),
        "all_negative": forms.AllNegativeForm(prefix="n", **data),
        "attendance": forms.AttendanceForm(prefix="a", **data),
        "excuse": forms.ExcuseForm(prefix="e", **data),
    }
    for form in built.values():
        forms.today_default(form, day)
        form.nonce.data = uuid.uuid4().hex
    if session_type:
        built["attendance"].session_type.data = session_type
        built["attendance"].late.data = True
        built["excuse"].session_type.data = session_type
    built.update(submitted)
    return built


def _late_checkin(today: date, args) -> tuple[date, str | None] | None:
    """`?on=YYYY-MM-DD[&session=TYPE]` from a board's missed list: a past day in
    range and a known session type, or None (the forms open on today)."""
    day = typed_date(args.get("on"))
    try:
        day = board.check_day(day, today)
    except InvalidInput:
        return None
    session_type = args.get("session")
    if day > today:
        return None
    return day, session_type if session_type in forms.SESSION_TYPES else None


def _render_checkin(standing: board.Standing, status: int = 200, **submitted):
    return render_template(
        "staff/checkin.html",
        standing=standing,
        **_checkin_forms(standing, **submitted),
    ), status


@bp.get("/participants/<int:participant_id>/checkin")
@role_required(*ANY_STAFF)
def checkin(participant_id: int):
    standing = board.checkin_standing(current_actor(), participant_id, now=clock.now())
    return _render_checkin(standing, late=_late_checkin(standing.today, request.args))


def _record(participant_id: int, name: str, form: FlaskForm, call):
    """Validate `form`, call the check-in service, redirect to what it paid."""
    actor = current_actor()
    if form.validate():
        try:
            result = call(actor)
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error, {"collected_on": "on"})
        else:
            return redirect(url_for(".checkin_result", event_id=result.event.id))
    standing = board.current_standing(actor, participant_id, now=clock.now())
    return _render_checkin(standing, 422, **{name: form})


@bp.post("/participants/<int:participant_id>/checkin/specimen")
@role_required(*WRITERS)
def record_specimen(participant_id: int):
    actor = current_actor()
    targets = board.checkin_targets(actor, participant_id)
    form = forms.specimen_form(targets, prefix="s")
    return _record(
        participant_id,
        "specimen",
        form,
        lambda actor: checkins.record_specimen(
            actor,
            participant_id,
            form.collected_on.data,
            {} if form.refused.data else form.results(),
            now=clock.now(),
            refused=bool(form.refused.data),
            brac_milli=form.brac_milli(),
            nonce=form.nonce.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/negative")
@role_required(*WRITERS)
def record_all_negative(participant_id: int):
    actor = current_actor()
    targets = board.checkin_targets(actor, participant_id)
    form = forms.AllNegativeForm(prefix="n")
    return _record(
        participant_id,
        "all_negative",
        form,
        lambda actor: checkins.record_specimen(
            actor,
            participant_id,
            form.collected_on.data,
            dict.fromkeys(targets, "negative"),
            now=clock.now(),
            nonce=form.nonce.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/attendance")
@role_required(*WRITERS)
def record_attendance(participant_id: int):
    form = forms.AttendanceForm(prefix="a")
    return _record(
        participant_id,
        "attendance",
        form,
        lambda actor: checkins.record_attendance(
            actor,
            participant_id,
            form.on.data,
            form.session_type.data,
            now=clock.now(),
            nonce=form.nonce.data or None,
            late=bool(form.late.data),
            verification=form.verification.data or None,
            verification_note=form.verification_note.data or None,
        ),
    )


@bp.post("/participants/<int:participant_id>/checkin/excuse")
@role_required(*WRITERS)
def excuse_day(participant_id: int):
    form = forms.ExcuseForm(prefix="e")
    return _record(
        participant_id,
        "excuse",
        form,
        lambda actor: (
            checkins.excuse_session(
                actor,
                participant_id,
                form.on.data,
                form.session_type.data,
                form.reason.data,
                now=clock.now(),
                nonce=form.nonce.data or None,
            )
            if form.session_type.data
            else checkins.excuse_day(
                actor,
                participant_id,
                form.on.data,
                form.reason.data,
                now=clock.now(),
                nonce=form.nonce.data or None,
            )
        ),
    )


@bp.get("/checkins/<int:event_id>")
@role_required(*ANY_STAFF)
def checkin_result(event_id: int):
    outcome = board.checkin_outcome(current_actor(), event_id, now=clock.now())
    return render_template("staff/checkin_result.html", outcome=outcome)
