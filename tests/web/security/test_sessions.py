"""Staff sessions end on the server: logout, password change and deactivation end
every session of the account; idle and absolute timeouts end a session by time."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import accounts
from tests.support.factories import NOW
from tests.support.security import PASSWORD, post_form, user_named
from tests.support.web import csrf_token, log_in

NEW_PASSWORD = "plum orchard seventeen lanterns"


def logged_in_twice(client, other_client, username: str = "tech"):
    assert log_in(client, username).status_code == 302
    assert log_in(other_client, username).status_code == 302
    assert client.get("/staff/today").status_code == 200
    assert other_client.get("/staff/today").status_code == 200


def ended(client) -> bool:
    response = client.get("/staff/today")
    return response.status_code == 302 and "/staff/login" in response.location


def last_actions(n: int) -> list[str]:
    rows = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id.desc()))
    return list(rows)[:n]


def test_logout_in_one_browser_ends_the_session_in_the_other(
    client, other_client, staff
):
    logged_in_twice(client, other_client)

    client.post(
        "/staff/logout", data={"csrf_token": csrf_token(client, "/staff/today")}
    )

    assert ended(client)
    assert ended(other_client)
    page = other_client.get("/staff/login").get_data(as_text=True)
    assert "Your session was ended" in page
    assert "logout" in last_actions(3)


def test_a_replayed_cookie_is_refused_after_logout(client, app, staff):
    log_in(client, "tech")
    with client.session_transaction() as session:
        stolen = dict(session)
    client.post(
        "/staff/logout", data={"csrf_token": csrf_token(client, "/staff/today")}
    )

    thief = app.test_client()
    with thief.session_transaction() as session:
        session.update(stolen)

    assert ended(thief)


def test_a_password_change_ends_the_other_session_and_keeps_this_one(
    client, other_client, staff
):
    logged_in_twice(client, other_client)

    response = post_form(
        client,
        "/staff/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
        page="/staff/account/",
    )

    assert response.status_code == 302
    assert client.get("/staff/today").status_code == 200
    assert ended(other_client)
    assert "password_changed" in last_actions(3)
    assert log_in(other_client, "tech", NEW_PASSWORD).status_code == 302


def test_deactivation_by_an_admin_ends_the_session(client, staff, admin):
    assert log_in(client, "tech").status_code == 302

    accounts.set_active(admin, staff.id, False, now=NOW)

    assert ended(client)
    assert log_in(client, "tech").status_code == 422
    assert last_actions(2)[-1] == "deactivate_staff"


def test_an_admin_cannot_deactivate_another_clinics_staff(staff, other_clinic):
    from cm_service.services.errors import NotFound
    from tests.support.factories import make_staff

    outsider = make_staff(other_clinic, "otherboss", "admin")
    try:
        accounts.set_active(outsider, staff.id, False, now=NOW)
    except NotFound:
        pass
    else:
        raise AssertionError("another clinic's admin deactivated tech")
    assert user_named("tech").active


def test_log_out_everywhere_ends_every_session(client, other_client, staff):
    logged_in_twice(client, other_client)

    response = post_form(
        client, "/staff/account/logout-everywhere", {}, page="/staff/account/"
    )

    assert response.location.endswith("/staff/login")
    assert ended(client)
    assert ended(other_client)
    assert "logout_everywhere" in last_actions(3)


def test_a_session_without_the_version_is_refused(client, staff):
    log_in(client, "tech")
    with client.session_transaction() as session:
        del session["staff_session_version"]

    assert ended(client)


def test_an_idle_session_ends_after_fifteen_minutes(client, staff, clock):
    log_in(client, "tech")
    clock.now += timedelta(minutes=15, seconds=1)

    response = client.get("/staff/participants")

    assert response.status_code == 302
    assert response.location.startswith("/staff/login")
    assert "next=" in response.location
    page = client.get("/staff/login").get_data(as_text=True)
    assert "logged out after 15 minutes without activity" in page
    assert ended(client)
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "session_expired")
    ).one()
    assert row.detail == {"reason": "idle"}


def test_activity_keeps_the_session_alive_until_its_absolute_limit(
    client, staff, clock
):
    log_in(client, "tech")
    for _ in range(47):  # 47 x 14 min = 10 h 58 min
        clock.now += timedelta(minutes=14)
        assert client.get("/staff/today").status_code == 200
    clock.now += timedelta(minutes=14)  # 11 h 12 min
    assert client.get("/staff/today").status_code == 200
    clock.now += timedelta(minutes=50)  # 12 h 2 min after logging in

    response = client.get("/staff/today")

    assert response.status_code == 302
    page = client.get("/staff/login").get_data(as_text=True)
    assert "12-hour limit" in page


def test_the_idle_limit_is_configurable(app, client, staff, clock):
    app.config["STAFF_IDLE_MINUTES"] = 5
    log_in(client, "tech")
    clock.now += timedelta(minutes=4)
    assert client.get("/staff/today").status_code == 200
    clock.now += timedelta(minutes=5, seconds=1)

    assert ended(client)


def test_a_pending_second_step_expires(client, admin, clock):
    # The password was right, but the second step never came.
    response = client.post(
        "/staff/login",
        data={
            "username": "boss",
            "password": PASSWORD,
            "csrf_token": csrf_token(client, "/staff/login"),
        },
    )
    assert response.location.endswith("/staff/account/second-factor")
    clock.now += timedelta(minutes=5, seconds=1)

    response = client.get("/staff/account/second-factor")

    assert response.status_code == 302
    assert "/staff/login" in response.location
