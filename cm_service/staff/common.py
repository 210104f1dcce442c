"""What every staff page shares: a refusal shown on its field, and typed dates."""

from __future__ import annotations

import re
from datetime import date

from flask_wtf import FlaskForm

from ..services.errors import CMError

ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def show_error(form: FlaskForm, error: CMError, aliases: dict | None = None) -> None:
    """Put a service's error next to the field it names (or at the form's top)."""
    name = (error.field or "").replace("results.", "result_")
    if name not in form:
        name = (aliases or {}).get(name, name)
    if name in form:
        form[name].errors = [*form[name].errors, error.message]
    else:
        form.form_errors.append(error.message)


def typed_date(text: str | None) -> date | str | None:
    """A YYYY-MM-DD query argument as a date; anything else as typed (for the
    service's check_date to name), and nothing as None."""
    if not text:
        return None
    try:
        return date.fromisoformat(text) if ISO_DAY.fullmatch(text) else text
    except ValueError:
        return text
