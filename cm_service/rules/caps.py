"""Money caps across every schedule of a participant.

Owns the scopes of a protocol's `caps` (docs/protocol-spec.md: per test, ISO week,
calendar month, enrollment and calendar year, the last spanning enrollments), the
crossing rule, and the caps of the funding program that pays for an award's day
(docs/funding.md: per award, calendar month and calendar year, the last two spanning
enrollments), which stack with the protocol's: the smaller room binds. Amounts are whole
points or draws; money is cents, held as exact Fractions because a draw counted at its
expected value is worth a fraction of a cent. Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from .messages import N_, Cents, Join, Msg, msg
from .money import round_half_up
from .spec import Caps

# Money is exact: whole cents as ints, a draw at its expected value a Fraction.
Money = int | Fraction

_LABELS = {
    "per_test_cents": Msg(N_("per test")),
    "per_week_cents": Msg(N_("per week")),
    "per_month_cents": Msg(N_("per month")),
    "per_enrollment_cents": Msg(N_("per enrollment")),
    "per_calendar_year_cents": Msg(N_("per calendar year")),
}


_PROGRAM_LABELS = {
    "per_award_cents": Msg(N_("per award")),
    "per_month_cents": Msg(N_("per calendar month")),
    "per_calendar_year_cents": Msg(N_("per calendar year")),
}


@dataclass(frozen=True)
class ProgramCaps:
    """The caps of a funding program over the days it funds an enrollment, from
    `starts_on` to `ends_on` (inclusive; None = open). `program` is its id: its
    month and year windows count every award it paid the participant, across
    enrollments. A cap of None does not bind."""

    program: int
    name: str
    starts_on: date
    ends_on: date | None = None
    per_award_cents: int | None = None
    per_month_cents: int | None = None
    per_calendar_year_cents: int | None = None

    def covers(self, on: date) -> bool:
        return self.starts_on <= on and (self.ends_on is None or on <= self.ends_on)

    def windows(self, on: date, group: Hashable) -> dict[str, Hashable]:
        """The window of each of its scopes an award on `on` falls in. An award's
        window is its test's (an award and its bonus are one incentive)."""
        award = group if isinstance(group, tuple) else (group,)
        return {
            "per_award_cents": ("program", self.program, "award", *award),
            "per_month_cents": ("program", self.program, "month", on.year, on.month),
            "per_calendar_year_cents": ("program", self.program, "year", on.year),
        }


def program_on(programs: tuple[ProgramCaps, ...], on: date) -> ProgramCaps | None:
    """The program funding the day `on` (an award is capped by that one only)."""
    return next((p for p in programs if p.covers(on)), None)


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class CapMeter:
    """Money counted so far per scope window, e.g. ("year", 2026) -> cents.

    `year_paid_cents` (per year) and `paid_elsewhere` (per program window) are
    what the participant's other enrollments were paid; `programs` the funding
    programs whose caps stack with the protocol's (facts, carried with the count).
    """

    used: Mapping[Hashable, Money] = field(default_factory=_empty)
    year_paid_cents: Mapping[int, int] = field(default_factory=_empty)
    programs: tuple[ProgramCaps, ...] = ()
    paid_elsewhere: Mapping[Hashable, int] = field(default_factory=_empty)

    def spent(self, window: Hashable) -> Money:
        if window in self.used:
            return self.used[window]
        if isinstance(window, tuple) and window[0] == "year":
            # Money paid in the participant's other enrollments this year counts too.
            return Fraction(self.year_paid_cents.get(window[1], 0))
        if isinstance(window, tuple) and window[0] == "program":
            # So does what the program paid them in other enrollments.
            return Fraction(self.paid_elsewhere.get(window, 0))
        return Fraction(0)

    def add(self, windows: list[Hashable], cents: Money) -> CapMeter:
        return self.add_each(dict.fromkeys(windows, cents))

    def add_each(self, cents: Mapping[Hashable, Money]) -> CapMeter:
        """Count `cents[window]` more in each window."""
        used = dict(self.used)
        for window, more in cents.items():
            used[window] = self.spent(window) + more
        return replace(self, used=MappingProxyType(used))


@dataclass(frozen=True)
class Cut:
    """What the caps let through: `amount` paid and the money they withheld, and
    when they withheld any, `note` saying which cap ("capped at $200.00 per
    month: paid $4.00 of $10.00")."""

    amount: int
    withheld: Money
    note: Msg | None = None


def windows(on: date, group: Hashable) -> dict[str, Hashable]:
    """The window of each scope an award on `on` falls in; `group` is the test."""
    # A week cap is an ISO week (Mon-Sun) and the month and year caps are calendar
    # ones, as funders count them (OIG AO 22-04: $200/month; CA: $599/calendar year).
    iso = on.isocalendar()
    return {
        "per_test_cents": ("test", group),
        "per_week_cents": ("week", iso.year, iso.week),
        "per_month_cents": ("month", on.year, on.month),
        "per_enrollment_cents": ("enrollment",),
        "per_calendar_year_cents": ("year", on.year),
    }


SAME = Fraction(-1)  # program_unit: the award's own unit_cents

# The protocol's caps that bind, (scope, cap), in the order of `windows`.
ActiveCaps = tuple[tuple[str, int], ...]
_SCOPES = tuple(windows(date(2026, 1, 5), None))


def active_caps(caps: Caps) -> ActiveCaps:
    """The scopes of `caps` with a cap, in the order of `windows`."""
    return tuple(
        (scope, getattr(caps, scope))
        for scope in _SCOPES
        if getattr(caps, scope) is not None
    )


def apply_caps(
    caps: Caps,
    meter: CapMeter,
    *,
    on: date,
    group: Hashable,
    amount: int,
    unit_cents: Money | None,
    account: str = "points",
    program_unit: Money | None = SAME,
) -> tuple[Cut, CapMeter]:
    """Cap an award of `amount` units worth `unit_cents` each; count what is paid.

    `unit_cents` None means the award is not money for the protocol's caps (draws,
    unless `count_draws_at_expected_value`); `program_unit` is what a unit is worth
    to a funding program's caps (a draw at its expected value: a funder counts what
    it pays for), by default `unit_cents`. `partial` pays the whole units that fit;
    `none` pays nothing for an award that would cross a cap.
    """
    used: dict[Hashable, Money] = dict(meter.used)
    paid, withheld, note, counted = cap_into(
        caps.crossing,
        active_caps(caps),
        meter,
        used,
        on,
        group,
        amount,
        unit_cents,
        account,
        program_unit,
    )
    cut = Cut(paid, withheld, note)
    if not counted:
        return cut, meter
    return cut, replace(meter, used=MappingProxyType(used))


def cap_into(
    crossing: str,
    protocol_caps: ActiveCaps,
    meter: CapMeter,
    used: dict[Hashable, Money],
    on: date,
    group: Hashable,
    amount: int,
    unit_cents: Money | None,
    account: str = "points",
    program_unit: Money | None = SAME,
) -> tuple[int, Money, Msg | None, bool]:
    """`apply_caps` counting into `used` (the meter's windows, changed in place;
    `meter` gives the programs and what other enrollments were paid) with the
    protocol's `protocol_caps` (active_caps) and its `crossing` rule. Returns
    the units paid, the money withheld, the note naming the caps that cut it,
    and whether any cap applied (and so `used` changed)."""
    window: Hashable
    if program_unit is SAME:
        program_unit = unit_cents
    if unit_cents and not meter.programs:
        # The usual case, the protocol's caps alone: when the whole award fits
        # every one, count it and pay it; else work the cut out below.
        money = amount * unit_cents
        fitted = []
        for scope, cap in protocol_caps:
            if scope == "per_test_cents":
                window = ("test", group)
            elif scope == "per_calendar_year_cents":
                window = ("year", on.year)
            elif scope == "per_enrollment_cents":
                window = ("enrollment",)
            else:
                window = _window(scope, on, group)
            spent = used.get(window)
            if spent is None:
                # A test's window is new; the year's may hold other enrollments'.
                test = scope == "per_test_cents"
                spent = 0 if test else _spent(meter, used, window)
            if money > cap - spent:
                break
            fitted.append((window, spent))
        else:
            for window, spent in fitted:
                used[window] = spent + money
            return amount, 0, None, bool(fitted)
    # Scope, window, cap, unit and money spent of every cap that binds: the
    # protocol's, then those of the program funding that day ("program:" scopes).
    limits: list[tuple[str, Hashable, int, Money, Money]] = []
    if unit_cents:
        for scope, cap in protocol_caps:
            if scope == "per_test_cents":
                window = ("test", group)
            elif scope == "per_calendar_year_cents":
                window = ("year", on.year)
            elif scope == "per_enrollment_cents":
                window = ("enrollment",)
            else:
                window = _window(scope, on, group)
            spent = used.get(window)
            if spent is None:
                spent = _spent(meter, used, window)
            limits.append((scope, window, cap, unit_cents, spent))
    same = unit_cents
    program = program_on(meter.programs, on) if meter.programs else None
    if program is not None and program_unit:
        for scope, window in program.windows(on, group).items():
            program_cap = getattr(program, scope)
            if program_cap is not None:
                spent = _spent(meter, used, window)
                scope = f"program:{scope}"
                limits.append((scope, window, program_cap, program_unit, spent))
        units = {unit for _, _, _, unit, _ in limits}
        same = units.pop() if len(units) == 1 else None
    if not limits:
        return amount, 0, None, False
    # The room of each cap, in money, or in units of the award when a program
    # values a unit differently (a draw): whichever is smallest binds.
    rooms: list[Money] = [
        cap - spent if same else Fraction(cap - spent) / unit
        for _, _, cap, unit, spent in limits
    ]
    room = min(rooms)
    unit = limits[rooms.index(room)][3]
    paid = amount
    if (amount * unit if same else amount) > room:
        # Whole units only: a point or a draw cannot be split.
        fits = max(room, 0) // unit if same else int(max(room, 0))
        paid = min(amount, int(fits)) if crossing == "partial" else 0
    note = None
    if paid < amount:
        # Name every cap that binds as tightly (CA: per enrollment and per year).
        tied = [limits[n][0] for n, found in enumerate(rooms) if found == room]
        note = _note(
            {scope: (window, cap) for scope, window, cap, _, _ in limits},
            tied,
            paid,
            amount,
            unit,
            account,
            program,
        )
    for _, window, _, found_unit, spent in limits:
        used[window] = spent + paid * found_unit
    return paid, (amount - paid) * unit, note, True


def _window(scope: str, on: date, group: Hashable) -> Hashable:
    """`windows(on, group)[scope]`, making only that one."""
    if scope == "per_test_cents":
        return ("test", group)
    if scope == "per_calendar_year_cents":
        return ("year", on.year)
    if scope == "per_enrollment_cents":
        return ("enrollment",)
    if scope == "per_month_cents":
        return ("month", on.year, on.month)
    iso = on.isocalendar()
    return ("week", iso.year, iso.week)


def _spent(meter: CapMeter, used: dict[Hashable, Money], window: Hashable) -> Money:
    """`CapMeter.spent` of the windows `used` holds now."""
    found = used.get(window)
    if found is not None:
        return found
    if isinstance(window, tuple) and window[0] == "year":
        return meter.year_paid_cents.get(window[1], 0)
    if isinstance(window, tuple) and window[0] == "program":
        return meter.paid_elsewhere.get(window, 0)
    return 0


def _label(scope: str) -> Msg:
    if scope.startswith("program:"):
        return _PROGRAM_LABELS[scope.removeprefix("program:")]
    return _LABELS[scope]


def _note(
    limits: Mapping[str, tuple[Hashable, int]],
    scopes: list[str],
    paid: int,
    amount: int,
    unit: Money,
    account: str,
    program: ProgramCaps | None = None,
) -> Msg:
    # The protocol's caps first, then the program's, each named by its rule
    # ("$750.00 per calendar year (SAMHSA grant)").
    parts: list[object] = []
    for mine in (
        [s for s in scopes if not s.startswith("program:")],
        [s for s in scopes if s.startswith("program:")],
    ):
        if not mine:
            continue
        caps = {limits[s][1] for s in mine}
        if len(caps) == 1:
            label = Join("and", tuple(_label(s) for s in mine))
            found = [msg(N_("%(cap)s %(scope)s"), cap=Cents(caps.pop()), scope=label)]
        else:
            found = [
                msg(N_("%(cap)s %(scope)s"), cap=Cents(limits[s][1]), scope=_label(s))
                for s in mine
            ]
        if mine[0].startswith("program:") and program is not None:
            found = [
                msg(N_("%(cap)s (%(program)s)"), cap=part, program=program.name)
                for part in found
            ]
        parts += found
    which: object = parts[0] if len(parts) == 1 else Join("and", tuple(parts))
    paid_text = msg(
        N_("paid %(paid)s of %(owed)s"),
        paid=_cents(paid * unit),
        owed=_cents(amount * unit),
    )
    if account == "draws":
        paid_text = msg(
            N_("paid %(paid)s of %(owed)s draws (at their expected value)"),
            paid=paid,
            owed=amount,
        )
    return msg(N_("capped at %(which)s: %(paid)s"), which=which, paid=paid_text)


def _cents(value: Money) -> Cents:
    return Cents(round_half_up(value))
