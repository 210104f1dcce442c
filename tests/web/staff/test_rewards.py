from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Draw, LedgerEntry, Reward, StockMovement
from cm_service.services.cm import checkins, ledger, rewards
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import count, history, page_of
from tests.support.web import csrf_token, log_in

NONCE = re.compile(r'name="nonce" type="hidden" value="([0-9a-f]+)"')
FORM_NONCE = "ab12" * 8  # the shape of a nonce the redeem page makes


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", role="admin")


@pytest.fixture
def voucher(admin):
    return rewards.add_reward(
        admin,
        "Bus pass",
        tier=None,
        cost_cents=1250,  # 50 Higgins points at 25 cents
        value_cents=1250,
        stock=2,
        now=NOW,
    )


@pytest.fixture
def earner(staff, person):
    """P-0001 with three negatives: 85 points."""
    for n in (0, 2, 4):
        day = START + timedelta(days=n)
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )
    return person


def _redeem_form(client, person) -> tuple[str, str]:
    page = page_of(client.get(f"/staff/participants/{person.id}/redeem"))
    return csrf_token(client, f"/staff/participants/{person.id}/redeem"), NONCE.search(
        page
    ).group(1)


def test_redeeming_debits_points_and_takes_the_item_from_stock(
    logged_in, earner, voucher
):
    token, nonce = _redeem_form(logged_in, earner)
    data = {"csrf_token": token, "nonce": nonce, "reward": str(voucher.id)}

    first = logged_in.post(f"/staff/participants/{earner.id}/redeem", data=data)
    again = logged_in.post(f"/staff/participants/{earner.id}/redeem", data=data)

    assert (first.status_code, again.status_code) == (302, 302)
    assert ledger.balance_of(earner.id).points == 35
    db.session.expire_all()
    assert db.session.get(Reward, voucher.id).stock == 1
    move = db.session.scalars(select(StockMovement).where(StockMovement.quantity < 0))
    move = move.one()
    assert (move.participant_id, move.ledger_entry_id is not None) == (earner.id, True)
    page = page_of(logged_in.get(f"/staff/participants/{earner.id}"))
    assert "Redeemed Bus pass $12.50 = 50 points at 25¢ a point" in page


@pytest.mark.parametrize(
    ("reward", "nonce", "status", "message"),
    [
        ("", FORM_NONCE, 422, "Choose a reward."),
        ("999", FORM_NONCE, 422, "Choose a reward from this clinic&#39;s catalogue."),
        (
            "expensive",
            FORM_NONCE,
            409,
            "The balance is 0 points; 500 cannot be redeemed.",
        ),
        ("voucher", "", 422, "Reload the form and try again."),
    ],
)
def test_bad_redemptions_are_refused_next_to_the_field_and_write_nothing(
    logged_in, person, admin, voucher, reward, nonce, status, message
):
    expensive = rewards.add_reward(
        admin, "Phone", tier=None, cost_cents=12500, value_cents=5000, stock=1, now=NOW
    )
    ids = {"voucher": str(voucher.id), "expensive": str(expensive.id)}
    token, _ = _redeem_form(logged_in, person)
    before = (*history(), count(StockMovement))

    response = logged_in.post(
        f"/staff/participants/{person.id}/redeem",
        data={"csrf_token": token, "nonce": nonce, "reward": ids.get(reward, reward)},
    )

    assert response.status_code == status
    assert message in page_of(response)
    assert (*history(), count(StockMovement)) == before


def _draw_one(token: str) -> dict[str, str]:
    # The draw screen's "Draw one", each time from a freshly shown form.
    return {"csrf_token": token, "nonce": uuid.uuid4().hex, "count": "1"}


@pytest.fixture
def prize_earner(staff, clinic, admin):
    person, _ = make_enrolled(staff, clinic, key="petry-ctn-2005", code="P-0002")
    negative = dict.fromkeys(
        ("cocaine", "amphetamine", "methamphetamine", "alcohol"), "negative"
    )
    for n in (0, 3, 7, 10, 14, 17):
        checkins.record_specimen(
            staff, person.id, START + timedelta(days=n), negative, now=NOW
        )
    for tier in ("small", "large", "jumbo"):
        rewards.add_reward(
            admin,
            f"{tier} prize",
            tier=tier,
            cost_cents=None,
            value_cents=100,
            stock=5,
            now=NOW,
        )
    return person


def test_draws_are_made_one_at_a_time_and_a_prize_is_taken_from_stock(
    logged_in, prize_earner
):
    url = f"/staff/participants/{prize_earner.id}/draws"
    waiting = ledger.balance_of(prize_earner.id).draws
    token = csrf_token(logged_in, url)
    prize_draw = None
    while prize_draw is None and ledger.balance_of(prize_earner.id).draws:
        assert logged_in.post(url, data=_draw_one(token)).status_code == 302
        draw = db.session.scalars(select(Draw).order_by(Draw.id.desc())).first()
        prize_draw = draw if draw.value_cents else None
    assert prize_draw is not None, "every draw was 'good job'"
    assert ledger.balance_of(prize_earner.id).draws == waiting - count(Draw)
    page = page_of(logged_in.get(url))
    assert f"{prize_draw.tier.capitalize()} prize" in page
    reward = db.session.scalars(
        select(Reward).where(Reward.tier == prize_draw.tier)
    ).one()

    handed = logged_in.post(
        f"/staff/draws/{prize_draw.id}/prize",
        data={"csrf_token": token, "reward": str(reward.id)},
    )
    twice = logged_in.post(
        f"/staff/draws/{prize_draw.id}/prize",
        data={"csrf_token": token, "reward": str(reward.id)},
    )

    assert handed.status_code == 302
    assert twice.status_code == 409
    assert "A prize was already handed out." in page_of(twice)
    db.session.expire_all()
    assert db.session.get(Reward, reward.id).stock == 4
    move = db.session.scalars(
        select(StockMovement).where(StockMovement.draw_id == prize_draw.id)
    ).one()
    assert move.quantity == -1
    assert f"{reward.name}" in page_of(logged_in.get(url))


def test_a_prize_from_the_wrong_tier_is_refused(logged_in, prize_earner):
    url = f"/staff/participants/{prize_earner.id}/draws"
    token = csrf_token(logged_in, url)
    logged_in.post(url, data=_draw_one(token))
    draw = db.session.scalars(select(Draw)).one()
    wrong = db.session.scalars(
        select(Reward).where(Reward.tier != draw.tier).limit(1)
    ).one()

    response = logged_in.post(
        f"/staff/draws/{draw.id}/prize",
        data={
            "csrf_token": token,
            "reward": str(wrong.id),
            "participant_id": str(prize_earner.id),
        },
    )

    assert response.status_code == 422
    assert f"Choose a prize from the {draw.tier} tier." in page_of(response)
    assert count(StockMovement) == 3  # the opening stock only


def test_a_draw_without_credits_is_a_conflict(logged_in, person):
    url = f"/staff/participants/{person.id}/draws"

    response = logged_in.post(url, data=_draw_one(csrf_token(logged_in, url)))

    assert response.status_code == 409
    assert "No draws are waiting for this participant." in page_of(response)
    assert count(LedgerEntry) == 0


def test_an_admin_adds_a_reward_and_low_stock_is_flagged(client, admin):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/rewards")

    response = client.post(
        "/staff/rewards",
        data={
            "csrf_token": token,
            "name": "Movie ticket",
            "tier": "",
            "cost": "10.25",
            "value": "12.50",
            "stock": "2",
        },
    )

    assert response.status_code == 302
    added = db.session.scalars(select(Reward)).one()
    assert (added.cost_cents, added.value_cents) == (1025, 1250)
    page = page_of(client.get("/staff/rewards"))
    assert "Movie ticket" in page
    assert "<td>$10.25</td>" in page
    assert "$12.50" in page
    assert "Low stock: Movie ticket (2 left)" in page
    assert count(StockMovement) == 1


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": ""}, "name", "Name the reward."),
        ({"value": "12.5"}, "value", "Enter dollars and cents, e.g. 5.00."),
        ({"value": "-1.00"}, "value", "Enter dollars and cents, e.g. 5.00."),
        ({"cost": ""}, "cost", "Give either a bowl tier or a price."),
        ({"tier": "large"}, "cost", "Give either a bowl tier or a price."),
        ({"cost": "0"}, "cost", "The price must be above zero."),
        ({"cost": "0.00"}, "cost", "The price must be above zero."),
        ({"cost": "-10.00"}, "cost", "The price must be above zero."),
        ({"cost": "lots"}, "cost", "Enter dollars and cents, e.g. 10.00."),
        ({"cost": "10.00.00"}, "cost", "Enter dollars and cents, e.g. 10.00."),
        ({"cost": "1e3"}, "cost", "Enter dollars and cents, e.g. 10.00."),
        (
            {"cost": "10.255"},
            "cost",
            "Use at most two decimals (whole cents), e.g. 10.25.",
        ),
        ({"cost": "100000.01"}, "cost", "The price can be at most $100,000.00."),
        ({"cost": "99999999999"}, "cost", "The price can be at most $100,000.00."),
        ({"stock": "-3"}, "stock", "The stock cannot be negative."),
        ({"tier": "mega", "cost": ""}, "tier", "Not a valid choice."),
    ],
)
def test_bad_rewards_are_refused_next_to_the_field(client, admin, data, field, message):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/rewards")
    before = (count(Reward), history())
    body = {
        "name": "Movie ticket",
        "tier": "",
        "cost": "10.00",
        "value": "12.50",
        "stock": "2",
        **data,
    }

    response = client.post("/staff/rewards", data={"csrf_token": token, **body})

    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}</p>' in page_of(response)
    assert (count(Reward), history()) == before


def test_a_refused_price_is_shown_again_as_typed(client, admin):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/rewards")
    body = {"name": "Movie ticket", "tier": "", "cost": "10.255", "value": "12.50"}

    response = client.post("/staff/rewards", data={"csrf_token": token, **body})

    assert response.status_code == 422
    assert 'id="cost" inputmode="decimal" name="cost" type="text" value="10.255"' in (
        page_of(response)
    )


def test_the_redeem_screen_shows_each_price_in_the_participants_points(
    logged_in, staff, clinic, admin
):
    rewards.add_reward(
        admin,
        "Bus pass",
        tier=None,
        cost_cents=1000,
        value_cents=1000,
        stock=2,
        now=NOW,
    )
    rewards.add_reward(
        admin, "Movie", tier=None, cost_cents=1025, value_cents=1025, stock=1, now=NOW
    )
    california, _ = make_enrolled(staff, clinic, key="ca-recovery-incentives")
    higgins, _ = make_enrolled(staff, clinic, code="P-0002")

    ca_page = page_of(logged_in.get(f"/staff/participants/{california.id}/redeem"))
    higgins_page = page_of(logged_in.get(f"/staff/participants/{higgins.id}/redeem"))

    assert "Bus pass: $10.00 (20 points), 2 left" in ca_page
    assert "Movie: $10.25 (21 points, rounded up), 1 left" in ca_page
    assert "For P-0001 a point is worth 50¢" in ca_page
    assert "Bus pass: $10.00 (40 points), 2 left" in higgins_page
    assert "Movie: $10.25 (41 points), 1 left" in higgins_page  # exact at 25¢
    assert "For P-0002 a point is worth 25¢" in higgins_page


def test_redeeming_without_a_points_protocol_says_why(
    logged_in, staff, clinic, voucher
):
    person, _ = make_enrolled(staff, clinic, key="va-prize-2014")
    token, nonce = _redeem_form(logged_in, person)
    page = page_of(logged_in.get(f"/staff/participants/{person.id}/redeem"))
    before = (*history(), count(StockMovement))

    response = logged_in.post(
        f"/staff/participants/{person.id}/redeem",
        data={"csrf_token": token, "nonce": nonce, "reward": str(voucher.id)},
    )

    assert "Bus pass: $12.50, 2 left" in page
    assert "P-0001 is on no protocol that pays points" in page
    assert response.status_code == 409
    assert '<p class="error" id="reward-error">P-0001 is on no protocol that pays' in (
        page_of(response)
    )
    assert (*history(), count(StockMovement)) == before


def test_staff_cannot_add_rewards_but_can_receive_stock(logged_in, voucher):
    token = csrf_token(logged_in, "/staff/rewards")

    added = logged_in.post(
        "/staff/rewards", data={"csrf_token": token, "name": "x", "value": "1.00"}
    )
    received = logged_in.post(
        f"/staff/rewards/{voucher.id}/stock",
        data={"csrf_token": token, "quantity": "10", "note": "Invoice 42"},
    )

    assert (added.status_code, received.status_code) == (403, 302)
    db.session.expire_all()
    assert db.session.get(Reward, voucher.id).stock == 12


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        ("", "Enter how many arrived."),
        ("abc", "Enter a whole number, e.g. 25 or -25."),
        ("0", "Enter how many arrived, 1 to 10000."),
        ("-4", "Enter how many arrived, 1 to 10000."),
    ],
)
def test_bad_stock_receipts_are_refused(logged_in, voucher, quantity, message):
    token = csrf_token(logged_in, "/staff/rewards")
    before = count(StockMovement)

    response = logged_in.post(
        f"/staff/rewards/{voucher.id}/stock",
        data={"csrf_token": token, "quantity": quantity},
    )

    assert response.status_code == 422
    assert message in page_of(response)
    assert count(StockMovement) == before


def test_the_custody_page_reconciles_the_month(logged_in, earner, voucher):
    token, nonce = _redeem_form(logged_in, earner)
    logged_in.post(
        f"/staff/participants/{earner.id}/redeem",
        data={"csrf_token": token, "nonce": nonce, "reward": str(voucher.id)},
    )

    page = page_of(logged_in.get("/staff/custody?month=2026-02"))

    row = re.search(r"<th scope=\"row\">Bus pass</th>(.*?)</tr>", page).group(1)
    assert re.findall(r">(-?\d+)<", row) == ["0", "2", "1", "1", "1"]
    assert "P-0001 (redemption)" in page
    assert logged_in.get("/staff/custody?month=feb").status_code == 422


def test_another_clinics_rewards_and_draws_are_404(logged_in, other_clinic):
    boss = make_staff(other_clinic, "otherboss", role="admin")
    theirs = rewards.add_reward(
        boss,
        "Theirs",
        tier="small",
        cost_cents=None,
        value_cents=100,
        stock=1,
        now=NOW,
    )
    outsider, _ = make_enrolled(boss, other_clinic, code="P-0900")
    token = csrf_token(logged_in, "/staff/rewards")

    assert (
        logged_in.post(
            f"/staff/rewards/{theirs.id}/stock",
            data={"csrf_token": token, "quantity": "3"},
        ).status_code
        == 404
    )
    assert logged_in.get(f"/staff/participants/{outsider.id}/draws").status_code == 404
    assert logged_in.get(f"/staff/participants/{outsider.id}/redeem").status_code == 404
    assert (
        logged_in.post(
            f"/staff/participants/{outsider.id}/draws", data={"csrf_token": token}
        ).status_code
        == 404
    )
    assert "Theirs" not in page_of(logged_in.get("/staff/rewards"))
