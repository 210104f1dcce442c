"""The staff password policy: a minimum length, and no common password, username or
clinic name; applied wherever a staff member sets a password."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import passwords
from cm_service.services.errors import InvalidInput
from tests.support.security import PASSWORD, post_form, user_named
from tests.support.web import log_in


@pytest.mark.parametrize(
    "password",
    [
        "short pass1",  # 11 characters
        "1qaz2wsx3edc",  # on the list
        "QWERTY123456",  # case does not help
        "qwerty123456",
        "1q2w3e4r5t6y",
        "Q1W2 E3R4 T5Y6",  # nor do spaces
        # Issue 15, defect 7 (NIST 800-63B: repetitive or sequential characters).
        "aaaaaaaaaaaa",
        "123456789012",  # digits run on past 9
        "abcdefghijklm",
        "zyxwvutsrqpo",
        "abcabcabcabc",
        "            ",  # twelve spaces: accepted once, could never log in
    ],
)
def test_weak_passwords_are_refused(password):
    assert passwords.password_problem(password) is not None


def test_the_shipped_list_is_the_top_ten_thousand():
    common = passwords.common_passwords()
    assert len(common) == 10_000
    assert {"123456", "password", "qwerty"} <= common
    assert not any(entry.startswith("#") for entry in common)


@pytest.mark.parametrize(
    ("password", "username", "clinic_name"),
    [
        ("janedoe.rn2026", "janedoe.rn2026", None),
        ("I am JANEDOE and proud", "janedoe", None),
        ("riverside recovery 2026!", "tech", "Riverside Recovery"),
        ("RiversideRecovery", "tech", "Riverside Recovery"),
    ],
)
def test_the_username_and_clinic_name_are_refused(password, username, clinic_name):
    problem = passwords.password_problem(
        password, username=username, clinic_name=clinic_name
    )
    assert problem == "Do not use your username or the clinic's name in your password."


@pytest.mark.parametrize(
    "password",
    [
        PASSWORD,
        "plum orchard seventeen lanterns",
        "x" * 12 + "é" * 52,  # 64 characters and non-ASCII are allowed
    ],
)
def test_long_uncommon_passwords_are_accepted(password):
    assert passwords.password_problem(password, username="tech") is None


def test_check_password_raises_on_the_named_field():
    with pytest.raises(InvalidInput) as caught:
        passwords.check_password("letmein", field="new_password")
    assert caught.value.field == "new_password"


def change(client, current: str, new: str, confirm: str | None = None):
    return post_form(
        client,
        "/staff/account/password",
        {"current_password": current, "new_password": new, "confirm": confirm or new},
        page="/staff/account/",
    )


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("too short", "Use at least 12 characters."),
        ("qwerty123456", "on a list of common passwords"),
        ("test clinic rocks", "username or the clinic"),
        (PASSWORD, "not using now"),
    ],
)
def test_the_account_page_applies_the_policy(client, staff, new, message):
    log_in(client, "tech")
    before = user_named("tech").password_hash

    response = change(client, PASSWORD, new)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert user_named("tech").password_hash == before


def test_a_password_change_needs_the_current_password(client, staff):
    log_in(client, "tech")

    response = change(client, "not my password", "plum orchard seventeen lanterns")

    assert response.status_code == 422
    assert "not your current password" in response.get_data(as_text=True)
    assert passwords.check_secret(user_named("tech").password_hash, PASSWORD)
    assert db.session.scalars(
        select(AuditLog.action).where(AuditLog.action == "password_change_failed")
    ).one()


def test_the_two_new_passwords_must_match(client, staff):
    log_in(client, "tech")

    response = change(client, PASSWORD, "plum orchard seventeen", "plum orchard 17")

    assert response.status_code == 422
    assert "The two new passwords differ." in response.get_data(as_text=True)


def test_a_password_change_is_audited_without_the_password(client, staff):
    log_in(client, "tech")

    assert (
        change(client, PASSWORD, "plum orchard seventeen lanterns").status_code == 302
    )

    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "password_changed")
    ).one()
    assert row.detail == {}
    assert row.actor_id == staff.id
