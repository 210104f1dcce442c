"""Money caps across every schedule of a participant.

Owns the scopes of SPEC.md `caps` (per test, ISO week, calendar month, enrollment and
calendar year, the last spanning enrollments) and the crossing rule. Amounts are whole
points or draws; money is cents, held as exact Fractions because a draw counted at its
expected value is worth a fraction of a cent. Imports only the standard library.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from types import MappingProxyType

from .messages import N_, Cents, Join, Msg, msg
from .money import round_half_up
from .spec import Caps

_LABELS = {
    "per_test_cents": Msg(N_("per test")),
    "per_week_cents": Msg(N_("per week")),
    "per_month_cents": Msg(N_("per month")),
    "per_enrollment_cents": Msg(N_("per enrollment")),
    "per_calendar_year_cents": Msg(N_("per calendar year")),
}


@dataclass(frozen=True)
class CapMeter:
    """Money counted so far per scope window, e.g. ("year", 2026) -> cents."""

    used: Mapping[Hashable, Fraction] = field(
        default_factory=lambda: MappingProxyType({})
    )
    year_paid_cents: Mapping[int, int] = field(
        default_factory=lambda: MappingProxyType({})
    )

    def spent(self, window: Hashable) -> Fraction:
        if window in self.used:
            return self.used[window]
        if isinstance(window, tuple) and window[0] == "year":
            # Money paid in the participant's other enrollments this year counts too.
            return Fraction(self.year_paid_cents.get(window[1], 0))
        return Fraction(0)

    def add(self, windows: list[Hashable], cents: Fraction) -> CapMeter:
        used = dict(self.used)
        for window in windows:
            used[window] = self.spent(window) + cents
        return CapMeter(MappingProxyType(used), self.year_paid_cents)


@dataclass(frozen=True)
class Cut:
    """What the caps let through: `amount` paid and the money they withheld, and
    when they withheld any, `note` saying which cap ("capped at $200.00 per
    month: paid $4.00 of $10.00")."""

    amount: int
    withheld: Fraction
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


def apply_caps(
    caps: Caps,
    meter: CapMeter,
    *,
    on: date,
    group: Hashable,
    amount: int,
    unit_cents: Fraction | None,
    account: str = "points",
) -> tuple[Cut, CapMeter]:
    """Cap an award of `amount` units worth `unit_cents` each; count what is paid.

    `unit_cents` None means the award is not money for the caps (draws, unless
    `count_draws_at_expected_value`). `partial` pays the whole units that fit;
    `none` pays nothing for an award that would cross a cap.
    """
    scopes = {
        scope: window
        for scope, window in windows(on, group).items()
        if getattr(caps, scope) is not None
    }
    if unit_cents is None or unit_cents == 0 or not scopes:
        return Cut(amount, Fraction(0)), meter
    rooms = {
        scope: getattr(caps, scope) - meter.spent(window)
        for scope, window in scopes.items()
    }
    binding = min(rooms, key=rooms.__getitem__, default=None)
    paid = amount
    if binding is not None and amount * unit_cents > rooms[binding]:
        # Whole units only: a point or a draw cannot be split.
        fits = max(rooms[binding], Fraction(0)) // unit_cents
        paid = min(amount, int(fits)) if caps.crossing == "partial" else 0
    cut = Cut(paid, (amount - paid) * unit_cents)
    if paid < amount:
        # Name every cap that binds as tightly (CA: per enrollment and per year).
        tied = [scope for scope in rooms if rooms[scope] == rooms[binding]]
        note = _note(caps, tied, paid, amount, unit_cents, account)
        cut = Cut(paid, cut.withheld, note)
    return cut, meter.add(list(scopes.values()), paid * unit_cents)


def _note(
    caps: Caps, scopes: list[str], paid: int, amount: int, unit: Fraction, account: str
) -> Msg:
    limits = {getattr(caps, scope) for scope in scopes}
    if len(limits) == 1:
        label = Join("and", tuple(_LABELS[scope] for scope in scopes))
        which: object = msg(
            N_("%(cap)s %(scope)s"), cap=Cents(limits.pop()), scope=label
        )
    else:
        which = Join(
            "and",
            tuple(
                msg(
                    N_("%(cap)s %(scope)s"),
                    cap=Cents(getattr(caps, s)),
                    scope=_LABELS[s],
                )
                for s in scopes
            ),
        )
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


def _cents(value: Fraction) -> Cents:
    return Cents(round_half_up(value))
