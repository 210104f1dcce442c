"""Portal sessions end on the server (issue 15): a session cookie copied before a
logout, or kept in use past the absolute lifetime, opens nothing. Kiosks are shared."""

from __future__ import annotations

from datetime import timedelta

from cm_service.extensions import db
from cm_service.models import Participant
from tests.support.portal import login_path, portal_log_in
from tests.support.web import csrf_token


def _copy_of(app, client):
    """A second browser holding the same session cookie as `client`."""
    name = app.config.get("SESSION_COOKIE_NAME", "session")
    cookie = client.get_cookie(name)
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie(name, cookie.value)
    return thief


def _shows_nothing(response, clinic) -> None:
    assert response.status_code == 302
    assert response.headers["Location"] == login_path(clinic)


def test_a_cookie_copied_before_logout_opens_nothing_afterwards(
    app, client, person, clinic
):
    portal_log_in(client, clinic.id)
    copy = _copy_of(app, client)
    assert copy.get("/me/").status_code == 200  # the copy works while logged in

    client.post("/me/logout", data={"csrf_token": csrf_token(client, "/me/")})

    for path in ("/me/", "/me/history", "/me/progress", "/me/rewards"):
        _shows_nothing(copy.get(path), clinic)
    page = copy.get(login_path(clinic))
    assert page.status_code == 200
    assert "P-0001" not in page.get_data(as_text=True)


def test_a_session_ends_after_its_absolute_lifetime_even_in_use(
    app, client, person, clinic, clock
):
    began = clock.now
    portal_log_in(client, clinic.id)
    while clock.now + timedelta(minutes=9) < began + timedelta(hours=12):
        clock.now += timedelta(minutes=9)  # never idle for ten minutes
        assert client.get("/me/").status_code == 200

    clock.now = began + timedelta(hours=12, minutes=1)

    _shows_nothing(client.get("/me/"), clinic)
    assert "Please log in again." in client.get(login_path(clinic)).text
    assert portal_log_in(client, clinic.id).status_code == 302
    assert client.get("/me/").status_code == 200  # a fresh login works again


def test_the_absolute_lifetime_is_configurable(app, client, person, clinic, clock):
    app.config["PORTAL_SESSION_HOURS"] = 1
    portal_log_in(client, clinic.id)
    for _ in range(6):
        clock.now += timedelta(minutes=9)
        assert client.get("/me/").status_code == 200

    clock.now += timedelta(minutes=7)  # 61 minutes in, 7 of them idle

    _shows_nothing(client.get("/me/"), clinic)


def test_an_idle_timeout_also_ends_a_copied_cookie(app, client, person, clinic, clock):
    portal_log_in(client, clinic.id)
    copy = _copy_of(app, client)
    clock.now += timedelta(minutes=11)

    _shows_nothing(client.get("/me/"), clinic)  # the kiosk times out

    clock.now += timedelta(seconds=5)
    _shows_nothing(copy.get("/me/"), clinic)


def test_logging_out_on_one_device_ends_the_participants_other_sessions(
    app, client, person, clinic
):
    phone = app.test_client()
    portal_log_in(client, clinic.id)
    portal_log_in(phone, clinic.id)

    client.post("/me/logout", data={"csrf_token": csrf_token(client, "/me/")})

    _shows_nothing(phone.get("/me/"), clinic)
    assert db.session.get(Participant, person.id).session_version >= 1
