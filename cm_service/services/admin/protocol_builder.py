"""The protocol builder: a form's values <-> a protocol spec document, and a preview.

A clinic admin edits a protocol as form fields (money in dollars, days as checkboxes)
instead of JSON. This module turns the submitted fields into a spec document, checks it
with `rules.validate_spec` and puts every FieldError next to the field that produced it
(`phases[0].specimen.start` -> `phases-0-specimen-start`). It reads no request and no
database: the view hands it the posted fields and stores what it returns.

Fields are nested dicts and lists of strings (checkbox groups are lists, a lone
checkbox is a bool); an input's name joins the keys with "-", as WTForms names nested
fields, so `flatten` gives exactly what a browser posts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from ... import rules
from ...rules.money import round_half_up
from ...rules.spec import CAP_SCOPES, MAPPED_RESULTS
from ..cm.checkins import ANALYTES
from ..errors import InvalidInput
from . import protocol_checks

# Only a booked session can be missed or late (docs/attendance.md).
SESSION_RESETS = ("missed", "late")
CAPS = tuple(scope.removesuffix("_cents") for scope in CAP_SCOPES)
# The preview's cohort: what the issue asks clinics to budget with, seeded so the
# same protocol always previews the same figures.
COHORT_SIZE = 200
COHORT_P_NEGATIVE = Fraction(7, 10)
COHORT_SEED = 2026
# The usual 500-slip bowl (VA "bowl A"), offered when a clinic starts from nothing.
STANDARD_BOWL = (
    ("good_job", 250, 0),
    ("small", 219, 100),
    ("large", 30, 2000),
    ("jumbo", 1, 10000),
)

_WHOLE = re.compile(r"^\d{1,9}$")
_DOLLARS = re.compile(r"^\$?(\d{0,9})(?:\.(\d*))?$")
WHOLE_MESSAGE = "Enter a whole number, e.g. 3."
MONEY_MESSAGE = "Enter dollars and cents, e.g. 12.50."
CENTS_MESSAGE = "Use at most two decimals (whole cents), e.g. 12.50."


class FormData(Protocol):
    """What the view posts: werkzeug's MultiDict has this shape."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[str]: ...

    def keys(self) -> Iterator[str]: ...


@dataclass
class Built:
    """What the fields make: a document and its spec, or the errors per field."""

    document: dict[str, Any] | None
    spec: rules.ProtocolSpec | None
    errors: dict[str, list[str]] = field(default_factory=dict)
    form_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.spec is not None


# ---- empty form, document -> fields ------------------------------------------------


def blank_fields() -> dict[str, Any]:
    """A new protocol: one 12-week phase that pays nothing yet."""
    return {
        "key": "",
        "name": "",
        "label": "",
        "source": "",
        "confidence": "",
        "unit": "1.00",
        "targets": [],
        "target_choices": list(ANALYTES),
        "combine": "all",
        "results": dict.fromkeys(MAPPED_RESULTS, "positive"),
        "corrections": "no_clawback",
        "extra_tests": "reset_only",
        "phases": [blank_phase(1)],
        "bowl": [
            {"tier": tier, "slips": str(slips), "value": dollars(cents)}
            for tier, slips, cents in STANDARD_BOWL
        ],
        "caps": {
            **dict.fromkeys(CAPS, ""),
            "crossing": "partial",
            "count_draws": False,
        },
    }


def blank_phase(first_week: int) -> dict[str, Any]:
    return {
        "weeks_from": str(first_week),
        "weeks_to": str(first_week + 11),
        "testing_days": [],
        "specimen": _blank_schedule("none"),
        "attendance": [],
    }


def _blank_schedule(kind: str) -> dict[str, Any]:
    return {
        "type": kind,
        "amount": "",
        "start": "",
        "step": "",
        "max": "",
        "per": "test",
        "bonus_every": "",
        "bonus_amount": "",
        "reset_on": [],
        "recovery_after": "",
    }


def blank_attendance() -> dict[str, Any]:
    return {
        **_blank_schedule("prize_draws"),
        "session_types": [],
        "days": [],
        "scheduled": False,
        "on_time_minutes": "",
    }


def fields_from_document(
    document: Mapping[str, Any],
) -> tuple[dict[str, Any], list[str]]:
    """The form a valid spec document fills in, and notes on what it cannot show.

    The form has one prize bowl (the service draws every prize from the first bowl,
    `rules.bowl_of`), so a document with different bowls is noted, not silently merged.
    """
    spec = rules.validate_spec(copy.deepcopy(dict(document)))
    doc = spec.raw
    substances = list(spec.targets.substances)
    fields = {
        **blank_fields(),
        "key": spec.key,
        "name": spec.name,
        "label": spec.label or "",
        "source": spec.source,
        "confidence": spec.confidence or "",
        "unit": dollars(spec.unit_cents),
        "targets": substances,
        "target_choices": _choices(substances, ANALYTES),
        "combine": spec.targets.combine,
        "results": dict(spec.results),
        "corrections": spec.corrections,
        "extra_tests": spec.extra_tests,
        "phases": [_phase_fields(phase) for phase in doc["phases"]],
        "caps": _caps_fields(spec.caps),
    }
    bowl = rules.bowl_of(spec)
    if bowl:
        fields["bowl"] = [
            {"tier": t.tier, "slips": str(t.slips), "value": dollars(t.value_cents)}
            for t in bowl
        ]
    return fields, _bowl_notes(spec, bowl)


def _choices(chosen: list[str], known: tuple[str, ...]) -> list[str]:
    # The chosen ones first and in their order: the order of a protocol's targets is
    # the order check-in asks for results, so a round trip must keep it.
    return [*chosen, *(name for name in known if name not in chosen)]


def _phase_fields(phase: Mapping[str, Any]) -> dict[str, Any]:
    attendance = phase.get("attendance")
    if isinstance(attendance, dict):
        attendance = [attendance]
    return {
        "weeks_from": str(phase["weeks"][0]),
        "weeks_to": str(phase["weeks"][1]),
        "testing_days": list(phase["testing_days"]),
        "specimen": _schedule_fields(phase.get("specimen")),
        "attendance": [_attendance_fields(item) for item in attendance or []],
    }


def _schedule_fields(doc: Mapping[str, Any] | None) -> dict[str, Any]:
    if doc is None:
        return _blank_schedule("none")
    bonus = doc.get("bonus") or {}
    return {
        "type": doc["type"],
        "amount": _text(doc.get("amount")),
        "start": _text(doc.get("start")),
        "step": _text(doc.get("step")),
        "max": _text(doc.get("max")),
        "per": doc.get("per", "test"),
        "bonus_every": _text(bonus.get("every")),
        "bonus_amount": _text(bonus.get("amount")),
        "reset_on": list(doc.get("reset_on", [])),
        "recovery_after": _text(doc.get("recovery_after")),
    }


def _attendance_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **_schedule_fields(doc),
        "session_types": list(doc.get("session_types", [])),
        "days": list(doc.get("days", [])),
        "scheduled": doc.get("scheduled", False) is True,
        "on_time_minutes": _text(doc.get("on_time_minutes")),
    }


def _caps_fields(caps: rules.Caps) -> dict[str, Any]:
    limits = {
        name: "" if cents is None else dollars(cents)
        for name, cents in ((n, getattr(caps, f"{n}_cents")) for n in CAPS)
    }
    return {
        **limits,
        "crossing": caps.crossing,
        "count_draws": caps.count_draws_at_expected_value,
    }


def _bowl_notes(spec: rules.ProtocolSpec, bowl: tuple[rules.Tier, ...]) -> list[str]:
    schedules = (s for p in spec.phases for s in (p.specimen, *p.attendance))
    if any(s is not None and s.bowl and s.bowl != bowl for s in schedules):
        return [
            "This version has more than one prize bowl; the form shows the first, "
            "which every prize is drawn from, and saves it for every draw schedule."
        ]
    return []


def _text(value: object) -> str:
    return "" if value is None else str(value)


def dollars(cents: int) -> str:
    """Whole cents as the dollars a person types: 1250 -> "12.50"."""
    return f"{cents // 100}.{cents % 100:02d}"


# ---- posted form -> fields ----------------------------------------------------------


def fields_from_form(form: FormData) -> dict[str, Any]:
    """The nested fields of a posted builder form (rows renumbered from 0)."""
    get = _getter(form)
    fields = {
        name: get(name)
        for name in ("key", "name", "label", "source", "confidence", "unit", "combine")
    }
    return {
        **fields,
        "targets": form.getlist("targets"),
        "target_choices": _choices(
            [c for c in get("target_choices").split(",") if c], ANALYTES
        ),
        "results": {name: get(f"results-{name}") for name in MAPPED_RESULTS},
        "corrections": get("corrections"),
        "extra_tests": get("extra_tests"),
        "phases": [
            _posted_phase(form, f"phases-{i}") for i in _rows(form, r"phases-(\d+)-")
        ],
        "bowl": [
            {name: get(f"bowl-{i}-{name}") for name in ("tier", "slips", "value")}
            for i in _rows(form, r"bowl-(\d+)-")
        ],
        "caps": {
            **{name: get(f"caps-{name}") for name in CAPS},
            "crossing": get("caps-crossing"),
            "count_draws": bool(form.get("caps-count_draws")),
        },
    }


def _getter(form: FormData) -> Callable[[str], str]:
    """A reader of one text field, stripped, "" when absent."""

    def get(name: str) -> str:
        return str(form.get(name) or "").strip()

    return get


def _rows(form: FormData, pattern: str) -> list[int]:
    """The row numbers present in the form, in order (a removed row leaves a gap)."""
    found = (re.match(pattern, name) for name in form.keys())
    return sorted({int(match.group(1)) for match in found if match})


def _posted_phase(form: FormData, prefix: str) -> dict[str, Any]:
    get = _getter(form)
    return {
        "weeks_from": get(f"{prefix}-weeks_from"),
        "weeks_to": get(f"{prefix}-weeks_to"),
        "testing_days": form.getlist(f"{prefix}-testing_days"),
        "specimen": _posted_schedule(form, f"{prefix}-specimen"),
        "attendance": [
            _posted_attendance(form, f"{prefix}-attendance-{i}")
            for i in _rows(form, rf"{re.escape(prefix)}-attendance-(\d+)-")
        ],
    }


def _posted_schedule(form: FormData, prefix: str) -> dict[str, Any]:
    get = _getter(form)
    values = {name: get(f"{prefix}-{name}") for name in _blank_schedule("none")}
    return {**values, "reset_on": form.getlist(f"{prefix}-reset_on")}


def _posted_attendance(form: FormData, prefix: str) -> dict[str, Any]:
    return {
        **_posted_schedule(form, prefix),
        "session_types": form.getlist(f"{prefix}-session_types"),
        "days": form.getlist(f"{prefix}-days"),
        "scheduled": bool(form.get(f"{prefix}-scheduled")),
        "on_time_minutes": _getter(form)(f"{prefix}-on_time_minutes"),
    }


def flatten(fields: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The (name, value) pairs a browser posts for these fields (unticked boxes and
    False are left out, as a browser leaves them out)."""
    pairs: list[tuple[str, str]] = []
    for name, value in fields.items():
        key = f"{prefix}{name}"
        if name == "target_choices":
            pairs.append((key, ",".join(value)))
        elif isinstance(value, dict):
            pairs += flatten(value, f"{key}-")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for index, row in enumerate(value):
                pairs += flatten(row, f"{key}-{index}-")
        elif isinstance(value, list):
            pairs += [(key, item) for item in value]
        elif isinstance(value, bool):
            pairs += [(key, "y")] if value else []
        else:
            pairs.append((key, value))
    return pairs


# ---- adding and removing rows -------------------------------------------------------

ACTIONS = (
    "add_phase",
    "remove_phase",
    "add_attendance",
    "remove_attendance",
    "add_tier",
    "remove_tier",
)


def apply_action(fields: dict[str, Any], action: str, value: str) -> dict[str, Any]:
    """One more or one fewer phase, attendance schedule or bowl tier.

    `value` names the row: "2" (a phase or tier), "0" (add to phase 0) or "0-1"
    (attendance schedule 1 of phase 0). A row that is not there changes nothing.
    """
    fields = copy.deepcopy(fields)
    indexes = [int(part) for part in value.split("-") if part.isdigit()]
    phases, bowl = fields["phases"], fields["bowl"]
    if action == "add_phase":
        phases.append(blank_phase(_next_week(phases)))
    elif action == "add_tier":
        bowl.append({"tier": "", "slips": "", "value": ""})
    elif action == "remove_phase" and _has(phases, indexes):
        del phases[indexes[0]]
    elif action == "remove_tier" and _has(bowl, indexes):
        del bowl[indexes[0]]
    elif action == "add_attendance" and _has(phases, indexes):
        phases[indexes[0]]["attendance"].append(blank_attendance())
    elif action == "remove_attendance" and len(indexes) == 2 and _has(phases, indexes):
        schedules = phases[indexes[0]]["attendance"]
        if _has(schedules, indexes[1:]):
            del schedules[indexes[1]]
    return fields


def _has(rows: list[Any], indexes: list[int]) -> bool:
    return bool(indexes) and indexes[0] < len(rows)


def _next_week(phases: list[dict[str, Any]]) -> int:
    last = phases[-1]["weeks_to"] if phases else "0"
    return int(last) + 1 if _WHOLE.match(last) else 1


# ---- fields -> document -------------------------------------------------------------


class _Parse:
    """Reads typed text into numbers, recording a message per field it cannot read."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, []).append(message)

    def whole(self, name: str, text: str) -> int | None:
        """A whole number; blank is None (the spec says whether one is required)."""
        if not text:
            return None
        if _WHOLE.match(text):
            return int(text)
        self.fail(name, WHOLE_MESSAGE)
        return None

    def cents(self, name: str, text: str) -> int | None:
        """Dollars as whole cents by Decimal, never float: "12.5" -> 1250; a third
        decimal ("12.345") is an error, not a rounding."""
        text = text.replace(",", "")
        match = _DOLLARS.match(text)
        if not text:
            return None
        if match is None or not (match.group(1) or match.group(2)):
            self.fail(name, MONEY_MESSAGE)
            return None
        amount = Decimal(f"{match.group(1) or 0}.{match.group(2) or 0}") * 100
        if amount != amount.to_integral_value():
            self.fail(name, CENTS_MESSAGE)
            return None
        return int(amount)

    def required_cents(self, name: str, text: str) -> int | None:
        if not text:
            self.fail(name, MONEY_MESSAGE)
        return self.cents(name, text)


def build(fields: Mapping[str, Any]) -> Built:
    """The spec document these fields make, validated; or every error, each under
    the name of the field at fault (unknown paths in `form_errors`)."""
    parse = _Parse()
    document = _document(parse, fields)
    try:
        protocol_checks.check_document(document)
        spec = rules.validate_spec(copy.deepcopy(document))
        protocol_checks.check_spec(document)
    except rules.SpecError as error:
        errors, form_errors = _place(error.errors, fields, parse.errors)
        return Built(None, None, errors, form_errors)
    except InvalidInput as error:
        # What saving would refuse, shown at the preview already, next to its field.
        found = rules.FieldError(
            (error.field or "").removeprefix("spec."), error.message
        )
        errors, form_errors = _place((found,), fields, parse.errors)
        return Built(None, None, errors, form_errors)
    if parse.errors:
        return Built(None, None, parse.errors, [])
    return Built(document, spec)


def _document(parse: _Parse, fields: Mapping[str, Any]) -> dict[str, Any]:
    phases = [
        _phase(parse, f"phases-{i}", phase) for i, phase in enumerate(fields["phases"])
    ]
    bowl = _bowl(parse, fields["bowl"]) if _draws(fields) else None
    for phase in phases:
        for schedule in (phase["specimen"], *_listed(phase["attendance"])):
            if schedule is not None and schedule["type"] == "prize_draws":
                schedule["bowl"] = bowl
    document: dict[str, Any] = {"spec": 1, "key": fields["key"], "name": fields["name"]}
    for name in ("label", "source", "confidence"):
        if fields.get(name):
            document[name] = fields[name]
    return {
        **document,
        "unit_cents": parse.required_cents("unit", fields["unit"]),
        "targets": {"substances": fields["targets"], "combine": fields["combine"]},
        "results": dict(fields["results"]),
        "corrections": fields["corrections"],
        "extra_tests": fields["extra_tests"],
        "phases": phases,
        "caps": _caps(parse, fields["caps"]),
    }


def _draws(fields: Mapping[str, Any]) -> bool:
    """Whether any schedule pays prize draws (otherwise the bowl is not used)."""
    return any(
        schedule["type"] == "prize_draws"
        for phase in fields["phases"]
        for schedule in (phase["specimen"], *phase["attendance"])
    )


def _listed(
    attendance: dict[str, Any] | list[dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    """A phase's attendance schedules: none, one or a list of them."""
    if attendance is None:
        return []
    return attendance if isinstance(attendance, list) else [attendance]


def _phase(parse: _Parse, prefix: str, phase: Mapping[str, Any]) -> dict[str, Any]:
    weeks = [
        parse.whole(f"{prefix}-weeks_from", phase["weeks_from"]),
        parse.whole(f"{prefix}-weeks_to", phase["weeks_to"]),
    ]
    schedules = [
        _attendance(parse, f"{prefix}-attendance-{i}", item)
        for i, item in enumerate(phase["attendance"])
    ]
    specimen = phase["specimen"]
    return {
        "weeks": weeks,
        "testing_days": list(phase["testing_days"]),
        "specimen": None
        if specimen["type"] == "none"
        else _specimen(parse, f"{prefix}-specimen", specimen),
        # One schedule is written as an object, as the presets write it.
        "attendance": schedules[0] if len(schedules) == 1 else (schedules or None),
    }


def _specimen(parse: _Parse, prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    if values["type"] == "fixed":
        return {
            "type": "fixed",
            "amount": parse.whole(f"{prefix}-amount", values["amount"]),
        }
    return {
        **_escalation(parse, prefix, values),
        "per": values["per"],
        "reset_on": list(values["reset_on"]),
        "recovery_after": parse.whole(
            f"{prefix}-recovery_after", values["recovery_after"]
        ),
    }


def _escalation(
    parse: _Parse, prefix: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    """type, start, step, max and bonus: what every escalating schedule has."""
    return {
        "type": values["type"],
        "start": parse.whole(f"{prefix}-start", values["start"]),
        "step": parse.whole(f"{prefix}-step", values["step"]),
        "max": parse.whole(f"{prefix}-max", values["max"]),
        "bonus": _bonus(parse, prefix, values),
    }


def _bonus(
    parse: _Parse, prefix: str, values: Mapping[str, Any]
) -> dict[str, int | None] | None:
    every = parse.whole(f"{prefix}-bonus_every", values["bonus_every"])
    amount = parse.whole(f"{prefix}-bonus_amount", values["bonus_amount"])
    if not values["bonus_every"] and not values["bonus_amount"]:
        return None
    for name in ("bonus_every", "bonus_amount"):
        if not values[name]:
            parse.fail(f"{prefix}-{name}", "Give both of the bonus fields, or neither.")
    return {"every": every, "amount": amount}


def _attendance(
    parse: _Parse, prefix: str, values: Mapping[str, Any]
) -> dict[str, Any]:
    if values["type"] == "fixed":
        amount = parse.whole(f"{prefix}-amount", values["amount"])
        schedule: dict[str, Any] = {"type": "fixed", "amount": amount}
    else:
        schedule = _escalation(parse, prefix, values)
    schedule["session_types"] = list(values["session_types"])
    if values["days"]:
        schedule["days"] = list(values["days"])
    # Written only when set, so a document stays valid for a parser that predates
    # attendance by appointment.
    if values["scheduled"]:
        schedule["scheduled"] = True
    if values["on_time_minutes"]:
        minutes = parse.whole(f"{prefix}-on_time_minutes", values["on_time_minutes"])
        schedule["on_time_minutes"] = minutes
    if values["type"] != "fixed" and values["reset_on"]:
        schedule["reset_on"] = list(values["reset_on"])
    if values["type"] != "fixed" and values["recovery_after"]:
        recovery = parse.whole(f"{prefix}-recovery_after", values["recovery_after"])
        schedule["recovery_after"] = recovery
    return schedule


def _bowl(parse: _Parse, rows: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "tier": row["tier"],
            "slips": parse.whole(f"bowl-{i}-slips", row["slips"]),
            "value_cents": parse.required_cents(f"bowl-{i}-value", row["value"]),
        }
        for i, row in enumerate(rows)
    ]


def _caps(parse: _Parse, caps: Mapping[str, Any]) -> dict[str, Any]:
    limits = {f"{name}_cents": parse.cents(f"caps-{name}", caps[name]) for name in CAPS}
    return {
        **limits,
        "crossing": caps["crossing"],
        "count_draws_at_expected_value": bool(caps["count_draws"]),
    }


# ---- spec error paths -> field names ------------------------------------------------

# Spec path (dashed) -> the form's name for it, where the form names it differently.
_RENAMES = (
    (r"^unit_cents$", "unit"),
    (r"^targets(-substances(-\d+)?)?$", "targets"),
    (r"^targets-combine$", "combine"),
    # The form has one bowl; every draw schedule carries a copy of it.
    (r"^phases-\d+-(specimen|attendance-\d+)-bowl", "bowl"),
    (r"^bowl-(\d+)-value_cents$", r"bowl-\1-value"),
    (r"-bonus(-every)?$", "-bonus_every"),
    (r"-bonus-amount$", "-bonus_amount"),
    (r"-(testing_days|reset_on|session_types|days)-\d+$", r"-\1"),
    (r"^caps-(per_\w+)_cents$", r"caps-\1"),
    (r"^caps-count_draws_at_expected_value$", "caps-count_draws"),
    (r"^(phases-\d+-(specimen|attendance-\d+))$", r"\1-type"),
)


def field_name(path: str) -> str:
    """The form field a spec error path belongs to, e.g. "phases[0].specimen.start"
    -> "phases-0-specimen-start" and "caps.per_week_cents" -> "caps-per_week"."""
    name = re.sub(r"\[(\d+)\]", r"-\1", path).replace(".", "-")
    # A phase with one attendance schedule writes it as an object, not a list.
    name = re.sub(r"^(phases-\d+-attendance)(?=-[a-z]|$)", r"\1-0", name)
    for pattern, replacement in _RENAMES:
        name = re.sub(pattern, replacement, name)
    return name


def _place(
    found: tuple[rules.FieldError, ...],
    fields: Mapping[str, Any],
    parsed: dict[str, list[str]],
) -> tuple[dict[str, list[str]], list[str]]:
    """Spec errors under their fields, after the parse errors; a field that could not
    be read gets no second message about the value it did not get."""
    errors = {name: list(messages) for name, messages in parsed.items()}
    known = field_names(fields)
    form_errors: list[str] = []
    for error in found:
        name = field_name(error.path)
        message = _wording(name, error.message)
        if name not in known:
            form_errors.append(str(error))
        elif not _read_failed(name, parsed) and message not in errors.get(name, []):
            errors.setdefault(name, []).append(message)
    return errors, form_errors


def _read_failed(name: str, parsed: Mapping[str, list[str]]) -> bool:
    parts = (name, f"{name}_from", f"{name}_to") if name.endswith("-weeks") else (name,)
    return any(part in parsed for part in parts)


# The spec speaks of JSON values; the form of boxes to tick and fill in.
_PLAIN = {
    "must be a non-empty string": "Fill this in.",
    "is required": "Fill this in.",
    "must not be empty": "Tick at least one.",
}
_JSON_WORDS = (
    ("without scheduled: true (booked sessions)", "unless by appointment,"),
    ("scheduled: true", "attendance by appointment"),
    ('when reset_on has "late"', 'when "Late" starts over'),
    ("must be null", "must be blank"),
    ("must be empty", "must be unticked"),
)


def _wording(name: str, message: str) -> str:
    """A spec message in the form's words: phases[1] is "phase 2" on the page."""
    if name in ("phases", "bowl") and message == "must not be empty":
        return f"Add at least one {'phase' if name == 'phases' else 'tier'}."
    message = _PLAIN.get(message, message)
    for words, plain in _JSON_WORDS:
        message = message.replace(words, plain)
    message = re.sub(
        r"phases\[(\d+)\]", lambda m: f"phase {int(m.group(1)) + 1}", message
    )
    return message[:1].upper() + message[1:]


def field_names(fields: Mapping[str, Any]) -> set[str]:
    """Every name the form shows an error under: its inputs and its groups."""
    names = {name for name, _ in flatten(_every_box_ticked(fields))}
    names |= {"phases", "bowl"}
    names |= {f"phases-{i}-weeks" for i in range(len(fields["phases"]))}
    return names


def _every_box_ticked(fields: Mapping[str, Any]) -> dict[str, object]:
    # flatten leaves out empty lists and False, which are still inputs on the page.
    def tick(value: object) -> object:
        if isinstance(value, dict):
            return {name: tick(item) for name, item in value.items()}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            return [tick(row) for row in value]
        if isinstance(value, list | bool):
            return ["y"]
        return value

    return {name: tick(item) for name, item in fields.items()}


# ---- preview ------------------------------------------------------------------------


NOTHING_TO_SIMULATE = (
    "Nothing to simulate: the protocol schedules no tests and no sessions. Tick "
    "its testing days, or the days its attendance sessions are held."
)


@dataclass(frozen=True)
class Preview:
    """What a protocol costs: every test negative (or session attended), and a
    cohort of COHORT_SIZE at COHORT_P_NEGATIVE, draws at the bowl's expected value.

    A valid protocol may schedule nothing to simulate (attendance with no days):
    then `problem` says so and there are no figures."""

    best: rules.SimulationResult | None
    cohort: rules.CohortResult | None
    attendance_only: bool
    problem: str | None = None

    @property
    def best_cost_cents(self) -> int:
        return round_half_up(self._best().cost_cents)

    @property
    def best_prizes_cents(self) -> int:
        return round_half_up(self._best().expected_prize_cents)

    @property
    def chance_percent(self) -> int:
        return round_half_up(self._cohort().p_negative * 100)

    # The figures of a preview with a `problem` do not exist: AttributeError, as
    # reading them from None was (a template shows them only without a problem).
    def _best(self) -> rules.SimulationResult:
        if self.best is None:
            raise AttributeError(f"no figures: {self.problem}")
        return self.best

    def _cohort(self) -> rules.CohortResult:
        if self.cohort is None:
            raise AttributeError(f"no figures: {self.problem}")
        return self.cohort


def preview(spec: rules.ProtocolSpec) -> Preview:
    """Simulate the spec without storing anything (the same fold the service runs)."""
    # The simulator's rule (rules.simulate.calendar): no test days, so sessions.
    only = not any(phase.testing_days for phase in spec.phases)
    try:
        best = rules.theoretical_maximum(spec)
        cohort = rules.simulate_cohort(
            spec, COHORT_SIZE, COHORT_P_NEGATIVE, COHORT_SEED
        )
    except rules.SimulationError:
        return Preview(None, None, only, problem=NOTHING_TO_SIMULATE)
    return Preview(best, cohort, attendance_only=only)
