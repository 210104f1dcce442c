"""Rewards are priced in money and paid in the participant's own points (issue 12,
finding 6): a $10 item costs 20 points at 50 cents a point, 40 at 25 cents."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import LedgerEntry, Reward
from cm_service.services.cm import corrections, ledger, participants, pricing, rewards
from cm_service.services.errors import Conflict, InvalidInput
from tests.support.factories import NOW, START, make_enrolled, make_staff, protocol_id


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", role="admin")


def _item(admin, cost_cents: int, name: str = "Bus pass", stock: int = 5) -> Reward:
    return rewards.add_reward(
        admin,
        name,
        tier=None,
        cost_cents=cost_cents,
        value_cents=cost_cents,
        stock=stock,
        now=NOW,
    )


def _holding(staff, clinic, key: str, code: str, points: int = 100):
    person, _ = make_enrolled(staff, clinic, key=key, code=code)
    corrections.adjust_points(staff, person.id, points, "Opening balance", now=NOW)
    return person


def test_a_ten_dollar_item_costs_each_participant_their_protocols_points(
    staff, clinic, admin
):
    bus_pass = _item(admin, 1000)
    california = _holding(staff, clinic, "ca-recovery-incentives", "P-0001")
    higgins = _holding(staff, clinic, "higgins-1994", "P-0002")

    ca_entry = rewards.redeem(staff, california.id, bus_pass.id, "n-1", now=NOW)
    higgins_entry = rewards.redeem(staff, higgins.id, bus_pass.id, "n-2", now=NOW)

    assert (ca_entry.amount, ca_entry.cents) == (-20, -1000)
    assert (higgins_entry.amount, higgins_entry.cents) == (-40, -1000)
    assert ca_entry.rule == "Redeemed Bus pass $10.00 = 20 points at 50¢ a point"
    assert higgins_entry.rule == "Redeemed Bus pass $10.00 = 40 points at 25¢ a point"
    assert ledger.balance_of(california.id).points == 80
    assert ledger.balance_of(higgins.id).points == 60


def test_a_price_between_whole_points_rounds_up_and_says_so(staff, clinic, admin):
    ticket = _item(admin, 1025, name="Movie ticket")
    person = _holding(staff, clinic, "ca-recovery-incentives", "P-0001")

    entry = rewards.redeem(staff, person.id, ticket.id, "n-1", now=NOW)

    assert entry.amount == -21
    assert entry.rule == (
        "Redeemed Movie ticket $10.25 = 21 points at 50¢ a point (rounded up)"
    )


@pytest.mark.parametrize(
    ("cost_cents", "unit_cents", "points", "rounded_up"),
    [
        (1000, 50, 20, False),
        (1000, 25, 40, False),
        (1025, 50, 21, True),
        (1001, 100, 11, True),
        (1, 25, 1, True),
        (10_000_000, 25, 400_000, False),
    ],
)
def test_points_are_the_price_over_the_unit_rounded_up(
    cost_cents, unit_cents, points, rounded_up
):
    price = pricing.Price(cost_cents, unit_cents)

    assert (price.points, price.rounded_up) == (points, rounded_up)


def test_the_price_describes_itself_in_money_first():
    assert pricing.Price(1000, 50).describe() == "$10.00 (20 points)"
    assert pricing.Price(1025, 50).describe() == "$10.25 (21 points, rounded up)"
    assert pricing.Price(100, 100).describe() == "$1.00 (1 point)"


def test_an_item_is_priced_at_the_current_protocol_not_an_older_one(
    staff, clinic, admin
):
    bus_pass = _item(admin, 1000)
    person = _holding(staff, clinic, "higgins-1994", "P-0001")
    participants.end_enrollment(staff, person.id, "completed", START, now=NOW)
    ca = protocol_id(clinic.id, "ca-recovery-incentives")
    participants.enroll(staff, person.id, ca, START + timedelta(days=7), now=NOW)

    assert rewards.redeem(staff, person.id, bus_pass.id, "n", now=NOW).amount == -20


def test_after_a_completed_enrollment_its_points_still_buy_at_its_unit(
    staff, clinic, admin
):
    bus_pass = _item(admin, 1000)
    person = _holding(staff, clinic, "ca-recovery-incentives", "P-0001")
    participants.end_enrollment(staff, person.id, "completed", START, now=NOW)

    assert rewards.redeem(staff, person.id, bus_pass.id, "n", now=NOW).amount == -20


@pytest.mark.parametrize("key", ["va-prize-2014", None])
def test_without_a_protocol_that_pays_points_the_price_is_a_clear_conflict(
    staff, clinic, admin, key
):
    bus_pass = _item(admin, 1000)
    if key is None:
        person = participants.register_participant(staff, clinic.id, "P-0001", now=NOW)
    else:
        person, _ = make_enrolled(staff, clinic, key=key)
    before = db.session.scalar(select(func.count()).select_from(LedgerEntry))

    with pytest.raises(Conflict) as refused:
        rewards.redeem(staff, person.id, bus_pass.id, "n", now=NOW)

    assert (refused.value.code, refused.value.field) == ("no_points", "reward")
    assert "P-0001" in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(LedgerEntry)) == before
    assert db.session.get(Reward, bus_pass.id).stock == 5


def test_points_sent_with_an_item_must_be_its_price(staff, clinic, admin):
    bus_pass = _item(admin, 1000)
    person = _holding(staff, clinic, "ca-recovery-incentives", "P-0001")

    with pytest.raises(InvalidInput) as refused:
        ledger.redeem_points(staff, person.id, 5, now=NOW, reward_id=bus_pass.id)
    entry = ledger.redeem_points(staff, person.id, 20, now=NOW, reward_id=bus_pass.id)

    assert refused.value.field == "points"
    assert "20 points" in refused.value.message
    assert entry.amount == -20


@pytest.mark.parametrize(
    ("cost_cents", "message"),
    [
        (0, "The price must be above zero."),
        (-500, "The price must be above zero."),
        (10_000_001, "The price can be at most $100,000.00."),
        (True, "The price is a whole number of cents."),
        ("10.00", "The price is a whole number of cents."),
    ],
)
def test_a_bad_price_is_refused_on_its_field(admin, cost_cents, message):
    with pytest.raises(InvalidInput) as refused:
        rewards.add_reward(
            admin,
            "Bus pass",
            tier=None,
            cost_cents=cost_cents,
            value_cents=0,
            stock=1,
            now=NOW,
        )

    assert (refused.value.field, refused.value.message) == ("cost_cents", message)
    assert db.session.scalar(select(func.count()).select_from(Reward)) == 0


def test_the_redeem_screen_prices_items_for_the_participant(staff, clinic, admin):
    _item(admin, 1000)
    _item(admin, 1025, name="Movie ticket")
    person = _holding(staff, clinic, "ca-recovery-incentives", "P-0001")

    screen = rewards.redeem_screen(staff, person.id, now=NOW)

    assert screen.unit_cents == 50
    assert [(r.name, p.describe()) for r, p in screen.items] == [
        ("Bus pass", "$10.00 (20 points)"),
        ("Movie ticket", "$10.25 (21 points, rounded up)"),
    ]
