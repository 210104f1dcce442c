"""Staff pages for funding programs (docs/funding.md): the clinic's programs and
their caps, added by admins from a form or a preset in one click, and a
participant's enrollments funded by a program for a period. These routes join
the staff blueprint (`web.init_app` imports this module).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from .. import clock
from ..auth import ADMINS, ANY_STAFF, WRITERS, current_actor, role_required
from ..services.cm import funding
from ..services.errors import CMError, InvalidInput
from .common import show_error
from .forms import MoneyField

bp = Blueprint("funding", __name__)


class ProgramForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Name the program."), Length(max=120)]
    )
    per_award = MoneyField(
        "Cap per award in dollars",
        description="Everything one test or session earns. Blank: no such cap.",
    )
    per_month = MoneyField("Cap per calendar month in dollars")
    per_year = MoneyField(
        "Cap per calendar year in dollars",
        description="Counts every award the program paid the participant that"
        " year, in all their enrollments.",
    )
    non_cash_only = BooleanField(
        "Non-cash incentives only (refuse cash and gift cards)"
    )
    source = TextAreaField(
        "Source",
        description="The letter, opinion or rule the caps come from.",
        validators=[Length(max=1000)],
    )


class EndForm(FlaskForm):
    ends_on = DateField(
        "Last day funded", validators=[InputRequired("Enter the last day it funds.")]
    )


class PresetForm(FlaskForm):
    preset = StringField(validators=[InputRequired()])


class AssignForm(FlaskForm):
    enrollment = SelectField("Enrollment", coerce=int)
    program = SelectField("Program", coerce=int)
    starts_on = DateField(
        "Funds from", validators=[InputRequired("Enter the first day it funds.")]
    )
    ends_on = DateField(
        "Funds until", description="Blank: open.", validators=[Optional()]
    )


def _render_programs(status: int = 200, form=None):
    actor = current_actor()
    taken = {p.preset for p in funding.programs(actor)}
    return render_template(
        "staff/funding.html",
        programs=funding.programs(actor),
        presets=[p for p in funding.PRESETS if p.key not in taken],
        form=form or ProgramForm(formdata=None),
    ), status


@bp.get("/funding")
@role_required(*ANY_STAFF)
def funding_programs():
    return _render_programs()


@bp.post("/funding")
@role_required(*ADMINS)
def add_funding_program():
    form = ProgramForm()
    if not form.validate():
        return _render_programs(422, form)
    try:
        program = funding.add_program(
            current_actor(),
            form.name.data,
            per_award_cents=form.per_award.data,
            per_month_cents=form.per_month.data,
            per_year_cents=form.per_year.data,
            non_cash_only=form.non_cash_only.data,
            source=form.source.data or "",
            now=clock.now(),
        )
    except CMError as error:
        show_error(
            form,
            error,
            {
                "per_award_cents": "per_award",
                "per_month_cents": "per_month",
                "per_year_cents": "per_year",
            },
        )
        return _render_programs(error.status, form)
    flash(f"Added {program.name}.")
    return redirect(url_for(".funding_programs"))


@bp.post("/funding/presets")
@role_required(*ADMINS)
def add_funding_preset():
    form = PresetForm()
    try:
        if not form.validate():
            raise InvalidInput("preset", "Choose a preset.")
        program = funding.add_preset(current_actor(), form.preset.data, now=clock.now())
    except CMError as error:
        page = ProgramForm(formdata=None)
        page.form_errors.append(error.message)
        return _render_programs(error.status, page)
    flash(f"Added {program.name}.")
    return redirect(url_for(".funding_programs"))


def _render_assign(
    participant_id: int, status: int = 200, form=None, end=None, end_for=None
):
    page = funding.funding_page(current_actor(), participant_id)
    if form is None:
        form = AssignForm(formdata=None)
        form.starts_on.data = None
    form.enrollment.choices = [
        (e.id, f"{e.protocol.name} from {e.start_on.isoformat()}")
        for e, _ in page.enrollments
    ]
    form.program.choices = [(p.id, p.name) for p in page.programs]
    return render_template(
        "staff/funding_assign.html",
        page=page,
        p=page.participant,
        form=form,
        end=end,
        end_for=end_for,
    ), status


@bp.get("/participants/<int:participant_id>/funding")
@role_required(*ANY_STAFF)
def participant_funding(participant_id: int):
    return _render_assign(participant_id)


@bp.post("/participants/<int:participant_id>/funding")
@role_required(*WRITERS)
def assign_funding(participant_id: int):
    form = AssignForm()
    page = funding.funding_page(current_actor(), participant_id)
    form.enrollment.choices = [(e.id, "") for e, _ in page.enrollments]
    form.program.choices = [(p.id, "") for p in page.programs]
    if not form.validate():
        return _render_assign(participant_id, 422, form)
    if form.enrollment.data not in {e.id for e, _ in page.enrollments}:
        form.enrollment.errors = ["Choose one of this participant's enrollments."]
        return _render_assign(participant_id, 422, form)
    try:
        funding.assign(
            current_actor(),
            form.enrollment.data,
            form.program.data,
            form.starts_on.data,
            form.ends_on.data,
            now=clock.now(),
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _render_assign(participant_id, error.status, form)
    flash("Funding recorded.")
    return redirect(url_for(".participant_funding", participant_id=participant_id))


@bp.post("/participants/<int:participant_id>/funding/<int:period_id>/end")
@role_required(*WRITERS)
def end_funding(participant_id: int, period_id: int):
    form = EndForm()
    page = funding.funding_page(current_actor(), participant_id)
    if period_id not in {f.id for _, periods in page.enrollments for f in periods}:
        abort(404)
    if not form.validate():
        return _render_assign(participant_id, 422, end=form, end_for=period_id)
    try:
        funding.end_period(
            current_actor(), period_id, form.ends_on.data, now=clock.now()
        )
    except CMError as error:
        if error.status == 404:
            raise
        show_error(form, error)
        return _render_assign(participant_id, error.status, end=form, end_for=period_id)
    flash("Funding period ended.")
    return redirect(url_for(".participant_funding", participant_id=participant_id))
