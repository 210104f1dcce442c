"""Operations forms: parsing and field messages only."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional


class ClosureForm(FlaskForm):
    closed_on = DateField("Date closed", validators=[InputRequired("Enter the date.")])
    reason = StringField(
        "Reason", validators=[DataRequired("Say why."), Length(max=500)]
    )


class PauseForm(FlaskForm):
    code = StringField(
        "Participant code", validators=[DataRequired("Enter the code."), Length(max=40)]
    )
    starts_on = DateField("From", validators=[InputRequired("Enter the first day.")])
    ends_on = DateField("Until (optional)", validators=[Optional()])
    reason = StringField(
        "Reason", validators=[DataRequired("Say why."), Length(max=500)]
    )


class ConfirmForm(FlaskForm):
    """A bare POST with its CSRF token (safe mode switch, releasing a held day)."""
