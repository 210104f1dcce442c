"""Operations pages: nightly runs, closures, pauses, safe mode and the reminders
that could not be sent (the outbox's dead letters)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, flash, redirect, render_template, url_for

from .. import clock
from ..auth import ANY_STAFF, current_actor, role_required
from ..services.admin import clinics
from ..services.cm import closures, participants
from ..services.errors import CMError, InvalidInput
from ..services.integrations import outbox
from ..services.reads import operations
from .ops_forms import ClosureForm, ConfirmForm, PauseForm

if TYPE_CHECKING:
    from ..models import Participant

bp = Blueprint("ops", __name__, url_prefix="/ops")


def _page(status: int = 200, **forms):
    page = operations.operations(current_actor(), clock.now())
    closure_form = forms.get("closure_form") or ClosureForm(prefix="closure")
    pause_form = forms.get("pause_form") or PauseForm(prefix="pause")
    _today_default(closure_form.closed_on, page.today)
    _today_default(pause_form.starts_on, page.today)
    return render_template(
        "staff/ops.html",
        clinic=page.clinic,
        runs=page.runs,
        attention=page.attention,
        checks=page.checks,
        checks_found=page.checks_found,
        closures=page.closures,
        dead_letters=page.dead_letters,
        outbox_counts=page.outbox_counts,
        closure_form=closure_form,
        pause_form=pause_form,
        confirm=ConfirmForm(),
    ), status


def _today_default(field, today: date) -> None:
    """A blank date field of a form not yet sent starts on the clinic's today."""
    if field.data is None and not field.raw_data:
        field.data = today


@bp.get("/")
@role_required(*ANY_STAFF)
def index():
    return _page()


@bp.post("/closures")
@role_required("admin")
def add_closure():
    form = ClosureForm(prefix="closure")
    if form.validate_on_submit():
        try:
            closures.add_closure(
                current_actor(), form.closed_on.data, form.reason.data, now=clock.now()
            )
        except CMError as error:
            _field_error(form, error)
        else:
            flash(f"Closed on {form.closed_on.data}: tests that day are excused.")
            return redirect(url_for(".index"))
    return _page(422, closure_form=form)


@bp.post("/pauses")
@role_required("admin", "staff")
def add_pause():
    form = PauseForm(prefix="pause")
    if form.validate_on_submit():
        try:
            participant = _participant_by_code(form.code.data)
            closures.pause_participant(
                current_actor(),
                participant.id,
                form.starts_on.data,
                form.ends_on.data,
                form.reason.data,
                now=clock.now(),
            )
        except CMError as error:
            _field_error(form, error)
        else:
            flash(f"{participant.code} is paused: tests in the pause are excused.")
            return redirect(url_for(".index"))
    return _page(422, pause_form=form)


@bp.post("/safe-mode")
@role_required("admin")
def toggle_safe_mode():
    form = ConfirmForm()
    if form.validate_on_submit():
        clinic = clinics.own_clinic(current_actor())
        closures.set_safe_mode(current_actor(), not clinic.safe_mode, now=clock.now())
        flash("Safe mode is on." if clinic.safe_mode else "Safe mode is off.")
    return redirect(url_for(".index"))


@bp.post("/maker-checker")
@role_required("admin")
def toggle_maker_checker():
    form = ConfirmForm()
    if form.validate_on_submit():
        clinic = clinics.own_clinic(current_actor())
        clinics.set_maker_checker(
            current_actor(), not clinic.maker_checker, now=clock.now()
        )
        flash(
            "Corrections now need a second staff member's approval."
            if clinic.maker_checker
            else "Corrections take effect at once."
        )
    return redirect(url_for(".index"))


@bp.post("/held/<day>/release")
@role_required("admin")
def release_held(day: str):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            closures.release_held_day(
                current_actor(), date.fromisoformat(day), now=clock.now()
            )
        except ValueError:
            return _page(404)
        except CMError as error:
            flash(error.message)
        else:
            flash(f"{day} will be closed by the next nightly run.")
    return redirect(url_for(".index"))


@bp.post("/outbox/<int:message_id>/retry")
@role_required("admin", "staff")
def retry_message(message_id: int):
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            outbox.retry(current_actor(), message_id, now=clock.now())
        except CMError as error:
            if error.status == 404:
                return _page(404)
            flash(error.message)
        else:
            flash("The reminder is queued again: the next outbox run sends it.")
    return redirect(url_for(".index", _anchor="h-reminders"))


def _participant_by_code(code: str) -> Participant:
    participant = participants.participant_with_code(current_actor().clinic_id, code)
    if participant is None:
        raise InvalidInput("code", f"No participant {code} in this clinic.")
    return participant


def _field_error(form, error: CMError) -> None:
    field = getattr(form, (error.field or "").split(".")[0], None)
    target = field if field is not None else form.reason
    target.errors = [*target.errors, error.message]
