"""Staff forms: parsing and field-level messages only.

Business validation lives in the services; a service's InvalidInput(field) comes back
to the form field of the same name (see `views._show_error`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import date

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)

# types-WTForms 3.2 predates WTForms 3.3's SelectChoice.
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]
from wtforms.validators import (
    DataRequired,
    EqualTo,
    InputRequired,
    Length,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..models import VERIFICATIONS
from ..rules.facts import RESULT_VALUES
from ..rules.money import format_cents
from ..rules.substances import substance_label, substance_words
from ..services.cm.checkins import ANALYTES, NONCE, OFF_SITE_TYPES, SESSION_TYPES
from ..services.cm.pricing import MAX_PRICE_CENTS
from ..services.validation import INT_MAX, MAX_DEPTH, too_deep

# What a technician reads off a cup; "insufficient" is recorded as refused.
SPECIMEN_RESULTS = tuple(r for r in RESULT_VALUES if r != "insufficient")
SESSION_LABELS = {
    "individual": "Individual counselling",
    "group": "Group",
    "cbt": "CBT",
    "family": "Family",
    "twelve_step": "12-step",
    "other": "Other",
}
REFUSED_WITH_RESULTS = (
    "Untick Refused or clear the results: a refused specimen has no results."
)
VERIFICATION_LABELS = {
    "signed_slip": "Signed slip",
    "phone_call": "Phone call",
    "note": "Note",
}
_BRAC = re.compile(r"^(0?\.\d{1,3}|0)$")
DATE_MESSAGE = "Enter the date as YYYY-MM-DD."


class LoginForm(FlaskForm):
    username = StringField(
        "Username", validators=[DataRequired("Enter your username."), Length(max=80)]
    )
    password = PasswordField(
        "Password", validators=[DataRequired("Enter your password."), Length(max=256)]
    )


class CodeForm(FlaskForm):
    """The second step of logging in, and the confirmation of a new authenticator."""

    code = StringField(
        "Code",
        validators=[DataRequired("Enter the code."), Length(max=32)],
        description="The 6-digit code from your authenticator app, or a recovery code.",
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=256)],
    )
    new_password = PasswordField(
        "New password",
        validators=[DataRequired("Enter a new password."), Length(max=256)],
        description="At least 12 characters; a phrase of several words works well.",
    )
    confirm = PasswordField(
        "New password again",
        validators=[
            DataRequired("Enter the new password again."),
            EqualTo("new_password", "The two new passwords differ."),
        ],
    )


class PasswordConfirmForm(FlaskForm):
    """Re-enter the password before a change to the account's security."""

    password = PasswordField(
        "Current password",
        validators=[DataRequired("Enter your current password."), Length(max=256)],
    )


class FindForm(FlaskForm):
    """The check-in search: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    code = StringField(
        "Participant code",
        validators=[DataRequired("Enter a participant code."), Length(max=40)],
    )


class DayField(DateField):
    """A date input whose parse error says what to type."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(DATE_MESSAGE) from None


class WholeField(IntegerField):
    """A whole-number input whose parse error says what to type; blank is None."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number, e.g. 25 or -25.") from None


def dollars_to_cents(text: str) -> int:
    """Unsigned dollars with at most two decimals as cents, by string, never float:
    "12.50" -> 1250, "12" -> 1200, "12.5" -> 1250, ".75" -> 75."""
    dollars, _, cents = text.partition(".")
    return int(dollars or "0") * 100 + int(cents.ljust(2, "0"))


_MONEY = re.compile(r"^(-?)\$?([0-9]*)(?:\.([0-9]*))?$")
MONEY_MESSAGE = "Enter dollars and cents, e.g. 10.00."


class MoneyField(StringField):
    """A dollars-and-cents input ("10.00", "$10", "10.5") whose data is whole cents
    (a sign is kept for the service to refuse); blank is None."""

    def process_formdata(self, valuelist: list[str]) -> None:
        self.data = None
        text = (valuelist[0] if valuelist else "").strip().replace(",", "")
        if not text:
            return
        match = _MONEY.match(text)
        if match is None or match.group(2) + (match.group(3) or "") == "":
            raise ValueError(MONEY_MESSAGE)
        sign, dollars, cents = match.groups()
        if len(cents or "") > 2:
            raise ValueError("Use at most two decimals (whole cents), e.g. 10.25.")
        if len(dollars.lstrip("0")) > 9:
            limit = format_cents(MAX_PRICE_CENTS)
            raise ValueError(f"The price can be at most {limit}.")
        self.data = dollars_to_cents(f"{dollars}.{cents or ''}") * (-1 if sign else 1)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data // 100}.{self.data % 100:02d}"


class MultiCheckboxField(SelectMultipleField):
    """A set of choices as checkboxes (no Ctrl-click); the data and the field's
    name are a SelectMultipleField's, so a POST reads the same. Templates render it
    as a fieldset with the label as its legend (_macros/forms.html `checkboxes`)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def substance_choices() -> list[SelectChoice]:
    """The panel's substances in plain words, valued by their codes."""
    return [SelectChoice(a, substance_label(a)) for a in ANALYTES]


def chosen_id(value: str | None) -> int:
    """The id a select or a button sent, or 0 for anything that is not one: the
    value is whatever the client sends ("²" is a digit to str.isdigit, not to int)."""
    text = (value or "").strip()
    if text.isascii() and text.isdigit() and len(text) <= 10 and int(text) <= INT_MAX:
        return int(text)
    return 0


def _day(label: str = "Day") -> DayField:
    return DayField(label, validators=[InputRequired(DATE_MESSAGE)])


class _OnceForm(FlaskForm):
    """A check-in form carrying a nonce made when it was shown: sent twice (a
    double click, a resent page after a timeout), it records one visit."""

    nonce = HiddenField(validators=[Optional(), Regexp(NONCE)])

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if self.nonce.errors:
            self.form_errors.append("Reload the form and try again.")
        return valid


class SpecimenForm(_OnceForm):
    """A specimen: one result per target analyte (built per enrollment), or refused."""

    collected_on = _day("Collected on")
    refused = BooleanField("Refused to give a specimen")
    brac = StringField("Breath alcohol, BrAC (optional)", validators=[Length(max=6)])

    targets: Sequence[str] = ()

    def result_fields(self) -> list:
        return [self[f"result_{name}"] for name in self.targets]

    def results(self) -> dict[str, str]:
        return {name: self[f"result_{name}"].data for name in self.targets}

    def brac_milli(self) -> int | None:
        text = (self.brac.data or "").strip()
        if not text:
            return None
        # "0.02" -> 20 thousandths, by string: no float near a reading.
        return int((text.partition(".")[2] + "000")[:3])

    def validate_brac(self, field: StringField) -> None:
        if (field.data or "").strip() and not _BRAC.match(field.data.strip()):
            raise ValidationError("Enter the BrAC as a decimal, e.g. 0.000 or 0.020.")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.refused.data:
            # Which is true, the refusal or the results? Never guess by ignoring one.
            if any(field.data for field in self.result_fields()):
                self.refused.errors = [*self.refused.errors, REFUSED_WITH_RESULTS]
                return False
            return ok
        for name, field in zip(self.targets, self.result_fields(), strict=True):
            if not field.data:
                field.errors = [f"Choose the {substance_words(name)} result."]
                ok = False
        return ok


def specimen_form(targets: Sequence[str], **kwargs) -> SpecimenForm:
    """A SpecimenForm with a result select for each substance in `targets`."""
    choices = [SelectChoice("", "Choose…")] + [
        SelectChoice(r, r.capitalize()) for r in SPECIMEN_RESULTS
    ]
    fields = {
        f"result_{name}": SelectField(
            substance_label(name), choices=choices, default=""
        )
        for name in targets
    }
    form_class = type("TargetedSpecimenForm", (SpecimenForm,), fields)
    form = form_class(**kwargs)
    form.targets = tuple(targets)
    return form


class AllNegativeForm(_OnceForm):
    """The one-click path for the commonest visit: every target negative."""

    collected_on = _day("Collected on")


class AttendanceForm(_OnceForm):
    on = _day("Session day")
    session_type = SelectField(
        "Session type",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(t, SESSION_LABELS[t]) for t in SESSION_TYPES],
        default="",
        validators=[InputRequired("Choose the type of session attended.")],
    )
    late = BooleanField("Arrived late")
    # Off-site meetings (12-step) only; the service says when they are missing.
    off_site_types = OFF_SITE_TYPES
    verification = RadioField(
        "How was it confirmed",
        choices=[SelectChoice(v, VERIFICATION_LABELS[v]) for v in VERIFICATIONS],
        validate_choice=False,
    )
    verification_note = StringField("Confirmed by", validators=[Length(max=500)])


class ExcuseForm(_OnceForm):
    on = _day("Day excused")
    # Empty: the test day; a session type: that day's booked session of the type.
    session_type = SelectField(
        "What is excused",
        choices=[SelectChoice("", "The test day")]
        + [SelectChoice(t, f"{SESSION_LABELS[t]} session") for t in SESSION_TYPES],
        default="",
    )
    reason = TextAreaField(
        "Reason",
        validators=[DataRequired("Say why the day is excused."), Length(max=500)],
    )


class VoidForm(FlaskForm):
    reason = TextAreaField(
        "Reason for the correction",
        validators=[
            DataRequired("Give the reason for the correction."),
            Length(max=500),
        ],
    )


class AdjustForm(FlaskForm):
    points = WholeField(
        "Points (+ to add, - to take away)",
        validators=[InputRequired("Enter a whole number, e.g. 25 or -25.")],
    )
    memo = TextAreaField(
        "Why",
        validators=[DataRequired("Say why the points are adjusted."), Length(max=500)],
    )


class RedeemForm(FlaskForm):
    # A fresh nonce per rendered form: a double-submitted form redeems once.
    nonce = HiddenField(
        validators=[
            DataRequired("Reload the form and try again."),
            Regexp(NONCE, message="Reload the form and try again."),
        ]
    )
    reward = SelectField(
        "Reward",
        choices=[],
        validate_choice=False,
        validators=[InputRequired("Choose a reward.")],
    )


class PrizeForm(FlaskForm):
    reward = SelectField(
        "Prize handed out",
        choices=[],
        validate_choice=False,
        validators=[InputRequired("Choose the prize handed out.")],
    )


class RewardForm(FlaskForm):
    name = StringField(
        "Name", validators=[DataRequired("Name the reward."), Length(max=120)]
    )
    tier = SelectField(
        "Prize-bowl tier",
        choices=[SelectChoice("", "None: redeemed for points")]
        + [SelectChoice(t, t.capitalize()) for t in ("small", "large", "jumbo")],
        default="",
    )
    # Items redeemed for points cost money: each participant pays it in points of
    # their own protocol, so the same item costs everyone the same earnings.
    cost = MoneyField("Price in dollars (items redeemed for points)")
    value = StringField(
        "Value in dollars", validators=[DataRequired("Enter the value, e.g. 5.00.")]
    )
    stock = WholeField("Opening stock", default=0)
    # A non-cash funding program (SAMHSA) refuses cash and gift cards
    # (docs/funding.md).
    kind = SelectField(
        "Kind",
        choices=[
            SelectChoice("goods", "Goods (non-cash)"),
            SelectChoice("gift_card", "Gift card (cash-equivalent)"),
            SelectChoice("cash", "Cash"),
        ],
        default="goods",
        # Left out (an older form, an API-like post): goods; another value is
        # refused by the service next to this field.
        validate_choice=False,
    )

    def validate_value(self, field) -> None:
        if not re.match(r"^\d{1,6}(\.\d{2})?$", (field.data or "").strip()):
            raise ValidationError("Enter dollars and cents, e.g. 5.00.")

    def value_cents(self) -> int:
        return dollars_to_cents(self.value.data.strip())


class StockForm(FlaskForm):
    quantity = WholeField(
        "Quantity received", validators=[InputRequired("Enter how many arrived.")]
    )
    note = StringField("Note (supplier, receipt)", validators=[Length(max=200)])


def today_default(form: FlaskForm, today: date) -> FlaskForm:
    """Fill empty date fields of a blank form with the clinic's today."""
    for name in ("collected_on", "on", "start_on", "starts_on"):
        if name in form and form[name].data is None:
            form[name].data = today
    return form


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class RegisterForm(FlaskForm):
    code = StringField(
        "Participant code",
        validators=[DataRequired("Enter a code, e.g. P-0042."), Length(max=40)],
    )
    display_name = StringField("Display name (optional)", validators=[Length(max=120)])
    pin = PasswordField("Portal PIN (optional, 6 to 12 digits)")


class EnrollForm(FlaskForm):
    protocol = SelectField(
        "Protocol version",
        choices=[],
        validate_choice=False,
        validators=[InputRequired("Choose one of this clinic's protocols.")],
    )
    start_on = _day("Start date")
    testing_days = MultiCheckboxField(
        "Testing days (none ticked: the protocol's)",
        choices=[SelectChoice(str(i), d) for i, d in enumerate(WEEKDAYS)],
    )
    targets = MultiCheckboxField(
        "Target substances (none ticked: the protocol's)",
        choices=substance_choices(),
    )
    exempt_analyte = SelectField(
        "Exempt substance",
        choices=[SelectChoice("", "None")] + substance_choices(),
        default="",
    )
    exempt_medication = StringField("Medication", validators=[Length(max=120)])
    exempt_from = DayField("Exempt from", validators=[Optional()])
    exempt_until = DayField("Exempt until (optional)", validators=[Optional()])

    def exemptions(self) -> list[dict]:
        if not self.exempt_analyte.data:
            return []
        return [
            {
                "analyte": self.exempt_analyte.data,
                "medication": self.exempt_medication.data,
                "starts_on": self.exempt_from.data,
                "ends_on": self.exempt_until.data,
            }
        ]


class EndForm(FlaskForm):
    status = SelectField(
        "Outcome",
        choices=[
            SelectChoice("discharged", "Discharged"),
            SelectChoice("completed", "Completed"),
        ],
    )
    ends_on = _day("Last day")


class ExemptionForm(FlaskForm):
    """A prescribed-medication exemption added to the current enrollment."""

    analyte = SelectField(
        "Exempt substance",
        choices=[SelectChoice("", "Choose…")] + substance_choices(),
        default="",
        validators=[InputRequired("Choose the exempt substance.")],
    )
    medication = StringField(
        "Prescribed medication",
        validators=[DataRequired("Name the prescribed medication."), Length(max=120)],
    )
    prescriber = StringField("Prescriber (optional)", validators=[Length(max=120)])
    starts_on = _day("Exempt from")
    ends_on = DayField("Exempt until (optional)", validators=[Optional()])


class EndExemptionForm(FlaskForm):
    """The last exempt day of an exemption in force (today unless changed)."""

    ends_on = _day("Last exempt day")


def exempt_until_label(analyte: str) -> str:
    return f"Last day {substance_words(analyte)} is exempt"


def end_exemption_form(exemption, today: date, **kwargs) -> EndExemptionForm:
    """An End form for one exemption: its own prefix and a label naming it."""
    form = EndExemptionForm(prefix=f"end-{exemption.id}", **kwargs)
    form.ends_on.label.text = exempt_until_label(exemption.analyte)
    if form.ends_on.data is None and not form.ends_on.raw_data:
        form.ends_on.data = today
    return form


class ProtocolForm(FlaskForm):
    spec = TextAreaField(
        "Protocol spec (JSON)",
        validators=[DataRequired("Paste the protocol spec as JSON.")],
    )

    def parsed(self):
        """The JSON document, or None with an error on the field."""
        # json.loads recurses once per level: deep nesting is refused before it.
        deep = too_deep(self.spec.data)
        if deep is not None:
            where = f" (at {deep})" if deep else ""
            self.spec.errors = [f"Nest at most {MAX_DEPTH} levels deep{where}."]
            return None
        try:
            return json.loads(self.spec.data, parse_constant=_no_constant)
        except ValueError as error:
            self.spec.errors = [f"Not valid JSON: {error}."]
            return None


def _no_constant(name: str) -> None:
    # NaN and Infinity are not JSON, and no protocol amount.
    raise ValueError(f"{name} is not a number")


# Groups and booked sessions (issue 13). Choices are not checked here: the
# services' own messages ("Choose the type of session.") come back to the field.

WEEKDAY_NAMES = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
TIME_MESSAGE = "Enter the start time as HH:MM."
# A meeting's marks; no mark is absent (missed when the nightly job closes the day).
MEETING_MARKS = (("attended", "Attended"), ("late", "Late"), ("excused", "Excused"))
_MARK = re.compile(r"mark-(\d{1,18})")


class ClockField(TimeField):
    """A time input (HH:MM); blank is None for the service to name, a bad value
    says what to type."""

    def __init__(self, label: str, **kwargs) -> None:
        super().__init__(label, format=["%H:%M", "%H:%M:%S"], **kwargs)

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not valuelist[0].strip():
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(TIME_MESSAGE) from None


def _session_type_field(label: str = "Session type") -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(t, SESSION_LABELS[t]) for t in SESSION_TYPES],
        default="",
        validate_choice=False,
    )


class GroupForm(FlaskForm):
    name = StringField("Name", validators=[Length(max=120)])
    session_type = _session_type_field()
    weekday = SelectField(
        "Meets every",
        choices=[SelectChoice("", "Choose…")]
        + [SelectChoice(str(i), day) for i, day in enumerate(WEEKDAY_NAMES)],
        default="",
        validate_choice=False,
    )
    starts_at = ClockField("Starts at")

    def weekday_number(self) -> int | None:
        # Anything but 0 to 6 is None, which the service refuses as no weekday.
        chosen = (self.weekday.data or "").strip()
        return int(chosen) if chosen in ("0", "1", "2", "3", "4", "5", "6") else None


class MemberForm(FlaskForm):
    participant = StringField(
        "Participant code",
        validators=[DataRequired("Enter a participant code."), Length(max=40)],
    )
    joined_on = _day("Joins on")


class BookForm(FlaskForm):
    session_type = _session_type_field()
    first_on = _day("First session")
    starts_at = ClockField("Starts at")
    weekly = BooleanField("Repeat weekly")
    until = DayField("Last date (optional)", validators=[Optional()])


class CancelSessionForm(FlaskForm):
    reason = StringField("Reason", validators=[Length(max=500)])


class MeetingForm(FlaskForm):
    """One meeting's roster: a mark and an excuse reason per booked member still
    to check in (fields `mark-<appointment id>`, `reason-<appointment id>`)."""

    appointment_ids: Sequence[int] = ()

    def marks(self, formdata: Mapping[str, str]) -> dict[int, str]:
        """Every mark sent, also for a member no longer on the roster (the
        service refuses that rather than dropping it unseen)."""
        found = {}
        for key, value in formdata.items():
            match = _MARK.fullmatch(key)
            if match and value:
                found[int(match.group(1))] = value
        return found

    def reasons(self) -> dict[int, str]:
        return {i: self[f"reason-{i}"].data or "" for i in self.appointment_ids}

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        for i in self.appointment_ids:
            reason = self[f"reason-{i}"]
            if (reason.data or "").strip() and self[f"mark-{i}"].data != "excused":
                # Which is true, the reason or the mark? Never drop one silently.
                reason.errors = [*reason.errors, "Choose Excused, or clear the reason."]
                ok = False
        return ok


def meeting_form(appointment_ids: Sequence[int], **kwargs) -> MeetingForm:
    """A MeetingForm with a mark and a reason field for each appointment."""
    fields: dict[str, object] = {}
    for i in appointment_ids:
        fields[f"mark-{i}"] = RadioField(
            "Mark",
            choices=[SelectChoice("", "Absent")]
            + [SelectChoice(value, label) for value, label in MEETING_MARKS],
            default="",
            validate_choice=False,
        )
        fields[f"reason-{i}"] = StringField(
            "Excuse reason (optional)", validators=[Length(max=500)]
        )
    form = type("RosterMeetingForm", (MeetingForm,), fields)(**kwargs)
    form.appointment_ids = tuple(appointment_ids)
    return form


class PinForm(FlaskForm):
    """A participant's new portal PIN, typed twice (the rules: passwords.check_pin)."""

    pin = PasswordField(
        "New PIN (6 to 12 digits)",
        validators=[InputRequired("Enter the new PIN.")],
    )
    pin_again = PasswordField(
        "The new PIN again",
        validators=[EqualTo("pin", "The two PINs differ: type the same PIN twice.")],
    )


class LanguageForm(FlaskForm):
    language = SelectField(
        "Portal language",
        choices=[
            SelectChoice("en", "English"),
            SelectChoice("es", "Spanish (Español)"),
        ],
    )
