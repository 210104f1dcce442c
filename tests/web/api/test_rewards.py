"""Rewards over the API: prices in cents, paid in the participant's own points."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, LedgerEntry, StockMovement
from cm_service.services.cm import corrections, rewards
from tests.support.factories import NOW, make_enrolled, make_staff


@pytest.fixture
def catalogue(clinic):
    admin = make_staff(clinic, "boss", role="admin")
    items = {
        name: rewards.add_reward(
            admin, name, tier=None, cost_cents=cents, value_cents=0, stock=3, now=NOW
        ).id
        for name, cents in (("Bus pass", 1000), ("Movie", 1025))
    }
    rewards.add_reward(
        admin, "Snack", tier="small", cost_cents=None, value_cents=100, stock=3, now=NOW
    )
    return items


@pytest.fixture
def california(staff, clinic):
    person, _ = make_enrolled(staff, clinic, key="ca-recovery-incentives")
    corrections.adjust_points(staff, person.id, 100, "Opening balance", now=NOW)
    return person


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_prices_are_given_in_cents_and_in_the_participants_points(
    api, catalogue, california
):
    response = api.get("/participants/P-0001/rewards")

    assert response.status_code == 200
    body = response.json
    assert (body["code"], body["unit_cents"]) == ("P-0001", 50)
    assert body["balance"] == {"points": 100, "cents": 5000, "draws": 0}
    assert [
        (r["name"], r["cost_cents"], r["points"], r["rounded_up"])
        for r in body["rewards"]
    ] == [("Bus pass", 1000, 20, False), ("Movie", 1025, 21, True)]
    view = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_redeem")
    ).one()
    assert (view.actor_type, view.participant_id) == ("api", california.id)


def test_without_a_points_protocol_prices_have_no_points(api, staff, clinic, catalogue):
    make_enrolled(staff, clinic, key="va-prize-2014")

    body = api.get("/participants/P-0001/rewards").json

    assert body["unit_cents"] is None
    assert {(r["cost_cents"], r["points"]) for r in body["rewards"]} == {
        (1000, None),
        (1025, None),
    }


def test_redeeming_an_item_debits_its_price_in_points(api, catalogue, california):
    response = api.post(
        "/participants/P-0001/redemptions", json={"reward_id": catalogue["Movie"]}
    )

    assert response.status_code == 201
    redemption = response.json["redemption"]
    assert (redemption["amount"], redemption["cents"]) == (-21, -1050)
    assert redemption["rule"] == (
        "Redeemed Movie $10.25 = 21 points at 50¢ a point (rounded up)"
    )
    assert response.json["balance"]["points"] == 79


def test_points_that_are_not_the_items_price_are_refused(api, catalogue, california):
    before = (_count(LedgerEntry), _count(StockMovement))

    response = api.post(
        "/participants/P-0001/redemptions",
        json={"reward_id": catalogue["Bus pass"], "points": 10},
    )

    assert response.status_code == 422
    assert response.json == {
        "error": "invalid_input",
        "field": "points",
        "message": "Bus pass costs $10.00 (20 points) for P-0001; "
        "leave out points or send that many.",
    }
    assert (_count(LedgerEntry), _count(StockMovement)) == before
    same = api.post(
        "/participants/P-0001/redemptions",
        json={"reward_id": catalogue["Bus pass"], "points": 20},
    )
    assert same.status_code == 201


def test_an_item_for_a_participant_without_points_is_a_409(
    api, staff, clinic, catalogue
):
    make_enrolled(staff, clinic, key="va-prize-2014")
    before = (_count(LedgerEntry), _count(StockMovement))

    response = api.post(
        "/participants/P-0001/redemptions", json={"reward_id": catalogue["Bus pass"]}
    )

    assert response.status_code == 409
    assert (response.json["error"], response.json["field"]) == ("no_points", "reward")
    assert "P-0001 is on no protocol that pays points" in response.json["message"]
    assert (_count(LedgerEntry), _count(StockMovement)) == before
