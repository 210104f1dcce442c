"""Participants and their enrolment: the list, registering, the record, exemptions."""

from __future__ import annotations

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    url_for,
)
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.admin import clinics
from ..services.admin.protocol_admin import protocol_label
from ..services.cm import (
    exemptions,
    participants,
)
from ..services.cm.timeline import clinic_today
from ..services.errors import CMError
from ..services.reads import board, records
from . import forms
from .common import show_error

bp = Blueprint("participants", __name__)


@bp.get("/participants")
@role_required(*ANY_STAFF)
def participants_list():
    now = clock.now()
    rows = participants.view_participant_list(current_actor(), now=now)
    today = clinic_today(current_user.clinic, now)
    return render_template("staff/participants.html", rows=rows, today=today)


@bp.get("/participants/<int:participant_id>")
@role_required(*ANY_STAFF)
def participant_detail(participant_id: int):
    return render_record(participant_id)


def render_record(
    participant_id: int,
    status: int = 200,
    adjust=None,
    *,
    again=False,
    access=None,
    **submitted,
):
    """The record page; `again` shows it with a submitted form's errors without a
    second "view" audit row (`submitted`: `exemption`, or `end` as (id, form);
    `access`: the portal-access forms, `pin_form` and `language_form`)."""
    read = records.record_again if again else records.view_record
    full = read(current_actor(), participant_id, now=clock.now())
    return render_template(
        "staff/participant_detail.html",
        full=full,
        record=full.record,
        adjust=adjust or forms.AdjustForm(formdata=None),
        **_access_forms(full.record.participant, **(access or {})),
        **_exemption_forms(full.record, **submitted),
    ), status


def _access_forms(participant, pin_form=None, language_form=None) -> dict:
    """The portal-access forms: a new PIN, and the language (set to the current)."""
    if language_form is None:
        language_form = forms.LanguageForm(formdata=None)
        language_form.language.data = participant.language or "en"
    pin_form = pin_form or forms.PinForm(formdata=None)
    return {"pin_form": pin_form, "language_form": language_form}


def _exemption_forms(record, exemption=None, end=None) -> dict:
    """The add form, and an End form for each exemption still in force."""
    today = record.today
    ends = {
        x.id: forms.end_exemption_form(x, today, formdata=None)
        for x in record.exemptions
        if x.ends_on is None or x.ends_on >= today
    }
    if end is not None:
        exemption_id, form = end
        named = next((x for x in record.exemptions if x.id == exemption_id), None)
        if named is not None:
            form.ends_on.label.text = forms.exempt_until_label(named.analyte)
        ends[exemption_id] = form
    if exemption is None:
        exemption = forms.ExemptionForm(prefix="x", formdata=None)
        forms.today_default(exemption, today)
    return {"exemption": exemption, "ends": ends}


def ledger_change(entries) -> str:
    if not entries:
        return "The ledger did not change."
    total = sum(e.amount for e in entries if e.account == "points")
    draws = sum(e.amount for e in entries if e.account == "draws")
    parts = [f"{total:+d} points"] if total else []
    parts += [f"{draws:+d} draws"] if draws else []
    return "Ledger adjusted: " + (", ".join(parts) or "no change") + "."


@bp.post("/participants/<int:participant_id>/exemptions")
@role_required(*WRITERS)
def add_exemption(participant_id: int):
    form = forms.ExemptionForm(prefix="x")
    status = 422
    if form.validate():
        try:
            done = exemptions.add_exemption(
                current_actor(),
                participant_id,
                form.analyte.data,
                form.medication.data,
                form.starts_on.data,
                now=clock.now(),
                ends_on=form.ends_on.data,
                prescriber=form.prescriber.data or None,
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            status = error.status
        else:
            flash("Exemption added. " + ledger_change(done.posted))
            return redirect(record_url(participant_id))
    return render_record(participant_id, status, again=True, exemption=form)


@bp.post("/participants/<int:participant_id>/exemptions/<int:exemption_id>/end")
@role_required(*WRITERS)
def end_exemption(participant_id: int, exemption_id: int):
    form = forms.EndExemptionForm(prefix=f"end-{exemption_id}")
    status = 422
    if form.validate():
        try:
            done = exemptions.end_exemption(
                current_actor(),
                participant_id,
                exemption_id,
                form.ends_on.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
            status = error.status
        else:
            flash("Exemption ended. " + ledger_change(done.posted))
            return redirect(record_url(participant_id))
    else:
        # Bad input for an exemption that is not this participant's is still a 404.
        exemptions.exemption_of(current_actor(), participant_id, exemption_id)
    return render_record(participant_id, status, again=True, end=(exemption_id, form))


@bp.route("/participants/new", methods=["GET", "POST"])
@role_required(*WRITERS)
def register():
    form = forms.RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            person = participants.register_participant(
                current_actor(),
                current_user.clinic_id,
                form.code.data,
                now=clock.now(),
                display_name=form.display_name.data,
                pin=form.pin.data or None,
            )
        except CMError as error:
            show_error(form, error)
            status = error.status
        else:
            flash(f"Registered {person.code}. Enrol them on a protocol next.")
            return redirect(url_for(".enroll", participant_id=person.id))
    elif form.is_submitted():
        status = 422
    return render_template("staff/register.html", form=form), status


def _protocol_choices(actor) -> list[SelectChoice]:
    versions = clinics.protocols_of(actor.clinic_id)
    return [SelectChoice("", "Choose…")] + [
        SelectChoice(str(p.id), f"{protocol_label(p)} (v{p.version})") for p in versions
    ]


@bp.route("/participants/<int:participant_id>/enroll", methods=["GET", "POST"])
@role_required(*WRITERS)
def enroll(participant_id: int):
    actor = current_actor()
    standing = board.current_standing(actor, participant_id, now=clock.now())
    form = forms.EnrollForm()
    form.protocol.choices = _protocol_choices(actor)
    end = forms.EndForm(formdata=None)
    forms.today_default(end, standing.today)
    if not form.is_submitted():
        forms.today_default(form, standing.today)
    status = 200
    if form.validate_on_submit():
        try:
            _enroll_with(actor, participant_id, form)
        except CMError as error:
            show_error(form, error, _ENROLL_FIELDS)
            status = error.status
        else:
            flash("Enrolled.")
            return redirect(record_url(participant_id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "staff/enroll.html", standing=standing, form=form, end=end
    ), status


_ENROLL_FIELDS = {
    "participant": "protocol",
    "exemptions[0].analyte": "exempt_analyte",
    "exemptions[0].medication": "exempt_medication",
    "exemptions[0].starts_on": "exempt_from",
    "exemptions[0].ends_on": "exempt_until",
}


def _enroll_with(actor, participant_id: int, form: forms.EnrollForm) -> None:
    protocol_id = forms.chosen_id(form.protocol.data)
    days = [int(d) for d in form.testing_days.data]
    phases = next(
        (
            len(p.spec["phases"])
            for p in clinics.protocols_of(actor.clinic_id)
            if p.id == protocol_id
        ),
        0,
    )
    participants.enroll(
        actor,
        participant_id,
        protocol_id,
        form.start_on.data,
        now=clock.now(),
        testing_days=dict.fromkeys(range(phases), days) if days else None,
        targets=form.targets.data or None,
        exemptions=form.exemptions(),
    )


@bp.post("/participants/<int:participant_id>/end")
@role_required(*WRITERS)
def end_enrollment(participant_id: int):
    actor = current_actor()
    end = forms.EndForm()
    if end.validate():
        try:
            participants.end_enrollment(
                actor,
                participant_id,
                end.status.data,
                end.ends_on.data,
                now=clock.now(),
            )
        except CMError as error:
            if error.status == 404:
                raise
            show_error(end, error)
        else:
            flash(f"Enrollment {end.status.data}.")
            return redirect(record_url(participant_id))
    standing = board.current_standing(actor, participant_id, now=clock.now())
    form = forms.EnrollForm(formdata=None)
    form.protocol.choices = _protocol_choices(actor)
    status = 409 if end.form_errors else 422
    return render_template(
        "staff/enroll.html", standing=standing, form=form, end=end
    ), status


def record_url(participant_id: int) -> str:
    """The participant's record, where a correction or redemption goes back to."""
    return url_for(
        "staff.participants.participant_detail", participant_id=participant_id
    )
