"""Cookies, HSTS behind an optional trusted proxy, and no-store on everything that may
hold participant data (pages, JSON, CSV exports, the portal)."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest

from cm_service import create_app
from cm_service.extensions import db
from cm_service.services.cm import participants
from tests.support.config import TEST_CONFIG
from tests.support.factories import NOW, START, make_staff, protocol_id
from tests.support.portal import PIN, portal_log_in
from tests.support.security import PASSWORD
from tests.support.web import CSRF, log_in

HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def production_app(db_url):
    app = create_app(
        {
            **TEST_CONFIG,
            "CM_ENV": "production",
            "SECRET_KEY": "a-long-random-production-key-for-this-test",
            "AUDIT_KEY": "a-separate-audit-key-for-this-test",
            "SQLALCHEMY_DATABASE_URI": db_url,
            "ALLOW_SQLITE_IN_PRODUCTION": True,
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def session_cookie(response) -> tuple[str, str]:
    header = next(h for h in response.headers.getlist("Set-Cookie") if "session=" in h)
    return header.split("=", 1)[0], header


def test_the_production_session_cookie_is_secure_httponly_lax_and_host_only(
    production_app,
):
    from cm_service.services.access.actors import SYSTEM
    from cm_service.services.admin import clinics

    clinic = clinics.create_clinic(SYSTEM, "Prod Clinic", "America/Chicago", now=NOW)
    make_staff(clinic)
    client = production_app.test_client()
    base = "https://cm.example.org"
    page = client.get("/staff/login", base_url=base).get_data(as_text=True)

    response = client.post(
        "/staff/login",
        data={
            "username": "tech",
            "password": PASSWORD,
            "csrf_token": CSRF.search(page).group(1),
        },
        base_url=base,
        headers={"Referer": f"{base}/staff/login"},  # WTF_CSRF_SSL_STRICT
    )

    assert response.status_code == 302
    name, header = session_cookie(response)
    assert name == "__Host-session"
    parts = [p.strip().lower() for p in header.split(";")]
    assert "secure" in parts
    assert "httponly" in parts
    assert "samesite=lax" in parts
    assert "path=/" in parts
    assert not any(p.startswith("domain=") for p in parts)
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_the_development_cookie_is_httponly_and_lax(app, staff):
    client = app.test_client()

    response = log_in(client, "tech")

    _name, header = session_cookie(response)
    cookie = SimpleCookie(header)
    morsel = next(iter(cookie.values()))
    assert morsel["httponly"]
    assert morsel["samesite"] == "Lax"


def test_hsts_only_over_https(app):
    client = app.test_client()

    assert "Strict-Transport-Security" not in client.get("/staff/login").headers
    secure = client.get("/staff/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == HSTS


def test_forwarded_headers_are_ignored_without_a_trusted_proxy(app):
    response = app.test_client().get(
        "/staff/login", headers={"X-Forwarded-Proto": "https"}
    )

    assert "Strict-Transport-Security" not in response.headers


def test_a_trusted_proxy_is_believed_about_https_and_the_client_ip(db_url, staff):
    app = create_app(
        {**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url, "TRUSTED_PROXIES": 1}
    )
    seen = {}

    @app.get("/_test/ip")
    def ip():
        from flask import request

        seen["ip"] = request.remote_addr
        return ""

    with app.app_context():
        client = app.test_client()
        response = client.get(
            "/_test/ip",
            headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"},
        )
        db.session.remove()
        db.engine.dispose()

    assert response.headers["Strict-Transport-Security"] == HSTS
    assert seen["ip"] == "203.0.113.7"


@pytest.fixture
def portal_person(staff, clinic, clock):
    person = participants.register_participant(
        staff, clinic.id, "P-0001", now=NOW, pin=PIN
    )
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    return person


def test_no_store_on_staff_pages_exports_and_the_portal(
    app, staff, clinic, portal_person
):
    staff_client = app.test_client()
    make_staff(clinic, "boss", "admin")
    log_in(staff_client, "boss")
    paths = [
        "/staff/today",
        f"/staff/participants/{portal_person.id}",
        "/staff/reports/outcomes.csv?from=2026-01-05&to=2026-01-11&deidentified=1",
        "/staff/account/",
    ]
    for path in paths:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    assert staff_client.get(paths[2]).mimetype == "text/csv"

    participant = app.test_client()
    assert portal_log_in(participant, clinic.id).status_code == 302
    for path in ("/me/", "/me/history", "/me/progress", "/me/rewards"):
        response = participant.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path


def test_static_assets_may_be_cached(app):
    response = app.test_client().get("/static/app.css")
    response.close()  # a file response: release the open file

    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
