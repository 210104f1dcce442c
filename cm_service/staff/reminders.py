"""The participant's reminders, for staff: record the opt-in per channel (with the
consent for reminders it rests on), contact details, quiet hours, time zone and
wording, and see what was sent (services/integrations/reminders.py, docs/reminders.md).
These routes join the staff blueprint (`web.init_app` imports this module).
"""

from __future__ import annotations

from datetime import time

from flask import flash, redirect, render_template, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, StringField, TimeField
from wtforms.validators import InputRequired, Length, Optional

from .. import clock
from ..auth import ANY_STAFF, WRITERS, current_actor, role_required
from ..services.errors import CMError
from ..services.integrations import outbox, reminders
from .common import show_error
from .participants import bp


class ReminderForm(FlaskForm):
    sms = BooleanField("Text-message reminders")
    phone = StringField(
        "Mobile number",
        description="US numbers as (555) 123-4567; others with +country code.",
        validators=[Length(max=40)],
    )
    email = BooleanField("E-mail reminders")
    email_address = StringField("E-mail address", validators=[Length(max=254)])
    signed_on = DateField(
        "Consent for reminders signed on",
        description="Needed to switch a channel on when no consent for reminders "
        "is in force; it is recorded with the participant's other consents.",
        validators=[Optional()],
    )
    quiet_from = TimeField(
        "Quiet hours from",
        validators=[InputRequired("Enter when quiet hours begin, e.g. 21:00.")],
    )
    quiet_until = TimeField(
        "Quiet hours until",
        validators=[InputRequired("Enter when quiet hours end, e.g. 08:00.")],
    )
    timezone = StringField(
        "Participant's time zone",
        description="Blank: the clinic's. For example America/Los_Angeles.",
        validators=[Length(max=64)],
    )
    explicit = BooleanField(
        "Explicit wording: the participant chose messages that name their tests"
    )


def _filled(prefs: reminders.Preferences) -> ReminderForm:
    form = ReminderForm(formdata=None)
    form.sms.data, form.phone.data = prefs.on("sms"), prefs.address("sms")
    form.email.data = prefs.on("email")
    form.email_address.data = prefs.address("email")
    form.quiet_from.data = prefs.setting.quiet_from
    form.quiet_until.data = prefs.setting.quiet_until
    form.timezone.data = prefs.setting.timezone or ""
    form.explicit.data = prefs.setting.explicit
    return form


def _page(participant_id: int, form: ReminderForm | None = None, status: int = 200):
    actor = current_actor()
    prefs = reminders.preferences(
        actor, participant_id, now=clock.now(), again=form is not None
    )
    return render_template(
        "staff/reminders.html",
        p=prefs.participant,
        prefs=prefs,
        form=form or _filled(prefs),
        messages=outbox.messages_of(actor, participant_id),
        channel_names=reminders.CHANNEL_NAMES,
    ), status


@bp.get("/participants/<int:participant_id>/reminders")
@role_required(*ANY_STAFF)
def participant_reminders(participant_id: int):
    return _page(participant_id)


@bp.post("/participants/<int:participant_id>/reminders")
@role_required(*WRITERS)
def save_reminders(participant_id: int):
    form = ReminderForm()
    if form.validate():
        choices = reminders.Choices(
            sms=form.sms.data,
            phone=form.phone.data or "",
            email=form.email.data,
            email_address=form.email_address.data or "",
            signed_on=form.signed_on.data,
            quiet_from=form.quiet_from.data or time(21),
            quiet_until=form.quiet_until.data or time(8),
            explicit=form.explicit.data,
            timezone=form.timezone.data or "",
        )
        try:
            reminders.save(current_actor(), participant_id, choices, now=clock.now())
        except CMError as error:
            if error.status == 404:
                raise
            show_error(form, error)
        else:
            flash("Reminder choices saved.")
            return redirect(
                url_for(".participant_reminders", participant_id=participant_id)
            )
    return _page(participant_id, form, 422)
