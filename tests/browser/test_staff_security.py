"""An admin's first login sets up TOTP; the next login asks for a code."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from tests.support.browser import (
    release_database,
    screenshot,
    serious_accessibility_violations,
)
from tests.support.factories import NOW, make_staff

pytestmark = pytest.mark.browser


def log_in_with_password(page: Page, base: str, username: str = "boss") -> None:
    page.goto(f"{base}/staff/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("correct horse battery")
    page.get_by_role("button", name="Log in").click()


def enrol_admin(page: Page) -> str:
    """On the set-up page an admin's first login lands on: type the key into an
    "authenticator" (pyotp), confirm with its code, pass the recovery codes. Returns
    the secret."""
    expect(page.get_by_role("heading", name="Set up a second factor")).to_be_visible()
    secret = "".join(page.locator("#totp-secret").inner_text().split())
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    page.get_by_role("link", name="I have saved them: continue").click()
    return secret


def test_an_admin_sets_up_totp_then_logs_in_with_a_code(
    page: Page, live_server, live_app
):
    clinic = clinics.create_clinic(SYSTEM, "Browser Clinic", "America/Chicago", now=NOW)
    make_staff(clinic, "boss", role="admin")
    release_database()
    page.set_viewport_size({"width": 1024, "height": 900})

    # The first login: the password is right, but an admin must set up TOTP first
    log_in_with_password(page, live_server)
    expect(page).to_have_url(re.compile(r"/staff/account/second-factor$"))
    expect(page.locator(".notice")).to_contain_text("Admin accounts need")
    expect(page.get_by_role("navigation", name="Main")).to_have_count(0)
    screenshot(page, "staff-totp-enrol")
    assert serious_accessibility_violations(page) == []

    # A wrong code is reported next to the field
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("#code-error")).to_contain_text("did not match")
    screenshot(page, "staff-totp-enrol-error")
    assert serious_accessibility_violations(page) == []

    secret = "".join(page.locator("#totp-secret").inner_text().split())
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator(".codes li")).to_have_count(10)
    screenshot(page, "staff-totp-recovery-codes")
    assert serious_accessibility_violations(page) == []
    page.get_by_role("link", name="I have saved them: continue").click()
    expect(page).to_have_url(re.compile(r"/staff/today$"))

    # Log out; the next login asks for the code after the password
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, live_server)
    expect(page).to_have_url(re.compile(r"/staff/login/code$"))
    screenshot(page, "staff-login-code")
    assert serious_accessibility_violations(page) == []
    page.get_by_label("Code").fill("123456")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#code-error")).to_contain_text("did not work")
    # The code of this 30-second step was used to enrol and is refused as a replay;
    # the next step's code (an authenticator a little ahead, valid_window 1) works.
    page.get_by_label("Code").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/staff/today$"))

    # My account shows the second factor on, and admins cannot turn it off
    page.goto(f"{live_server}/staff/account/")
    expect(
        page.get_by_text("Admin accounts must keep their second factor.")
    ).to_be_visible()
    screenshot(page, "staff-account")
    assert serious_accessibility_violations(page) == []
