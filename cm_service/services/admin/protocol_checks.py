"""What a protocol document may hold before it is stored (or previewed): the checks
`rules.validate_spec` leaves to the service, since they are about storing and paying,
not about the document's shape.

`check_document` runs before validate_spec, which deep-copies the document (one
recursion per level): nesting, every string (no NUL, no lone surrogate, within the
column or a sensible width) and every number (within INTEGER). `check_spec` runs
after it, on a valid document: the sensible caps of what a protocol pays, targets
and session types the service records, and an award that fits one ledger entry.
Each refusal is InvalidInput("spec.<path>"), as validate_spec's are.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from ...rules.money import format_cents
from ...rules.spec import LABEL_MAX
from ..cm.checkins import ANALYTES, SESSION_TYPES
from ..cm.pricing import MAX_PRICE_CENTS
from ..errors import InvalidInput
from ..validation import INT_MAX, MAX_DEPTH, check_int, check_text, json_values

KEY_MAX, NAME_MAX = 80, 200  # Protocol.key's and Protocol.name's widths
PROSE_MAX = 2000  # source and confidence: a citation and a paragraph
WORD_MAX = 80  # any other string: a tier's name, a substance, a choice
# A point is worth at most $100: real protocols pay 1 to 100 cents a point.
MAX_UNIT_CENTS = 10_000
# Ten years: CM courses run 12 to 52 weeks, and every date of the protocol
# (start + 7 x weeks) must stay a date.
MAX_WEEKS = 520
# Points or draws one award pays before escalation: as a hand adjustment's cap.
MAX_AWARD = 100_000
MAX_SLIPS = 1_000_000  # slips in one tier of a prize bowl


def check_document(document: object) -> None:
    """Nesting, strings and numbers of a document about to be validated."""
    for path, value, depth in json_values(document):
        field = f"spec.{path}" if path else "spec"
        if depth > MAX_DEPTH:
            raise InvalidInput(field, f"Nest at most {MAX_DEPTH} levels deep.")
        if isinstance(value, str):
            prose = path in ("source", "confidence")
            check_text(field, value, max_length=_width(path), multiline=prose)
        elif isinstance(value, int) and not isinstance(value, bool):
            check_int(field, value, minimum=-INT_MAX, maximum=INT_MAX)
        elif isinstance(value, float) and not math.isfinite(value):
            raise InvalidInput(field, "Use a number.")


def _width(path: str) -> int:
    if path == "key":
        return KEY_MAX
    if path == "name":
        return NAME_MAX
    if path == "label":
        return LABEL_MAX
    return PROSE_MAX if path in ("source", "confidence") else WORD_MAX


def check_spec(document: Mapping[str, Any]) -> None:
    """The caps of a valid document (validate_spec passed: its shape is known)."""
    unit = document["unit_cents"]
    check_int("spec.unit_cents", unit, minimum=1, maximum=MAX_UNIT_CENTS)
    for index, name in enumerate(document["targets"]["substances"]):
        if name not in ANALYTES:
            raise InvalidInput(
                f"spec.targets.substances[{index}]",
                "Choose target substances from the panel.",
            )
    weeks = max(phase["weeks"][1] for phase in document["phases"])
    for index, phase in enumerate(document["phases"]):
        check_int(
            f"spec.phases[{index}].weeks", phase["weeks"][1], minimum=1,
            maximum=MAX_WEEKS, message=f"A protocol runs at most {MAX_WEEKS} weeks.",
        )  # fmt: skip
    for path, schedule in _schedules(document):
        _check_schedule(f"spec.{path}", schedule, unit, weeks)


def _schedules(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each schedule with its path (one attendance schedule may be an object)."""
    for index, phase in enumerate(document["phases"]):
        if phase.get("specimen"):
            yield f"phases[{index}].specimen", phase["specimen"]
        attendance = phase.get("attendance")
        if isinstance(attendance, dict):
            yield f"phases[{index}].attendance", attendance
        elif isinstance(attendance, list):
            for number, item in enumerate(attendance):
                yield f"phases[{index}].attendance[{number}]", item


def _check_schedule(
    path: str, schedule: Mapping[str, Any], unit: int, weeks: int
) -> None:
    for name in ("amount", "start", "step", "max"):
        if isinstance(schedule.get(name), int):
            check_int(f"{path}.{name}", schedule[name], minimum=0, maximum=MAX_AWARD)
    bonus = (schedule.get("bonus") or {}).get("amount", 0)
    check_int(f"{path}.bonus.amount", bonus, minimum=0, maximum=MAX_AWARD)
    for index, kind in enumerate(schedule.get("session_types", [])):
        if kind not in SESSION_TYPES:
            raise InvalidInput(
                f"{path}.session_types[{index}]", "Choose the type of session."
            )
    for index, tier in enumerate(schedule.get("bowl") or []):
        at = f"{path}.bowl[{index}]"
        check_int(f"{at}.slips", tier["slips"], minimum=1, maximum=MAX_SLIPS)
        check_int(
            f"{at}.value_cents", tier["value_cents"], minimum=0,
            maximum=MAX_PRICE_CENTS,
        )  # fmt: skip
    if schedule["type"] != "prize_draws":
        _check_fits_ledger(path, schedule, unit, weeks, bonus)


def _check_fits_ledger(
    path: str, schedule: Mapping[str, Any], unit: int, weeks: int, bonus: int
) -> None:
    """The largest award must fit one ledger entry's cents (INTEGER): an escalation
    without a maximum climbs one step per day at most."""
    if schedule["type"] == "fixed":
        top, name = schedule["amount"], "amount"
    elif schedule.get("max") is not None:
        top, name = schedule["max"], "max"
    else:
        top, name = schedule["start"] + schedule["step"] * 7 * weeks, "max"
    cents = (top + bonus) * unit
    if cents > INT_MAX:
        raise InvalidInput(
            f"{path}.{name}",
            f"One award could reach {format_cents(cents)}, more than one ledger "
            f"entry holds ({format_cents(INT_MAX)}): set a lower maximum.",
        )
