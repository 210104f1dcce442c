from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, corrections, rewards
from tests.browser.test_staff_checkin import TABLET, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, START, make_enrolled, make_staff

pytestmark = pytest.mark.browser
NEGATIVE = dict.fromkeys(
    ("cocaine", "amphetamine", "methamphetamine", "alcohol"), "negative"
)


@pytest.fixture
def stocked(live_app, clock):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    admin = make_staff(clinic, "boss", role="admin")
    for tier, name in (
        ("small", "Snack voucher"),
        ("large", "Bus pass"),
        ("jumbo", "Phone card"),
    ):
        rewards.add_reward(
            admin, name, tier=tier, cost_cents=None, value_cents=100, stock=4, now=NOW
        )
    rewards.add_reward(
        admin,
        "Movie ticket",
        tier=None,
        cost_cents=1250,  # 50 points at Higgins' 25 cents
        value_cents=1250,
        stock=2,
        now=NOW,
    )
    rewards.add_reward(
        admin,
        "Transit card",
        tier=None,
        cost_cents=1000,
        value_cents=1000,
        stock=4,
        now=NOW,
    )
    prize, _ = make_enrolled(staff, clinic, key="petry-ctn-2005", code="P-0001")
    voucher, _ = make_enrolled(staff, clinic, code="P-0002")
    for n in (0, 3, 7, 10):
        checkins.record_specimen(
            staff, prize.id, START + timedelta(days=n), NEGATIVE, now=NOW
        )
    for n in (0, 2, 4):
        checkins.record_specimen(
            staff,
            voucher.id,
            START + timedelta(days=n),
            {"cocaine": "negative"},
            now=NOW,
        )
    california, _ = make_enrolled(
        staff, clinic, key="ca-recovery-incentives", code="P-0003"
    )
    corrections.adjust_points(staff, california.id, 30, "Opening balance", now=NOW)
    urls = (
        f"/staff/participants/{prize.id}/draws",
        f"/staff/participants/{voucher.id}/redeem",
        f"/staff/participants/{california.id}/redeem",
    )
    release_database()
    return urls


def test_staff_make_draws_and_hand_out_a_prize_from_stock(
    page: Page, live_server, stocked
):
    page.set_viewport_size(TABLET)
    log_in(page, live_server)
    page.goto(live_server + stocked[0])
    waiting = int(page.locator("#draws-waiting").inner_text())
    assert waiting > 0

    # When staff make draws one at a time until one wins a prize
    for _ in range(waiting):
        page.get_by_role("button", name="Draw one").click()
        expect(page.locator("#draw-results .result")).to_have_count(1)
        if page.get_by_role("button", name=re.compile("^Give ")).count():
            break
    screenshot(page, "staff-draws")
    assert serious_accessibility_violations(page) == []

    # Then they pick the prize handed out, and it leaves stock
    hand_out = page.get_by_role("button", name=re.compile("^Give "))
    if hand_out.count():
        hand_out.first.click()
        expect(page.get_by_role("status")).to_have_text(
            "Prize handed out and taken from stock."
        )
        expect(page.locator("#draws-made")).to_contain_text(
            re.compile("Snack voucher|Bus pass|Phone card")
        )
        page.get_by_role("link", name="Rewards").click()
        expect(page.locator("#catalogue")).to_contain_text("3")
        screenshot(page, "staff-rewards")
        assert serious_accessibility_violations(page) == []


def test_staff_redeem_points_for_a_catalogue_item(page: Page, live_server, stocked):
    log_in(page, live_server)
    page.goto(live_server + stocked[1])
    expect(page.locator("#balance")).to_have_text("85 points · $21.25")

    page.get_by_label("Reward").select_option(
        label="Movie ticket: $12.50 (50 points), 2 left"
    )
    screenshot(page, "staff-redeem")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Redeem").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Redeemed Movie ticket $12.50 = 50 points at 25¢ a point"
    )
    expect(page.locator("#balance")).to_have_text("35 points · $8.75")
    expect(page.locator("#redemptions")).to_contain_text("Movie ticket")
    page.get_by_role("link", name="Custody").click()
    expect(page.locator("#movements")).to_contain_text("P-0002 (redemption)")
    screenshot(page, "staff-custody")
    assert serious_accessibility_violations(page) == []


def test_a_ten_dollar_item_costs_a_california_participant_20_points(
    page: Page, live_server, stocked
):
    log_in(page, live_server)
    page.goto(live_server + stocked[2])
    expect(page.locator("#balance")).to_have_text("30 points · $15.00")
    expect(page.locator("#point-value")).to_contain_text(
        "For P-0003 a point is worth 50¢"
    )

    page.get_by_label("Reward").select_option(
        label="Transit card: $10.00 (20 points), 4 left"
    )
    page.get_by_role("button", name="Redeem").click()

    expect(page.get_by_role("status")).to_contain_text(
        "Redeemed Transit card $10.00 = 20 points at 50¢ a point"
    )
    expect(page.locator("#balance")).to_have_text("10 points · $5.00")
