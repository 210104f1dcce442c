"""Portal forms: parsing and field messages only, in the participant's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, PasswordField, StringField, TimeField
from wtforms.validators import DataRequired, InputRequired, Length, Regexp

from ..services.cm.participants import CODE_PATTERN, PIN_PATTERN


class LoginForm(FlaskForm):
    # No clinic field: the clinic comes from the login link (views.clinic_login).
    code = StringField(
        _l("Participant code"),
        description=_l("On your card, for example P-0042."),
        filters=[lambda value: (value or "").strip().upper()],
        validators=[
            DataRequired(_l("Enter your participant code.")),
            Length(max=40, message=_l("Enter your participant code, e.g. P-0042.")),
            Regexp(
                CODE_PATTERN, message=_l("Enter your participant code, e.g. P-0042.")
            ),
        ],
    )
    pin = PasswordField(
        _l("PIN"),
        description=_l("6 to 12 digits, given to you by staff."),
        validators=[
            DataRequired(_l("Enter your PIN.")),
            Regexp(PIN_PATTERN, message=_l("Your PIN is 6 to 12 digits.")),
        ],
    )


class LanguageForm(FlaskForm):
    # Rendered as one submit button per language (name="language"), so it works
    # without JavaScript; `next` brings the participant back to the same page.
    language = HiddenField()
    next = HiddenField()


class ReminderForm(FlaskForm):
    """The participant's reminder choices: a channel staff set up can be switched
    off (or on again), the wording and the quiet hours chosen."""

    sms = BooleanField(_l("Text messages"))
    email = BooleanField(_l("E-mails"))
    explicit = BooleanField(_l("Name my tests in the messages"))
    quiet_from = TimeField(
        _l("Quiet hours from"),
        validators=[InputRequired(_l("Enter a time, e.g. 21:00."))],
    )
    quiet_until = TimeField(
        _l("Quiet hours until"),
        validators=[InputRequired(_l("Enter a time, e.g. 08:00."))],
    )
