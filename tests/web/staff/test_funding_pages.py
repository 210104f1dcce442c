"""Funding pages: admins add programs (presets in one click), staff fund an
enrollment for a period with errors next to the fields, and the tax-threshold
report lists who is near the information-return threshold, as a page and CSV."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import EnrollmentFunding, FundingProgram
from cm_service.services.cm import checkins, funding
from tests.support.factories import NOW, START, make_enrolled, make_staff, scheduled
from tests.support.pages import page_of
from tests.support.web import csrf_token, log_in


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", role="admin")


@pytest.fixture
def as_admin(client, admin):
    log_in(client, "boss")
    return client


def test_an_admin_adds_a_preset_in_one_click_with_its_source(as_admin):
    token = csrf_token(as_admin, "/staff/funding")

    done = as_admin.post(
        "/staff/funding/presets", data={"csrf_token": token, "preset": "samhsa-2025"}
    )

    assert done.status_code == 302
    page = page_of(as_admin.get("/staff/funding"))
    assert "SAMHSA grant" in page
    assert "$750.00" in page
    assert "Dear Colleague" in page
    assert "Add SAMHSA grant" not in page  # offered once
    program = db.session.scalars(select(FundingProgram)).one()
    assert (program.per_year_cents, program.non_cash_only) == (75000, True)


def test_a_bad_cap_comes_back_next_to_its_field(as_admin):
    token = csrf_token(as_admin, "/staff/funding")

    refused = as_admin.post(
        "/staff/funding",
        data={"csrf_token": token, "name": "Fund", "per_month": "ten"},
    )

    assert refused.status_code == 422
    page = page_of(refused)
    assert 'id="per_month-error"' in page
    assert db.session.scalars(select(FundingProgram)).all() == []


def test_staff_may_not_add_programs(logged_in):
    token = csrf_token(logged_in, "/staff/funding")

    refused = logged_in.post(
        "/staff/funding", data={"csrf_token": token, "name": "Fund"}
    )

    assert refused.status_code == 403


def test_staff_fund_an_enrollment_and_an_overlap_is_refused_at_the_field(
    logged_in, admin, staff, clinic
):
    person, enrollment = make_enrolled(staff, clinic)
    one = funding.add_preset(admin, "oig-ao-22-04", now=NOW)
    path = f"/staff/participants/{person.id}/funding"
    token = csrf_token(logged_in, path)
    data = {
        "csrf_token": token,
        "enrollment": str(enrollment.id),
        "program": str(one.id),
        "starts_on": START.isoformat(),
        "ends_on": "",
    }

    assert logged_in.post(path, data=data).status_code == 302
    again = logged_in.post(path, data=data)

    assert again.status_code == 422
    assert 'id="starts_on-error"' in page_of(again)
    assert "periods cannot overlap" in page_of(again)
    assert len(db.session.scalars(select(EnrollmentFunding)).all()) == 1
    page = page_of(logged_in.get(path))
    assert "OIG AO 22-04" in page
    assert "open" in page


def test_the_tax_report_lists_who_is_near_the_threshold_per_payer(
    client, admin, staff, clinic
):
    ca = funding.add_preset(admin, "ca-recovery-incentives", now=NOW)
    near, enrollment = make_enrolled(staff, clinic, code="P-0001")
    far, _ = make_enrolled(staff, clinic, code="P-0002")
    funding.assign(staff, enrollment.id, ca.id, START, None, now=NOW)
    # The threshold for 2026 is $2,000; a clinic may set its own: $100 here.
    client.application.config["TAX_THRESHOLDS_CENTS"] = {2026: 10000}
    for day in scheduled(START, (0, 2, 4), 12):  # well over $100 on Higgins
        checkins.record_specimen(staff, near.id, day, {"cocaine": "negative"}, now=NOW)
    checkins.record_specimen(staff, far.id, START, {"cocaine": "negative"}, now=NOW)
    log_in(client, "boss")

    page = page_of(client.get("/staff/reports/tax?year=2026"))
    csv = client.get("/staff/reports/tax.csv?year=2026").get_data(as_text=True)

    assert "Threshold for 2026: $100.00; approaching from 80% ($80.00)." in page
    assert "P-0001" in page
    assert "P-0002" not in page
    lines = csv.splitlines()
    assert lines[0] == "year,payer,participant,paid,threshold,status"
    assert lines[1].startswith("2026,California Recovery Incentives Program,P-0001,")
    assert lines[1].endswith(",100.00,at or over")
    assert len(lines) == 2


def test_the_default_thresholds_are_600_through_2025_and_2000_after():
    from cm_service.services.reads.tax_report import default_threshold

    assert default_threshold(2025) == 60000
    assert default_threshold(2026) == 200000


def test_a_bad_year_is_refused_next_to_its_field(client, admin):
    log_in(client, "boss")

    refused = client.get("/staff/reports/tax?year=20x6")

    assert refused.status_code == 422
    assert 'id="year-error"' in page_of(refused)


def test_staff_cannot_read_the_tax_report(logged_in):
    assert logged_in.get("/staff/reports/tax").status_code == 403


def test_the_participant_record_links_to_funding(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic)

    page = page_of(logged_in.get(f"/staff/participants/{person.id}"))

    assert f"/staff/participants/{person.id}/funding" in page


def test_an_admin_marks_a_reward_a_gift_card(as_admin):
    from cm_service.models import Reward

    token = csrf_token(as_admin, "/staff/rewards")

    done = as_admin.post(
        "/staff/rewards",
        data={
            "csrf_token": token,
            "name": "Grocery card",
            "tier": "",
            "cost": "5.00",
            "value": "5.00",
            "stock": "2",
            "kind": "gift_card",
        },
    )

    assert done.status_code == 302
    assert db.session.scalars(select(Reward.kind)).one() == "gift_card"
    assert "gift card</span>" in page_of(as_admin.get("/staff/rewards"))


def test_the_redeem_page_names_the_non_cash_program(logged_in, admin, staff, clinic):
    from cm_service.services.cm import rewards

    person, enrollment = make_enrolled(staff, clinic)
    samhsa = funding.add_preset(admin, "samhsa-2025", now=NOW)
    funding.assign(staff, enrollment.id, samhsa.id, START, None, now=NOW)
    for day in scheduled(START, (0, 2, 4), 4):
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )
    card = rewards.add_reward(
        admin,
        "Grocery card",
        tier=None,
        cost_cents=500,
        value_cents=500,
        stock=2,
        now=NOW,
        kind="gift_card",
    )
    rewards.add_reward(
        admin, "Mug", tier=None, cost_cents=500, value_cents=500, stock=2, now=NOW
    )
    path = f"/staff/participants/{person.id}/redeem"
    token = csrf_token(logged_in, path)

    refused = logged_in.post(
        path, data={"csrf_token": token, "nonce": "ab12" * 8, "reward": str(card.id)}
    )

    assert refused.status_code == 409
    assert "SAMHSA grant pays for non-cash incentives only" in page_of(refused)


def test_the_redeem_screen_leaves_out_gift_cards_under_a_non_cash_program(
    logged_in, admin, staff, clinic
):
    from cm_service.services.cm import rewards

    person, enrollment = make_enrolled(staff, clinic)
    samhsa = funding.add_preset(admin, "samhsa-2025", now=NOW)
    funding.assign(staff, enrollment.id, samhsa.id, START, None, now=NOW)
    for name, kind in (("Grocery card", "gift_card"), ("Warm socks", "goods")):
        rewards.add_reward(
            admin, name, tier=None, cost_cents=500, value_cents=500, stock=2,
            now=NOW, kind=kind,
        )  # fmt: skip

    page = page_of(logged_in.get(f"/staff/participants/{person.id}/redeem"))

    assert "Warm socks" in page
    assert "Grocery card" not in page
    assert "SAMHSA grant funds P-0001 today and pays for non-cash" in page


def test_a_period_is_ended_from_the_page_with_errors_at_its_field(
    logged_in, admin, staff, clinic
):
    person, enrollment = make_enrolled(staff, clinic)
    grant = funding.add_preset(admin, "samhsa-2025", now=NOW)
    period = funding.assign(staff, enrollment.id, grant.id, START, None, now=NOW)
    path = f"/staff/participants/{person.id}/funding"
    token = csrf_token(logged_in, path)

    refused = logged_in.post(
        f"{path}/{period.id}/end", data={"csrf_token": token, "ends_on": "2025-01-01"}
    )
    done = logged_in.post(
        f"{path}/{period.id}/end", data={"csrf_token": token, "ends_on": "2026-12-31"}
    )

    assert refused.status_code == 422
    assert f'id="ends-on-{period.id}-error"' in page_of(refused)
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(EnrollmentFunding, period.id).ends_on.isoformat() == (
        "2026-12-31"
    )
