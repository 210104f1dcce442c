from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import audit
from cm_service.services.cm import checkins, corrections, rewards
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import page_of
from tests.support.web import csrf_token


def last_id() -> int:
    return db.session.scalar(select(func.max(AuditLog.id))) or 0


def rows_after(row_id: int) -> list[AuditLog]:
    return list(
        db.session.scalars(
            select(AuditLog).where(AuditLog.id > row_id).order_by(AuditLog.id)
        )
    )


@pytest.fixture
def event(staff, person):
    return checkins.record_specimen(
        staff, person.id, START, {"cocaine": "negative"}, now=NOW
    ).event


@pytest.fixture
def maker_checker(clinic):
    # No use case toggles the flag yet (as in test_corrections).
    clinic.maker_checker = True
    db.session.commit()
    return clinic


@pytest.mark.parametrize(
    ("page", "action"), [("draws", "view_draws"), ("redeem", "view_redeem")]
)
def test_opening_a_participants_page_writes_one_view_row(
    logged_in, staff, clinic, person, page, action
):
    before = last_id()

    response = logged_in.get(f"/staff/participants/{person.id}/{page}")

    assert response.status_code == 200
    [row] = rows_after(before)
    assert (row.action, row.actor_type, row.actor_id, row.actor_role) == (
        action,
        "staff",
        staff.id,
        "staff",
    )
    assert (row.object_type, row.object_id) == ("participant", person.id)
    assert (row.clinic_id, row.participant_id, row.detail) == (clinic.id, person.id, {})
    assert audit.verify() is None


def test_opening_the_void_form_writes_one_view_row(
    logged_in, staff, clinic, person, event
):
    before = last_id()

    response = logged_in.get(f"/staff/events/{event.id}/void")

    assert response.status_code == 200
    [row] = rows_after(before)
    assert (row.action, row.actor_id) == ("view_void_event", staff.id)
    assert (row.object_type, row.object_id) == ("event", event.id)
    assert (row.clinic_id, row.participant_id) == (clinic.id, person.id)
    assert audit.verify() is None


def test_the_participants_list_writes_one_row_on_the_clinic_with_the_count(
    logged_in, staff, clinic, other_clinic, person
):
    make_enrolled(staff, clinic, code="P-0002")
    elsewhere = make_staff(other_clinic, "elsewhere")
    make_enrolled(elsewhere, other_clinic, code="P-0900")
    before = last_id()

    response = logged_in.get("/staff/participants")

    assert response.status_code == 200
    [row] = rows_after(before)
    assert (row.action, row.actor_id) == ("list_participants", staff.id)
    assert (row.object_type, row.object_id) == ("clinic", clinic.id)
    assert (row.clinic_id, row.participant_id) == (clinic.id, None)
    assert row.detail == {"count": 2}
    assert audit.verify() is None


def test_the_approvals_list_writes_one_row_on_the_clinic_with_the_count(
    logged_in, staff, clinic, maker_checker, person
):
    maker = make_staff(clinic, "maker")
    corrections.adjust_points(maker, person.id, 30, "Lab error make-up", now=NOW)
    before = last_id()

    response = logged_in.get("/staff/approvals")

    assert response.status_code == 200
    assert "Lab error make-up" in page_of(response)
    [row] = rows_after(before)
    assert (row.action, row.actor_id) == ("view_approvals", staff.id)
    assert (row.object_type, row.object_id) == ("clinic", clinic.id)
    assert (row.clinic_id, row.participant_id) == (clinic.id, None)
    # The count only: the memo on the page is free text and stays out of the log.
    assert row.detail == {"count": 1}
    assert audit.verify() is None


def test_a_refused_draw_re_renders_the_page_without_a_view_row(logged_in, person):
    url = f"/staff/participants/{person.id}/draws"
    token = csrf_token(logged_in, url)
    before = last_id()

    response = logged_in.post(
        url, data={"csrf_token": token, "nonce": "0" * 32, "count": "1"}
    )

    assert response.status_code == 409
    assert "No draws are waiting for this participant." in page_of(response)
    assert rows_after(before) == []


def test_a_refused_redemption_re_renders_the_form_without_a_view_row(
    logged_in, clinic, person
):
    boss = make_staff(clinic, "boss", role="admin")
    rewards.add_reward(
        boss, "Bus pass", tier=None, cost_cents=1250, value_cents=1250, stock=2, now=NOW
    )
    url = f"/staff/participants/{person.id}/redeem"
    token = csrf_token(logged_in, url)
    before = last_id()

    response = logged_in.post(
        url, data={"csrf_token": token, "nonce": "abc123", "reward": ""}
    )

    assert response.status_code == 422
    assert "Choose a reward." in page_of(response)
    assert rows_after(before) == []


def test_a_void_without_a_reason_re_renders_the_form_without_a_view_row(
    logged_in, event
):
    url = f"/staff/events/{event.id}/void"
    token = csrf_token(logged_in, url)
    before = last_id()

    response = logged_in.post(url, data={"csrf_token": token, "reason": ""})

    assert response.status_code == 422
    assert "Give the reason for the correction." in page_of(response)
    assert rows_after(before) == []


def test_a_refused_decision_re_renders_the_approvals_without_a_view_row(
    logged_in, staff, maker_checker, person
):
    own = corrections.adjust_points(staff, person.id, 30, "Bonus", now=NOW)
    token = csrf_token(logged_in, "/staff/approvals")
    before = last_id()

    response = logged_in.post(
        f"/staff/approvals/{own.approval.id}/approve", data={"csrf_token": token}
    )

    assert response.status_code == 403
    assert "A different staff member must approve or reject this." in page_of(response)
    assert rows_after(before) == []


def test_another_clinics_pages_are_404_and_write_no_row(logged_in, other_clinic):
    elsewhere = make_staff(other_clinic, "elsewhere")
    outsider, _ = make_enrolled(elsewhere, other_clinic, code="P-0900")
    theirs = checkins.record_specimen(
        elsewhere, outsider.id, START, {"cocaine": "negative"}, now=NOW
    ).event
    before = last_id()

    for url in (
        f"/staff/participants/{outsider.id}/draws",
        f"/staff/participants/{outsider.id}/redeem",
        f"/staff/events/{theirs.id}/void",
    ):
        assert logged_in.get(url).status_code == 404, url
    assert rows_after(before) == []


def test_the_chain_verifies_after_every_page_is_viewed(
    logged_in, runner, person, event
):
    for url in (
        f"/staff/participants/{person.id}/draws",
        f"/staff/participants/{person.id}/redeem",
        f"/staff/events/{event.id}/void",
        "/staff/participants",
        "/staff/approvals",
    ):
        assert logged_in.get(url).status_code == 200, url

    result = runner.invoke(args=["cm", "audit", "verify"])

    assert result.exit_code == 0
    assert "Audit chain intact." in result.output
    assert audit.verify() is None
