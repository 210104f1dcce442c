"""The draw screen on a tablet (issue 16): from a VA prize participant's negative to
every draw made in one tap, the results big and announced, a prize owed when the
clinic has none of its tier."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from cm_service import rules
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import checkins, rewards
from tests.browser.test_staff_checkin import TABLET, log_in
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_enrolled, make_staff

pytestmark = pytest.mark.browser
NEGATIVE = dict.fromkeys(("cocaine", "amphetamine", "methamphetamine"), "negative")
THURSDAY = date(2026, 1, 29)  # a VA testing day, the Thursday before NOW
TOUCH = 44  # px: the smallest comfortable touch target (WCAG 2.5.5)


def _rig(monkeypatch, *tiers: str) -> None:
    """The bowl gives these tiers in order (the draws stay the service's)."""
    order = iter(tiers)

    def pick(bowl, _digest):
        wanted = next(order)
        return next(t for t in bowl if t.tier == wanted)

    monkeypatch.setattr(rules, "pick_tier", pick)


@pytest.fixture
def va_clinic(live_app, clock):
    """A VA prize participant whose Thursday negative left 1 draw waiting; the
    clinic's bowl prizes as the demo's, the jumbo tier out of stock."""
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    staff = make_staff(clinic, "tech")
    admin = make_staff(clinic, "boss", role="admin")
    for name, tier, value, stock in (
        ("Snack voucher", "small", 100, 40),
        ("Movie ticket", "large", 2000, 6),
        ("Phone card", "jumbo", 10000, 0),
    ):
        rewards.add_reward(
            admin,
            name,
            tier=tier,
            cost_cents=None,
            value_cents=value,
            stock=stock,
            now=NOW,
        )
    person, _ = make_enrolled(
        staff, clinic, key="va-prize-2014", code="P-0003", start=THURSDAY
    )
    checkins.record_specimen(staff, person.id, THURSDAY, NEGATIVE, now=NOW)
    person_id = person.id
    release_database()
    return person_id


def _tall_enough(locator) -> None:
    for i in range(locator.count()):
        box = locator.nth(i).bounding_box()
        assert box is not None
        assert box["height"] >= TOUCH, locator.nth(i).inner_text()


def test_a_negative_then_draw_all_shows_every_result(
    page: Page, live_server, va_clinic, monkeypatch
):
    _rig(monkeypatch, "small", "good_job", "large")
    page.set_viewport_size(TABLET)
    log_in(page, live_server)

    # The board lists the draw waiting from Thursday
    expect(page.locator("#draws-waiting")).to_contain_text("P-0003: 1 draw waiting")
    screenshot(page, "staff-draw-board")

    # When staff record today's negative
    page.get_by_role("link", name="P-0003", exact=True).first.click()
    page.get_by_role("button", name="Record all negative").click()

    # Then the answer offers the draws, one click away
    draw_now = page.get_by_role("link", name=re.compile("^Draw now"))
    expect(draw_now).to_have_text("Draw now · 3 draws waiting")
    screenshot(page, "staff-draw-checkin-answer")
    assert serious_accessibility_violations(page) == []
    draw_now.click()

    # And the draw screen makes all three in one tap
    expect(page.locator("#draws-waiting")).to_have_text("3")
    _tall_enough(page.locator(".draw-buttons button"))
    screenshot(page, "staff-draw-screen")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Draw all 3").click()

    results = page.locator("#draw-results .result")
    expect(results).to_have_count(3)
    expect(results.nth(0)).to_have_text("Small prize: $1.00 — Snack voucher")
    expect(results.nth(1)).to_have_text("Good job! (no prize this time)")
    expect(results.nth(2)).to_contain_text("Large prize: $20.00 — Movie ticket")
    expect(results.nth(2).locator(".cheer")).to_be_visible()
    expect(page.locator("#draw-announce")).to_contain_text(
        "Small prize: $1.00 — Snack voucher. Good job! (no prize this time)."
    )
    expect(page.locator("#draws-waiting")).to_have_text("0")
    _tall_enough(page.get_by_role("button", name=re.compile("^Give ")))
    screenshot(page, "staff-draw-results")
    assert serious_accessibility_violations(page) == []

    # When a prize is handed out it leaves the list and shows in the history
    page.get_by_role("button", name=re.compile("^Give Snack voucher")).click()
    expect(page.get_by_role("status").first).to_have_text(
        "Prize handed out and taken from stock."
    )
    expect(page.locator("#draws-made")).to_contain_text("Snack voucher")
    expect(page.locator("#draws-made")).not_to_contain_text("good_job")

    # And the day's receipt lists every draw and its prize, ready to print and sign
    page.get_by_role("link", name="Print today's receipt").click()
    expect(page.get_by_role("button", name="Print the receipt")).to_be_visible()
    expect(page.locator("#receipt-draws tbody tr")).to_have_count(3)
    expect(page.locator("#receipt-draws")).to_contain_text("Snack voucher")
    expect(page.locator("#receipt-draws")).to_contain_text("Large prize: $20.00")
    screenshot(page, "staff-draw-receipt")
    assert serious_accessibility_violations(page) == []


def test_a_prize_with_none_in_stock_is_owed(
    page: Page, live_server, va_clinic, monkeypatch
):
    _rig(monkeypatch, "jumbo")
    page.set_viewport_size(TABLET)
    log_in(page, live_server)
    page.goto(f"{live_server}/staff/participants/{va_clinic}/draws")

    page.get_by_role("button", name="Draw one").click()

    expect(page.locator("#draw-results .result")).to_contain_text(
        "Jumbo prize: $100.00 — owed: none in stock"
    )
    expect(page.locator(".prize .notice")).to_contain_text("is owed this prize")
    screenshot(page, "staff-draw-owed")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("button", name="Record as owed (IOU)").click()
    expect(page.locator(".prize")).to_contain_text("Owed since")
    expect(page.locator("#draws-made")).to_contain_text("owed (IOU)")
