"""Parsing API request bodies into the plain values services take.

Every refusal names the JSON path of the bad field (422), or says the body is not a
JSON object (400), so a client never sees a 500 for its input. Numbers with a
fraction are read as Decimal, never float: a BrAC of 0.020 is exactly 20 thousandths.
Strings and whole numbers go through the services' own checks (services.validation),
so what the API refuses the forms and the CLI refuse too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

from ..rules.breath import BRAC_OUT_OF_RANGE, brac_in_range
from ..services.cm.checkins import REFUSED_WITH_RESULTS
from ..services.errors import CMError, InvalidInput
from ..services.validation import (
    INT_MAX,
    MAX_DEPTH,
    check_date,
    check_int,
    check_text,
    too_deep,
)

MAX_ID = INT_MAX  # the INTEGER columns' range
ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class MalformedBody(CMError):
    status = 400
    code = "malformed_json"

    def __init__(self, message: str) -> None:
        super().__init__(message, None)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_document(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, any keys (an empty body is {}).

    Nesting past MAX_DEPTH is refused before parsing, naming the member that holds
    it: json.loads, and everything that walks the document after it, recurse once
    per level."""
    if not raw.strip():
        return {}
    deep = too_deep(raw)
    if deep == "":
        raise MalformedBody(f"The body nests more than {MAX_DEPTH} levels deep.")
    if deep is not None:
        raise InvalidInput(deep, f"Nest at most {MAX_DEPTH} levels deep.")
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, RecursionError):
        raise MalformedBody("The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise MalformedBody("The body must be a JSON object.")
    return body


def json_object(raw: bytes, allowed: tuple[str, ...]) -> dict[str, Any]:
    """The request body as a dict with only `allowed` keys (an empty body is {})."""
    body = json_document(raw)
    for key in body:
        if key not in allowed:
            raise InvalidInput(key, f"Unknown field; expected: {', '.join(allowed)}.")
    return body


def text(
    body: Mapping[str, Any],
    field: str,
    required: bool = False,
    *,
    max_length: int = 2000,
    path: str | None = None,
) -> str | None:
    """A string field (None if absent or null and not required), stripped; text no
    one could type (a NUL, a lone surrogate, a control character other than line
    breaks) is refused here, each service then checks its own field."""
    path = path or field
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(path, "This field is required.")
        return None
    if not isinstance(value, str):
        raise InvalidInput(path, "Expected a string.")
    return check_text(path, value, max_length=max_length, multiline=True)


def day(
    body: Mapping[str, Any], field: str, *, required: bool = False, path: str = ""
) -> date | None:
    """An ISO date field, YYYY-MM-DD, from 1970 to 2100 (services.validation)."""
    value = text(body, field, required=required, max_length=10, path=path or field)
    if value is None:
        return None
    try:
        parsed = date.fromisoformat(value) if ISO_DAY.match(value) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(path or field, "Enter a date as YYYY-MM-DD.")
    return check_date(path or field, parsed)


def clock_time(
    body: Mapping[str, Any], field: str, *, required: bool = False
) -> time | None:
    """A clinic-local time of day, HH:MM (24-hour)."""
    value = text(body, field, required=required, max_length=5)
    if value is None:
        return None
    if not CLOCK.match(value):
        raise InvalidInput(field, "Enter the time as HH:MM, e.g. 10:00.")
    return time.fromisoformat(value)


def whole_number(
    body: Mapping[str, Any], field: str, *, required: bool = False, minimum: int = 1
) -> int | None:
    """An integer field within [minimum, 2^31 - 1]."""
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidInput(field, "This field is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(field, "Expected a whole number.")
    return check_int(
        field,
        value,
        minimum=minimum,
        maximum=MAX_ID,
        message=f"Expected a whole number from {minimum} to {MAX_ID}.",
    )


def flag(body: Mapping[str, Any], field: str) -> bool:
    value = body.get(field, False)
    if not isinstance(value, bool):
        raise InvalidInput(field, "Expected true or false.")
    return value


def brac_milli(body: Mapping[str, Any], field: str = "brac") -> int | None:
    """A BrAC reading ("0.020" or 0.020) in thousandths of g/210 L (-> 20)."""
    value = body.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InvalidInput(field, 'Give the BrAC as a string, e.g. "0.020".')
    try:
        milli = Decimal(str(value).strip()) * 1000
    except InvalidOperation:
        milli = None
    if milli is None or not milli.is_finite() or milli != milli.to_integral_value():
        raise InvalidInput(field, "Give the BrAC with at most three decimals.")
    if not brac_in_range(milli):
        raise InvalidInput(field, BRAC_OUT_OF_RANGE)
    return int(milli)


def string_map(body: Mapping[str, Any], field: str) -> dict[str, str] | None:
    """An object of strings, e.g. {"cocaine": "negative"}."""
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput(field, "Expected an object.")
    for key in value:
        text(value, key, required=True, max_length=40, path=f"{field}.{key}")
    return dict(value)


def specimen(body: Mapping[str, Any]) -> tuple[dict[str, str], bool]:
    """A specimen's results and refused flag; a refused specimen has no results, so
    both together are refused, naming "refused", instead of one being ignored."""
    refused = flag(body, "refused")
    results = string_map(body, "results") or {}
    if refused and results:
        raise InvalidInput("refused", REFUSED_WITH_RESULTS)
    return results, refused


def string_list(body: Mapping[str, Any], field: str) -> list[str] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, list):
        raise InvalidInput(field, "Expected a list of strings.")
    items = []
    for i, item in enumerate(value):
        path = f"{field}[{i}]"
        items.append(text({"item": item}, "item", required=True, path=path) or "")
    return items


def testing_days(body: Mapping[str, Any]) -> dict[int, list[int]] | None:
    """{"<phase index>": [weekday 0-6, ...]}."""
    value = body.get("testing_days")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidInput("testing_days", 'Expected e.g. {"0": [0, 2, 4]}.')
    days: dict[int, list[int]] = {}
    for phase, weekdays in value.items():
        path = f"testing_days.{phase}"
        if not (phase.isascii() and phase.isdigit() and len(phase) <= 3):
            raise InvalidInput(path, "Phase keys are phase numbers from 0.")
        if not isinstance(weekdays, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6
            for d in weekdays
        ):
            raise InvalidInput(path, "Weekdays are numbers 0 (Monday) to 6.")
        days[int(phase)] = weekdays
    return days


def exemptions(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """[{"analyte", "medication", "prescriber"?, "starts_on", "ends_on"?}]."""
    value = body.get("exemptions")
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput("exemptions", "Expected a list of exemptions.")
    return [_exemption(item, f"exemptions[{i}]") for i, item in enumerate(value)]


def _exemption(item: Any, path: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise InvalidInput(path, "Expected an object.")
    fields: dict[str, Callable[..., Any]] = {
        "analyte": lambda f: text(item, f, True, max_length=40, path=f"{path}.{f}"),
        "medication": lambda f: text(item, f, True, max_length=120, path=f"{path}.{f}"),
        "prescriber": lambda f: text(item, f, max_length=120, path=f"{path}.{f}"),
        "starts_on": lambda f: day(item, f, required=True, path=f"{path}.{f}"),
        "ends_on": lambda f: day(item, f, path=f"{path}.{f}"),
    }
    for key in item:
        if key not in fields:
            raise InvalidInput(f"{path}.{key}", "Unknown field.")
    parsed = {name: parse(name) for name, parse in fields.items()}
    if parsed["ends_on"] is not None and parsed["ends_on"] < parsed["starts_on"]:
        raise InvalidInput(
            f"{path}.ends_on", "The end date must follow the start date."
        )
    return parsed
