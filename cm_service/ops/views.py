"""Operations pages: nightly runs, closures, pauses, safe mode and the reminders
that could not be sent (the outbox's dead letters)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, url_for
from sqlalchemy import select

from .. import clock
from ..auth import ANY_STAFF, current_actor, role_required
from ..extensions import db
from ..models import Clinic, ClinicClosure, Participant
from ..services.admin import clinics
from ..services.cm import closures, nightly
from ..services.cm.participants import CODE_PATTERN
from ..services.cm.timeline import clinic_today
from ..services.errors import CMError, InvalidInput
from ..services.integrations import outbox
from .forms import ClosureForm, ConfirmForm, PauseForm

bp = Blueprint("ops", __name__, url_prefix="/staff/ops")


# A run needs a look when it did not finish cleanly or when it did something.
UNSETTLED = ("failed", "held", "running")


def needs_attention(run) -> bool:
    """A run staff should see without unfolding the full table: failed, held or
    still running, or one that recorded something (a missed test, an award)."""
    return run.status in UNSETTLED or any(run.counts.values())


def _page(status: int = 200, **forms):
    actor = current_actor()
    clinic = db.session.get(Clinic, actor.clinic_id)
    today = clinic_today(clinic, clock.now())
    closures_ = db.session.scalars(
        select(ClinicClosure)
        .where(ClinicClosure.clinic_id == clinic.id)
        .order_by(ClinicClosure.closed_on.desc())
        .limit(30)
    ).all()
    runs = nightly.recent_runs(clinic.id)
    checks = nightly.recent_runs(clinic.id, 14, nightly.RECONCILE_JOB)
    closure_form = forms.get("closure_form") or ClosureForm(prefix="closure")
    pause_form = forms.get("pause_form") or PauseForm(prefix="pause")
    _today_default(closure_form.closed_on, today)
    _today_default(pause_form.starts_on, today)
    return render_template(
        "ops/index.html",
        clinic=clinic,
        runs=runs,
        attention=[run for run in runs if needs_attention(run)],
        checks=checks,
        checks_found=[
            run
            for run in checks
            if run.status in UNSETTLED or run.counts.get("reconcile_differences")
        ],
        closures=closures_,
        closure_form=closure_form,
        pause_form=pause_form,
        confirm=ConfirmForm(),
        dead_letters=outbox.dead_letters(actor),
        outbox_counts=outbox.counts_of(actor),
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
            return redirect(url_for("ops.index"))
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
            return redirect(url_for("ops.index"))
    return _page(422, pause_form=form)


@bp.post("/safe-mode")
@role_required("admin")
def toggle_safe_mode():
    form = ConfirmForm()
    if form.validate_on_submit():
        clinic = db.session.get(Clinic, current_actor().clinic_id)
        closures.set_safe_mode(current_actor(), not clinic.safe_mode, now=clock.now())
        flash("Safe mode is on." if clinic.safe_mode else "Safe mode is off.")
    return redirect(url_for("ops.index"))


@bp.post("/maker-checker")
@role_required("admin")
def toggle_maker_checker():
    form = ConfirmForm()
    if form.validate_on_submit():
        clinic = db.session.get(Clinic, current_actor().clinic_id)
        clinics.set_maker_checker(
            current_actor(), not clinic.maker_checker, now=clock.now()
        )
        flash(
            "Corrections now need a second staff member's approval."
            if clinic.maker_checker
            else "Corrections take effect at once."
        )
    return redirect(url_for("ops.index"))


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
    return redirect(url_for("ops.index"))


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
    return redirect(url_for("ops.index", _anchor="h-reminders"))


def _participant_by_code(code: str) -> Participant:
    typed = code.strip().upper()
    # Text no code can be (a NUL, a lone surrogate) is never looked up as one.
    participant = (
        db.session.scalar(
            select(Participant).where(
                Participant.clinic_id == current_actor().clinic_id,
                Participant.code == typed,
            )
        )
        if CODE_PATTERN.match(typed)
        else None
    )
    if participant is None:
        raise InvalidInput("code", f"No participant {code} in this clinic.")
    return participant


def _field_error(form, error: CMError) -> None:
    field = getattr(form, (error.field or "").split(".")[0], None)
    target = field if field is not None else form.reason
    target.errors = [*target.errors, error.message]
