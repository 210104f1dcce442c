"""Catalogue prices: items cost money, participants pay in their own points.

A point is worth its protocol's `unit_cents` (25 cents on Higgins, 50 on California's
Recovery Incentives), so a $10.00 item costs 40 points on one and 20 on the other.
Points are the price over the unit, rounded up: a participant never pays less than
the price, and where rounding happened every screen and ledger row says so.

The unit is that of the participant's current protocol: the most recent active
enrollment whose protocol pays points; when none is active (a participant spending
what is left after completing), the most recent enrollment that paid points.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select

from ...extensions import db
from ...models import Enrollment, Participant
from ...rules.messages import N_, Cents, Msg, english, msg
from ...rules.money import format_cents
from ...rules.spec import ProtocolSpec
from ..errors import Conflict
from .timeline import spec_of

MAX_PRICE_CENTS = 10_000_000  # $100,000.00: above it a price is a typing mistake


@dataclass(frozen=True)
class Price:
    """An item's price in cents and what it costs at `unit_cents` a point."""

    cents: int
    unit_cents: int

    @property
    def points(self) -> int:
        return -(-self.cents // self.unit_cents)  # rounded up, in integers

    @property
    def rounded_up(self) -> bool:
        return self.points * self.unit_cents != self.cents

    def describe(self) -> str:
        """ "$10.00 (20 points)", "$10.25 (21 points, rounded up)"."""
        points = f"{self.points} point{'' if self.points == 1 else 's'}"
        return f"{format_cents(self.cents)} ({points}" + (
            ", rounded up)" if self.rounded_up else ")"
        )

    def rule(self, name: str) -> str:
        """The redemption's ledger explanation."""
        return english(self.rule_msg(name))

    def rule_msg(self, name: str) -> Msg:
        """`rule` as a message (rules/messages.py), for the ledger's `why`."""
        text = (
            N_(
                "Redeemed %(reward)s %(price)s = %(points)s points at %(unit)s a point"
                " (rounded up)"
            )
            if self.rounded_up
            else N_(
                "Redeemed %(reward)s %(price)s = %(points)s points at %(unit)s a point"
            )
        )
        return msg(
            text,
            reward=name,
            price=Cents(self.cents),
            points=self.points,
            unit=unit_msg(self.unit_cents),
        )


def unit_words(unit_cents: int) -> str:
    """25 -> "25¢", 100 -> "$1.00"."""
    return english(unit_msg(unit_cents))


def unit_msg(unit_cents: int) -> Msg | Cents:
    return (
        msg(N_("%(cents)s¢"), cents=unit_cents)
        if unit_cents < 100
        else Cents(unit_cents)
    )


def pays_points(spec: ProtocolSpec) -> bool:
    """Whether any schedule of the protocol pays points (not only prize draws)."""
    return any(
        schedule is not None and schedule.account == "points"
        for phase in spec.phases
        for schedule in (phase.specimen, *phase.attendance)
    )


def unit_cents_of(participant_id: int) -> int | None:
    """What one of the participant's points is worth now; None if no enrollment of
    theirs pays points."""
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.participant_id == participant_id)
        .order_by(
            case((Enrollment.status == "active", 0), else_=1),
            Enrollment.start_on.desc(),
            Enrollment.id.desc(),
        )
    )
    for enrollment in enrollments:
        spec = spec_of(enrollment.protocol)
        if pays_points(spec):
            return spec.unit_cents
    return None


def price_for(participant: Participant, cost_cents: int) -> Price:
    """The price of an item for this participant. Raises Conflict("no_points",
    field "reward") when none of their protocols pays points."""
    unit = unit_cents_of(participant.id)
    if unit is None:
        raise Conflict(
            "no_points",
            f"{participant.code} is on no protocol that pays points, so an item "
            "priced in dollars has no price in points for them.",
            "reward",
        )
    return Price(cost_cents, unit)
