"""The protocol spec (format v1): frozen dataclasses and `validate_spec`.

Owns the shape and the validation of a protocol document as docs/protocol-spec.md fixes
it. A spec is data written by clinics, so validation reports every problem it finds,
each named by its field path (`phases[0].specimen.step`). Imports only the standard
library.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from .draws import Tier

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RESETTABLE = ("positive", "missed", "refused")
# What can reset a schedule of booked sessions (`scheduled: true`, docs/attendance.md).
SESSION_RESETTABLE = ("missed", "late")
MAPPED_RESULTS = ("dilute", "invalid", "adulterated", "substituted")
RESULT_OUTCOMES = ("positive", "missed", "recollect")
SCHEDULE_TYPES = ("escalating", "fixed", "prize_draws")
CAP_SCOPES = (
    "per_test_cents",
    "per_week_cents",
    "per_month_cents",
    "per_enrollment_cents",
    "per_calendar_year_cents",
)
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# The spec marks only `bonus` optional for a specimen schedule: every other knob that
# changes what a clinic pays must be written out, not defaulted. Attendance schedules
# reset only when sessions are booked, so their reset knobs are optional.
_SPECIMEN_FIELDS = ("start", "step", "max", "per", "reset_on", "recovery_after")
_ATTENDANCE_FIELDS = ("start", "step", "max")
_OPTIONAL_FIELDS = ("bonus", "per", "reset_on", "recovery_after")
_SESSION_OPTIONAL = ("days", "scheduled", "on_time_minutes")


@dataclass(frozen=True)
class FieldError:
    """One problem in a spec, named by the path of the field that has it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(ValueError):
    """A protocol document is invalid; `errors` lists every problem found."""

    def __init__(self, errors: tuple[FieldError, ...] | list[FieldError]) -> None:
        self.errors = tuple(errors)
        super().__init__("\n".join(str(error) for error in self.errors))


@dataclass(frozen=True)
class Bonus:
    every: int
    amount: int


@dataclass(frozen=True)
class Schedule:
    """One reinforcement schedule (specimen or attendance) of a phase.

    `fixed` uses only `amount`; `escalating` and `prize_draws` use start/step/max and
    the reset fields; `prize_draws` pays draws from `bowl`.
    """

    type: str
    start: int = 0
    step: int = 0
    max: int | None = None
    per: str = "test"
    bonus: Bonus | None = None
    reset_on: frozenset[str] = frozenset()
    recovery_after: int | None = None
    amount: int = 0
    bowl: tuple[Tier, ...] = ()
    session_types: tuple[str, ...] = ()
    # Attendance: the weekdays (0 = Monday) the clinic usually holds these sessions.
    days: tuple[int, ...] = ()
    # Attendance by appointment: only booked sessions count, and each ends attended,
    # late, missed or excused (protocol spec `scheduled`); late needs `on_time_minutes`.
    scheduled: bool = False
    on_time_minutes: int | None = None

    @property
    def account(self) -> str:
        return "draws" if self.type == "prize_draws" else "points"

    @property
    def escalates(self) -> bool:
        return self.type != "fixed"

    def value(self, level: int) -> int:
        """The amount a negative (or attended session) earns at escalation `level`."""
        if not self.escalates:
            return self.amount
        raw = self.start + self.step * level
        return raw if self.max is None else min(raw, self.max)


@dataclass(frozen=True)
class Phase:
    weeks_from: int
    weeks_to: int
    testing_days: tuple[int, ...]  # weekday numbers, 0 = Monday
    specimen: Schedule | None
    # Each schedule pays its own session types (group pays draws, individual points).
    attendance: tuple[Schedule, ...] = ()


@dataclass(frozen=True)
class Targets:
    substances: tuple[str, ...]
    combine: str


@dataclass(frozen=True)
class Caps:
    per_test_cents: int | None = None
    per_week_cents: int | None = None
    per_month_cents: int | None = None
    per_enrollment_cents: int | None = None
    per_calendar_year_cents: int | None = None
    crossing: str = "partial"
    count_draws_at_expected_value: bool = False


@dataclass(frozen=True)
class ProtocolSpec:
    """A validated protocol; `raw` is a copy of its document (for storage)."""

    key: str
    name: str
    source: str
    unit_cents: int
    targets: Targets
    results: Mapping[str, str]
    corrections: str
    phases: tuple[Phase, ...]
    caps: Caps
    confidence: str | None = None
    # What a specimen on an unscheduled day does: reset_only | ignore | count.
    extra_tests: str = "reset_only"
    # A short name for pages and selects ("Escalating vouchers, cocaine"); `name`
    # may be the long, cited one. None: pages show `name`.
    label: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def end_week(self) -> int:
        """The last enrollment week in which awards are made."""
        return self.phases[-1].weeks_to


def validate_spec(data: object) -> ProtocolSpec:
    """Validate a protocol document (a parsed JSON object) against spec v1.

    Returns the ProtocolSpec. Raises SpecError listing every problem, each with the
    path of its field, e.g. `phases[0].specimen.step: must be a non-negative integer`.
    """
    checker = _Checker()
    spec = _parse_spec(checker, data)
    if checker.errors or spec is None:
        raise SpecError(checker.errors)
    return spec


class _Checker:
    """Collects FieldErrors while the parsers walk a document."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def fail(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    def fields(
        self,
        path: str,
        value: object,
        required: tuple[str, ...],
        optional: tuple[str, ...],
    ) -> Mapping[str, Any] | None:
        """Check that `value` is an object with these fields and no others."""
        if not isinstance(value, dict):
            self.fail(path or "(root)", "must be an object")
            return None
        for name in value:
            if name not in required and name not in optional:
                self.fail(_join(path, str(name)), "unknown field")
        for name in required:
            if name not in value:
                self.fail(_join(path, name), "is required")
        return value

    def integer(
        self, path: str, value: object, *, minimum: int = 0, nullable: bool = False
    ) -> int | None:
        # bool is an int subclass and floats such as 2.5 or 10.0 are not amounts:
        # amounts are whole points, cents or draws (docs/protocol-spec.md).
        if value is None and nullable:
            return None
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        kind = "a positive integer" if minimum >= 1 else "a non-negative integer"
        self.fail(path, f"must be {kind}" + (" or null" if nullable else ""))
        return None

    def choice(self, path: str, value: object, choices: tuple[str, ...]) -> str | None:
        if isinstance(value, str) and value in choices:
            return value
        self.fail(path, "must be one of " + ", ".join(f'"{c}"' for c in choices))
        return None

    def text(self, path: str, value: object, *, non_empty: bool = False) -> str:
        if isinstance(value, str) and (value.strip() or not non_empty):
            return value
        self.fail(
            path, "must be a non-empty string" if non_empty else "must be a string"
        )
        return ""

    def items(self, path: str, value: object, *, non_empty: bool = False) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return []
        if non_empty and not value:
            self.fail(path, "must not be empty")
        return value

    def unique(
        self, path: str, values: list[Any], parse: Callable[[str, Any], Any]
    ) -> tuple[Any, ...]:
        """Parse each item; report an item that repeats an earlier one."""
        parsed: list[Any] = []
        for index, item in enumerate(values):
            value = parse(f"{path}[{index}]", item)
            if value is not None and value in parsed:
                self.fail(f"{path}[{index}]", "is listed twice")
            elif value is not None:
                parsed.append(value)
        return tuple(parsed)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


_TOP_REQUIRED = ("spec", "key", "name", "unit_cents", "targets", "phases")
_TOP_OPTIONAL = (
    "label",
    "source",
    "confidence",
    "results",
    "corrections",
    "caps",
    "extra_tests",
)
EXTRA_TESTS = ("reset_only", "ignore", "count")
LABEL_MAX = 60  # a short name fits a select and a table cell on a phone


def _parse_spec(c: _Checker, data: object) -> ProtocolSpec | None:
    doc = c.fields("", data, _TOP_REQUIRED, _TOP_OPTIONAL)
    if doc is None:
        return None
    if "spec" in doc and (doc["spec"] != 1 or isinstance(doc["spec"], bool)):
        c.fail("spec", "must be 1 (the only format version)")
    confidence = doc.get("confidence")
    return ProtocolSpec(
        key=_parse_key(c, doc["key"]) if "key" in doc else "",
        name=c.text("name", doc.get("name", "-"), non_empty=True),
        source=c.text("source", doc.get("source", "")),
        unit_cents=c.integer("unit_cents", doc.get("unit_cents", 1), minimum=1) or 1,
        targets=_parse_targets(c, doc.get("targets", {"substances": ["-"]})),
        results=_parse_results(c, doc.get("results", {})),
        corrections=_parse_corrections(c, doc.get("corrections", "no_clawback")),
        phases=_parse_phases(c, doc.get("phases", [])),
        caps=_parse_caps(c, doc.get("caps", {})),
        confidence=None if confidence is None else c.text("confidence", confidence),
        extra_tests=c.choice(
            "extra_tests", doc.get("extra_tests", "reset_only"), EXTRA_TESTS
        )
        or "reset_only",
        label=_parse_label(c, doc["label"]) if "label" in doc else None,
        raw=copy.deepcopy(doc),
    )


def _parse_label(c: _Checker, value: object) -> str | None:
    text = c.text("label", value, non_empty=True)
    if len(text) > LABEL_MAX:
        c.fail("label", f"must be at most {LABEL_MAX} characters")
    return text or None


def _parse_key(c: _Checker, value: object) -> str:
    if isinstance(value, str) and _SLUG.match(value):
        return value
    c.fail("key", "must be a slug: lowercase letters, digits and hyphens")
    return ""


def _parse_corrections(c: _Checker, value: object) -> str:
    return c.choice("corrections", value, ("no_clawback", "clawback")) or "no_clawback"


def _parse_targets(c: _Checker, value: object) -> Targets:
    doc = c.fields("targets", value, ("substances",), ("combine",)) or {}
    names = c.items("targets.substances", doc.get("substances", ["-"]), non_empty=True)
    substances = c.unique(
        "targets.substances", names, lambda p, v: c.text(p, v, non_empty=True) or None
    )
    combine = c.choice("targets.combine", doc.get("combine", "all"), ("all", "any"))
    return Targets(substances=substances, combine=combine or "all")


def _parse_results(c: _Checker, value: object) -> Mapping[str, str]:
    doc = c.fields("results", value, (), MAPPED_RESULTS) or {}
    # A result the protocol does not map counts as positive: the CM norm that a
    # failed specimen is a failure to provide (CRA manual, Budney & Higgins 1998).
    mapping = dict.fromkeys(MAPPED_RESULTS, "positive")
    for name in MAPPED_RESULTS:
        if name in doc:
            mapping[name] = (
                c.choice(f"results.{name}", doc[name], RESULT_OUTCOMES) or ""
            )
    return MappingProxyType(mapping)


def _parse_caps(c: _Checker, value: object) -> Caps:
    optional = (*CAP_SCOPES, "crossing", "count_draws_at_expected_value")
    doc = c.fields("caps", value, (), optional) or {}
    limits = {
        scope: c.integer(f"caps.{scope}", doc.get(scope), minimum=0, nullable=True)
        for scope in CAP_SCOPES
    }
    crossing = c.choice(
        "caps.crossing", doc.get("crossing", "partial"), ("partial", "none")
    )
    by_ev = doc.get("count_draws_at_expected_value", False)
    if not isinstance(by_ev, bool):
        c.fail("caps.count_draws_at_expected_value", "must be true or false")
    return Caps(
        **limits, crossing=crossing or "partial", count_draws_at_expected_value=by_ev
    )


def _parse_phases(c: _Checker, value: object) -> tuple[Phase, ...]:
    phases = tuple(
        _parse_phase(c, f"phases[{i}]", item)
        for i, item in enumerate(c.items("phases", value, non_empty=True))
    )
    _check_consecutive(c, phases)
    return phases


def _check_consecutive(c: _Checker, phases: tuple[Phase, ...]) -> None:
    """Phases must tile the weeks from week 1 with no overlap and no gap."""
    # Zeros mark week ranges already reported as invalid: no second error for them.
    if phases and phases[0].weeks_from not in (0, 1):
        c.fail("phases[0].weeks", "the first phase must start at week 1")
    for index in range(1, len(phases)):
        before, phase = phases[index - 1], phases[index]
        if 0 in (before.weeks_to, phase.weeks_from):
            continue
        span = f"phases[{index - 1}] (weeks {before.weeks_from}-{before.weeks_to})"
        if phase.weeks_from <= before.weeks_to:
            c.fail(f"phases[{index}].weeks", f"overlaps {span}")
        elif phase.weeks_from > before.weeks_to + 1:
            c.fail(f"phases[{index}].weeks", f"leaves a gap after {span}")


def _parse_phase(c: _Checker, path: str, value: object) -> Phase:
    doc = c.fields(path, value, ("weeks", "testing_days"), ("specimen", "attendance"))
    doc = doc or {}
    weeks_from, weeks_to = (0, 0)
    if "weeks" in doc:
        weeks_from, weeks_to = _parse_weeks(c, f"{path}.weeks", doc["weeks"])
    names = c.items(f"{path}.testing_days", doc.get("testing_days", []))
    days = c.unique(f"{path}.testing_days", names, lambda p, v: _parse_weekday(c, p, v))
    specimen = _parse_schedule(c, f"{path}.specimen", doc.get("specimen"), False)
    attendance = _parse_attendance(c, f"{path}.attendance", doc.get("attendance"))
    # A paid specimen schedule with no test days could only pay extra tests:
    # almost certainly a mistake in a clinic-written protocol.
    if specimen is not None and not names and "testing_days" in doc:
        c.fail(f"{path}.testing_days", "must name a day when the phase pays specimens")
    return Phase(weeks_from, weeks_to, tuple(sorted(days)), specimen, attendance)


def _parse_attendance(c: _Checker, path: str, value: object) -> tuple[Schedule, ...]:
    """One attendance schedule, or a list of them with disjoint session types."""
    if isinstance(value, list):
        found = [
            _parse_schedule(c, f"{path}[{i}]", item, True)
            for i, item in enumerate(value)
        ]
    else:
        found = [_parse_schedule(c, path, value, True)]
    schedules = tuple(s for s in found if s is not None)
    seen: set[str] = set()
    for index, schedule in enumerate(schedules):
        twice = sorted(seen & set(schedule.session_types))
        if twice:
            c.fail(
                f"{path}[{index}].session_types",
                f"{', '.join(twice)} is already paid by another attendance schedule",
            )
        seen |= set(schedule.session_types)
    return schedules


def _parse_weekday(c: _Checker, path: str, value: object) -> int | None:
    if isinstance(value, str) and value in WEEKDAYS:
        return WEEKDAYS.index(value)
    c.fail(path, 'must be a weekday: "mon", "tue", "wed", "thu", "fri", "sat" or "sun"')
    return None


def _parse_weeks(c: _Checker, path: str, value: object) -> tuple[int, int]:
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or not 1 <= value[0] <= value[1]
    ):
        c.fail(path, "must be [first week, last week] with 1 <= first <= last")
        return 0, 0
    return value[0], value[1]


def _parse_schedule(
    c: _Checker, path: str, value: object, attendance: bool
) -> Schedule | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        c.fail(path, "must be an object or null")
        return None
    if "type" not in value:
        c.fail(f"{path}.type", "is required")
        return None
    kind = c.choice(f"{path}.type", value["type"], SCHEDULE_TYPES)
    if kind is None:
        return None
    extra = ("session_types",) if attendance else ()
    optional_days = _SESSION_OPTIONAL if attendance else ()
    if kind == "fixed":
        doc = c.fields(path, value, ("type", "amount", *extra), optional_days) or {}
        fixed = Schedule(type="fixed", amount=_amount(c, path, doc, "amount"))
        return _with_sessions(c, path, doc, fixed, attendance)
    bowl_field = ("bowl",) if kind == "prize_draws" else ()
    knobs = _ATTENDANCE_FIELDS if attendance else _SPECIMEN_FIELDS
    required = ("type", *knobs, *bowl_field, *extra)
    doc = c.fields(path, value, required, (*_OPTIONAL_FIELDS, *optional_days)) or {}
    _check_attendance_resets(c, path, doc, attendance)
    schedule = _parse_escalating(c, path, doc, kind, attendance)
    return _with_sessions(c, path, doc, schedule, attendance)


def _amount(c: _Checker, path: str, doc: Mapping[str, Any], name: str) -> int:
    return c.integer(f"{path}.{name}", doc.get(name, 0)) or 0


def _parse_escalating(
    c: _Checker, path: str, doc: Mapping[str, Any], kind: str, attendance: bool
) -> Schedule:
    start = _amount(c, path, doc, "start")
    ceiling = c.integer(f"{path}.max", doc.get("max"), nullable=True)
    if ceiling is not None and ceiling < start:
        c.fail(f"{path}.max", "must be at least start (or null for no maximum)")
    recovery = c.integer(
        f"{path}.recovery_after", doc.get("recovery_after"), minimum=1, nullable=True
    )
    return Schedule(
        type=kind,
        start=start,
        step=_amount(c, path, doc, "step"),
        max=ceiling,
        per=c.choice(f"{path}.per", doc.get("per", "test"), ("test", "week")) or "test",
        bonus=_parse_bonus(c, f"{path}.bonus", doc.get("bonus")),
        reset_on=_parse_reset_on(
            c,
            f"{path}.reset_on",
            doc.get("reset_on", []),
            SESSION_RESETTABLE if attendance else RESETTABLE,
        ),
        recovery_after=recovery,
        bowl=_parse_bowl(c, f"{path}.bowl", doc["bowl"]) if "bowl" in doc else (),
    )


def _check_attendance_resets(
    c: _Checker, path: str, doc: Mapping[str, Any], attendance: bool
) -> None:
    # Only a booked session can be missed or late, so only attendance by
    # appointment resets (docs/protocol-spec.md).
    if not attendance:
        return
    if doc.get("per", "test") != "test":
        c.fail(
            f"{path}.per", 'must be "test": attendance escalates per attended session'
        )
    if doc.get("scheduled", False) is not False:  # not bool: reported on its own
        reset_on = doc.get("reset_on")
        late = isinstance(reset_on, list) and "late" in reset_on
        if late and doc.get("on_time_minutes") is None:
            c.fail(
                f"{path}.on_time_minutes",
                'is required when reset_on has "late": how many minutes after '
                "the start a participant is late",
            )
        return
    why = "without scheduled: true (booked sessions) attendance never resets"
    if doc.get("reset_on"):
        c.fail(f"{path}.reset_on", f"must be empty: {why}")
    if doc.get("recovery_after") is not None:
        c.fail(f"{path}.recovery_after", f"must be null: {why}")


def _with_sessions(
    c: _Checker, path: str, doc: Mapping[str, Any], schedule: Schedule, attendance: bool
) -> Schedule:
    if not attendance:
        return schedule
    names = c.items(
        f"{path}.session_types", doc.get("session_types", ["-"]), non_empty=True
    )
    types = c.unique(
        f"{path}.session_types",
        names,
        lambda p, v: c.text(p, v, non_empty=True) or None,
    )
    weekdays = c.items(f"{path}.days", doc.get("days", []))
    days = c.unique(f"{path}.days", weekdays, lambda p, v: _parse_weekday(c, p, v))
    scheduled = doc.get("scheduled", False)
    if not isinstance(scheduled, bool):
        c.fail(f"{path}.scheduled", "must be true or false")
        scheduled = False
    on_time = c.integer(
        f"{path}.on_time_minutes", doc.get("on_time_minutes"), nullable=True
    )
    if on_time is not None and not scheduled:
        c.fail(f"{path}.on_time_minutes", "needs scheduled: true (booked start times)")
    if on_time is not None and on_time > 240:
        c.fail(f"{path}.on_time_minutes", "must be at most 240 minutes")
    return replace(
        schedule,
        session_types=types,
        days=tuple(sorted(days)),
        scheduled=scheduled,
        on_time_minutes=on_time,
    )


def _parse_bonus(c: _Checker, path: str, value: object) -> Bonus | None:
    if value is None:
        return None
    doc = c.fields(path, value, ("every", "amount"), ())
    if doc is None:
        return None
    every = c.integer(f"{path}.every", doc.get("every", 1), minimum=1) or 1
    return Bonus(
        every=every, amount=c.integer(f"{path}.amount", doc.get("amount", 0)) or 0
    )


def _parse_reset_on(
    c: _Checker, path: str, value: object, choices: tuple[str, ...]
) -> frozenset[str]:
    items = c.items(path, value)
    return frozenset(c.unique(path, items, lambda p, v: c.choice(p, v, choices)))


def _parse_bowl(c: _Checker, path: str, value: object) -> tuple[Tier, ...]:
    tiers = tuple(
        _parse_tier(c, f"{path}[{i}]", item)
        for i, item in enumerate(c.items(path, value, non_empty=True))
    )
    names = [tier.tier for tier in tiers]
    for index, name in enumerate(names):
        if name and name in names[:index]:
            c.fail(f"{path}[{index}].tier", "is listed twice")
    return tiers


def _parse_tier(c: _Checker, path: str, value: object) -> Tier:
    doc = c.fields(path, value, ("tier", "slips", "value_cents"), ()) or {}
    return Tier(
        tier=c.text(f"{path}.tier", doc.get("tier", "-"), non_empty=True),
        slips=c.integer(f"{path}.slips", doc.get("slips", 1), minimum=1) or 1,
        value_cents=c.integer(f"{path}.value_cents", doc.get("value_cents", 0)) or 0,
    )


def bowl_of(spec: ProtocolSpec) -> tuple[Tier, ...]:
    """The first prize bowl the protocol draws from, or () when it pays no draws."""
    for phase in spec.phases:
        for schedule in (phase.specimen, *phase.attendance):
            if schedule is not None and schedule.bowl:
                return schedule.bowl
    return ()
