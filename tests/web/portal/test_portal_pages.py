from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from cm_service.extensions import db
from cm_service.models import Reward
from cm_service.services.cm import checkins, ledger, participants
from tests.support.factories import NOW, START, make_staff, protocol_id, scheduled
from tests.support.portal import PIN, portal_log_in

TEMPLATES = Path(__file__).resolve().parents[3] / "templates" / "portal"


def record_negatives(staff, person, count: int) -> None:
    for day in scheduled(START, (0, 2, 4), count):
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )


def text_of(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</(p|div|span)>', html, re.S)
    assert match, f"no #{element_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", match.group(1)).split())


def test_home_shows_balance_run_and_what_the_next_negative_earns(
    client, staff, clinic, person
):
    # Higgins: 10, 15, 20 points plus a 40-point bonus at three in a row ($0.25/pt)
    record_negatives(staff, person, 3)
    portal_log_in(client, clinic.id)

    page = client.get("/me/").get_data(as_text=True)

    assert text_of(page, "balance") == "$21.25"
    assert text_of(page, "points") == "85 points"
    assert text_of(page, "run") == "3 negative tests in a row"
    # NOW is Monday 2 February, a test day with nothing recorded yet.
    assert "Today" in text_of(page, "next")
    assert "A negative test earns you 25 points ($6.25)." in page
    assert text_of(page, "week") == "Week 5 of 12"


def test_home_names_the_bonus_the_next_negative_completes(
    client, staff, clinic, person
):
    record_negatives(staff, person, 2)
    portal_log_in(client, clinic.id)

    page = client.get("/me/").get_data(as_text=True)

    assert "A negative test earns you 60 points ($15.00)." in page
    assert "That includes a bonus of 40 points for your run of negatives." in page


def test_after_a_positive_the_run_starts_again(client, staff, clinic, person):
    record_negatives(staff, person, 2)
    checkins.record_specimen(
        staff, person.id, START + timedelta(days=4), {"cocaine": "positive"}, now=NOW
    )
    portal_log_in(client, clinic.id)

    page = client.get("/me/").get_data(as_text=True)

    assert text_of(page, "run") == "0 negative tests in a row"
    assert "Your next negative test starts a new run." in page


def test_home_shows_progress_toward_the_yearly_cap(client, staff, clinic):
    person = participants.register_participant(
        staff, clinic.id, "P-0042", now=NOW, pin=PIN
    )
    participants.enroll(
        staff,
        person.id,
        protocol_id(clinic.id, "ca-recovery-incentives"),
        START,
        now=NOW,
    )
    checkins.record_specimen(
        staff, person.id, START, {"methamphetamine": "negative"}, now=NOW
    )
    portal_log_in(client, clinic.id, code="P-0042")

    page = client.get("/me/").get_data(as_text=True)

    assert "of the $599.00 yearly limit" in text_of(page, "cap-year")
    assert 'max="59900"' in page


def test_a_participant_not_yet_enrolled_gets_a_plain_message(client, staff, clinic):
    participants.register_participant(staff, clinic.id, "P-0050", now=NOW, pin=PIN)
    portal_log_in(client, clinic.id, code="P-0050")

    for path in ("/me/", "/me/progress", "/me/history"):
        assert client.get(path).status_code == 200
    assert "not in a rewards program yet" in client.get("/me/").text


def test_history_lists_days_newest_first_with_what_each_earned(
    client, staff, clinic, person
):
    record_negatives(staff, person, 3)
    portal_log_in(client, clinic.id)

    page = client.get("/me/history").get_data(as_text=True)

    days = re.findall(r'<p class="day">([^<]+)</p>', page)
    assert days[0] == "Feb 2, 2026"
    assert days.index("Jan 9, 2026") < days.index("Jan 5, 2026")
    assert "Earned 10 points ($2.50)" in page
    assert "Bonus: 40 points ($10.00)" in page
    assert "Bonus for 3 negatives in a row" in page  # the rule's own explanation
    assert "No result recorded" in page  # a past test day with nothing recorded


def test_history_shows_redemptions_and_prize_draws(client, staff, clinic):
    person = participants.register_participant(
        staff, clinic.id, "P-0060", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "petry-ctn-2005"), START, now=NOW
    )
    panel = dict.fromkeys(
        ("cocaine", "amphetamine", "methamphetamine", "alcohol"), "negative"
    )
    for day in scheduled(START, (0, 3), 2):
        checkins.record_specimen(staff, person.id, day, panel, now=NOW)
    ledger.draw_prize(staff, person.id, now=NOW, secret=b"test-draw-secret")
    portal_log_in(client, clinic.id, code="P-0060")

    page = client.get("/me/history").get_data(as_text=True)

    assert "Prize bowl draw:" in page
    assert "prize draw" in page


def test_history_names_the_prize_handed_out_for_a_draw(
    client, staff, clinic, monkeypatch
):
    from cm_service import rules
    from cm_service.services.cm import rewards

    monkeypatch.setattr(rules, "pick_tier", lambda bowl, _: bowl[1])  # small
    person = participants.register_participant(
        staff, clinic.id, "P-0060", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "va-prize-2014"), START, now=NOW
    )
    panel = dict.fromkeys(("cocaine", "amphetamine", "methamphetamine"), "negative")
    checkins.record_specimen(staff, person.id, START, panel, now=NOW)
    draw = ledger.draw_prize(staff, person.id, now=NOW, secret=b"test-draw-secret")
    voucher = rewards.add_reward(
        make_staff(clinic, "boss", "admin"),
        "Snack voucher",
        tier="small",
        cost_cents=None,
        value_cents=100,
        stock=3,
        now=NOW,
    )
    rewards.hand_out_prize(staff, draw.id, voucher.id, now=NOW)
    portal_log_in(client, clinic.id, code="P-0060")

    page = client.get("/me/history").get_data(as_text=True)

    assert "Snack voucher" in page


def test_history_shows_a_redemption(client, staff, clinic, person):
    record_negatives(staff, person, 3)
    ledger.redeem_points(staff, person.id, 40, now=NOW)
    portal_log_in(client, clinic.id)

    page = client.get("/me/history").get_data(as_text=True)

    assert "You used 40 points ($10.00)" in page


@pytest.mark.parametrize(
    ("query", "shown"),
    [("", 1), ("?page=2", 2), ("?page=999", 2), ("?page=abc", 1), ("?page=-3", 1)],
)
def test_history_is_paged(client, clock, staff, clinic, person, query, shown):
    record_negatives(staff, person, 3)
    clock.now = NOW + timedelta(days=14)  # 19 test days: 15 a page, 2 pages
    portal_log_in(client, clinic.id)

    response = client.get(f"/me/history{query}")

    assert response.status_code == 200
    assert f"Page {shown} of 2" in response.get_data(as_text=True)


def test_progress_draws_an_svg_with_a_text_alternative(client, staff, clinic, person):
    record_negatives(staff, person, 3)
    portal_log_in(client, clinic.id)

    page = client.get("/me/progress").get_data(as_text=True)

    assert '<svg class="chart"' in page
    assert 'role="img"' in page
    assert '<title id="chart-title">' in page
    assert "Weeks 1 to 5: $21.25 earned; 3 negative tests out of 13." in page
    assert page.count("<rect") >= 5
    week_one = re.search(
        r"Week 1</th>\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>([^<]+)", page
    )
    assert week_one.groups() == ("3 of 3", "$21.25")


def test_rewards_show_what_the_participant_can_afford(
    client, staff, clinic, other_clinic, person
):
    record_negatives(staff, person, 3)  # 85 Higgins points at 25 cents
    db.session.add_all(
        [
            Reward(clinic_id=clinic.id, name="Bus pass", cost_cents=2000, stock=3),
            Reward(clinic_id=clinic.id, name="Cinema ticket", cost_cents=3000, stock=2),
            Reward(clinic_id=clinic.id, name="Coffee", cost_cents=110, stock=9),
            Reward(
                clinic_id=clinic.id, name="Old voucher", cost_cents=25, active=False
            ),
            Reward(clinic_id=clinic.id, name="Gift card", cost_cents=1250, stock=0),
            Reward(clinic_id=other_clinic.id, name="Elsewhere", cost_cents=25, stock=5),
        ]
    )
    db.session.commit()
    portal_log_in(client, clinic.id)

    page = client.get("/me/rewards").get_data(as_text=True)

    assert "You have 85 points ($21.25)." in " ".join(page.split())
    bus = page[page.index("Bus pass") :]
    assert "$20.00 (80 points)" in bus[: bus.index("</li>")]
    assert "You can get this now" in bus[: bus.index("</li>")]
    cinema = page[page.index("Cinema ticket") :]
    assert "$30.00 (120 points)" in cinema[: cinema.index("</li>")]
    assert "35 more points needed" in cinema[: cinema.index("</li>")]
    coffee = page[page.index("Coffee") :]
    assert "$1.10 (5 points, rounded up)" in coffee[: coffee.index("</li>")]
    assert "Out of stock for now" in page
    assert "Old voucher" not in page
    assert "Elsewhere" not in page


def test_without_points_a_participant_sees_prices_in_dollars_only(
    client, staff, clinic
):
    person = participants.register_participant(
        staff, clinic.id, "P-0070", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "va-prize-2014"), START, now=NOW
    )
    db.session.add(Reward(clinic_id=clinic.id, name="Bus pass", cost_cents=1000))
    db.session.commit()
    portal_log_in(client, clinic.id, code="P-0070")

    page = client.get("/me/rewards").get_data(as_text=True)

    bus = page[page.index("Bus pass") :]
    bus = bus[: bus.index("</li>")]
    assert '<p class="price">$10.00</p>' in bus
    assert "point" not in bus


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=str)
def test_portal_templates_have_no_inline_script_or_style(template):
    source = template.read_text()

    assert "style=" not in source
    assert "<script" not in source
    assert "<style" not in source


def test_home_shows_the_funding_programs_yearly_limit_when_it_binds_first(
    client, staff, clinic
):
    from cm_service.services.cm import funding

    admin = make_staff(clinic, "boss", "admin")
    grant = funding.add_program(
        admin,
        "Grant",
        per_award_cents=None,
        per_month_cents=None,
        per_year_cents=2000,
        non_cash_only=True,
        source="",
        now=NOW,
    )
    person = participants.register_participant(
        staff, clinic.id, "P-0042", now=NOW, pin=PIN
    )
    enrollment = participants.enroll(
        staff, person.id, protocol_id(clinic.id, "ca-recovery-incentives"), START,
        now=NOW,
    )  # fmt: skip
    funding.assign(staff, enrollment.id, grant.id, START, None, now=NOW)
    stimulants = ("methamphetamine", "amphetamine", "cocaine")
    checkins.record_specimen(
        staff, person.id, START, dict.fromkeys(stimulants, "negative"), now=NOW
    )
    portal_log_in(client, clinic.id, code="P-0042")

    page = client.get("/me/").get_data(as_text=True)

    # California's own $599 leaves more room than the grant's $20.00.
    assert "$10.00 of the $20.00 yearly limit" in text_of(page, "cap-year")
    assert page.count('id="cap-year"') == 1
