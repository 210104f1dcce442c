from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, LoginAttempt, Participant
from tests.support.factories import make_enrolled, make_staff
from tests.support.web import csrf_token, log_in


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.mark.parametrize(
    ("username", "password"),
    [("tech", "wrong password!!"), ("nobody", "correct horse battery"), ("", "")],
)
def test_every_failed_login_gets_the_same_message(client, staff, username, password):
    response = log_in(client, username, password)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    if username:
        assert "Wrong username or password." in page
    else:
        assert "Enter your username." in page


def test_login_then_participants_page_lists_only_this_clinic(
    client, staff, clinic, other_clinic
):
    make_enrolled(staff, clinic, code="P-0001")
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-9999")

    response = log_in(client, "tech")
    assert response.status_code == 302
    page = client.get("/staff/participants").get_data(as_text=True)

    assert "P-0001" in page
    assert "P-9999" not in page


def test_another_clinics_participant_page_is_404(client, staff, other_clinic):
    outsider, _ = make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic)
    log_in(client, "tech")

    assert client.get(f"/staff/participants/{outsider.id}").status_code == 404
    assert client.get("/staff/participants/999999").status_code == 404


def test_viewing_a_participant_writes_an_audit_row(client, staff, clinic):
    person, _ = make_enrolled(staff, clinic)
    log_in(client, "tech")

    response = client.get(f"/staff/participants/{person.id}")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_participant")
    ).one()
    assert (row.actor_id, row.participant_id) == (staff.id, person.id)


def test_pages_need_a_login(client):
    response = client.get("/staff/participants")

    assert response.status_code == 302
    assert "/staff/login" in response.headers["Location"]


def test_a_post_without_the_csrf_token_is_refused(client, staff):
    response = client.post(
        "/staff/login", data={"username": "tech", "password": "correct horse battery"}
    )

    assert response.status_code == 400


def test_login_never_redirects_off_site(client, staff):
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login?next=//evil.example/x",
        data={
            "username": "tech",
            "password": "correct horse battery",
            "csrf_token": token,
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/today"


def test_logout_ends_the_session(client, staff):
    log_in(client, "tech")
    token = csrf_token(client, "/staff/participants")

    client.post("/staff/logout", data={"csrf_token": token})

    assert client.get("/staff/participants").status_code == 302
    assert db.session.scalar(select(Participant.id)) is None


def test_a_locked_account_gets_the_generic_message_even_with_the_right_password(
    client, staff
):
    for _ in range(5):
        assert log_in(client, "tech", "wrong password!!").status_code == 422

    response = log_in(client, "tech")

    assert response.status_code == 422
    assert "Wrong username or password." in response.get_data(as_text=True)
    assert client.get("/staff/today").status_code == 302


def test_every_login_attempt_is_recorded(client, staff):
    log_in(client, "tech", "wrong password!!")
    log_in(client, "tech")

    attempts = db.session.scalars(select(LoginAttempt).order_by(LoginAttempt.id))
    assert [(a.account_key, a.success) for a in attempts] == [
        ("tech", False),
        ("tech", True),
    ]


def test_a_success_before_the_limit_clears_the_failures(client, staff):
    for _ in range(4):
        log_in(client, "tech", "wrong password!!")
    log_in(client, "tech")
    client.post(
        "/staff/logout", data={"csrf_token": csrf_token(client, "/staff/today")}
    )
    for _ in range(4):
        log_in(client, "tech", "wrong password!!")

    assert log_in(client, "tech").status_code == 302
