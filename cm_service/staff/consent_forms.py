"""Staff forms for consent to share (42 CFR Part 2): parsing and field messages
only; services/access/consents.py checks what is recorded and names the field it
refuses."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, StringField, TextAreaField

# types-WTForms 3.2 predates WTForms 3.3's SelectChoice.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..services.access.consents import PURPOSES, RECIPIENT_MAX, SHARES
from ..services.validation import REASON_MAX
from .forms import DATE_MESSAGE, DayField, MultiCheckboxField

PURPOSE_LABELS = {
    "treatment": "Treatment",
    "payment": "Payment",
    "operations": "Health-care operations",
    "research": "Research",
    "reminders": "Reminders (text message, e-mail)",
    "other": "Other (describe below)",
}
SHARE_LABELS = {
    "identity": "Identity (code and name)",
    "test_results": "Test results",
    "attendance": "Attendance",
    "incentives": "Incentives ledger",
}


class ConsentForm(FlaskForm):
    """A participant's signed consent to share, as written on the form."""

    recipient = StringField(
        "Recipient",
        validators=[
            DataRequired("Name the recipient, or the class of recipients."),
            Length(max=RECIPIENT_MAX),
        ],
    )
    recipient_kind = RadioField(
        "The consent names",
        choices=[
            SelectChoice("named", "One recipient (e.g. Los Angeles County DMH EHR)"),
            SelectChoice("class", "A class of recipients (e.g. my treating providers)"),
        ],
        default="named",
        validators=[InputRequired("Say whether it names one recipient or a class.")],
    )
    purposes = MultiCheckboxField(
        "Purposes",
        choices=[SelectChoice(k, PURPOSE_LABELS[k]) for k in PURPOSES],
        validators=[InputRequired("Choose at least one purpose.")],
    )
    purpose_note = TextAreaField(
        "The other purpose (only with Other)",
        validators=[Optional(), Length(max=REASON_MAX)],
    )
    shares = MultiCheckboxField(
        "What may be shared",
        choices=[SelectChoice(k, SHARE_LABELS[k]) for k in SHARES],
        validators=[InputRequired("Choose what may be shared.")],
    )
    signed_on = DayField("Signed on", validators=[InputRequired(DATE_MESSAGE)])
    expires_on = DayField("Expires on (optional)", validators=[Optional()])


class RevokeConsentForm(FlaskForm):
    """The written revocation of one consent."""

    revoked_on = DayField(
        "Date of the written revocation", validators=[InputRequired(DATE_MESSAGE)]
    )
    revocation_note = TextAreaField(
        "How it was revoked",
        validators=[
            DataRequired("Say how it was revoked (e.g. signed form)."),
            Length(max=REASON_MAX),
        ],
    )


def revoke_form(consent_id: int, today, **kwargs) -> RevokeConsentForm:
    """A Revoke form for one consent: its own prefix, dated today unless changed."""
    form = RevokeConsentForm(prefix=f"revoke-{consent_id}", **kwargs)
    if form.revoked_on.data is None and not form.revoked_on.raw_data:
        form.revoked_on.data = today
    return form
