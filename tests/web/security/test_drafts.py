"""A staff form posted after the session expired is kept (server-side, for its own
staff member, for a short while), never acted on, and shown again filled in after
that staff member signs in (issue 16: "session expiry silently loses work")."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, FormDraft, LedgerEntry
from tests.support.factories import NOW, make_enrolled, make_staff
from tests.support.security import PASSWORD, user_named
from tests.support.web import CODE, CSRF, csrf_token, log_in, totp_code

NOT_SAVED = "Not saved yet: check and submit."
KEPT = "Your session ended before this was saved. Sign in to see it again."
DRAFT_DATA = re.compile(
    r'<script type="application/json" id="draft-data">(.*?)</script>', re.S
)


@pytest.fixture
def person(staff, clinic):
    participant, _ = make_enrolled(staff, clinic)
    return participant


def checkin_page(person) -> str:
    return f"/staff/participants/{person.id}/checkin"


def filled_specimen(token: str) -> dict:
    return {
        "s-csrf_token": token,
        "s-nonce": "a" * 32,
        "s-collected_on": NOW.date().isoformat(),
        "s-result_cocaine": "positive",
        "s-brac": "0.020",
    }


def post_after_timeout(client, clock, person, data=None, minutes=16, **headers):
    """Open the check-in page, wait past the idle limit, submit the filled form."""
    page = client.get(checkin_page(person))
    assert page.status_code == 200
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    clock.now += timedelta(minutes=minutes)
    return client.post(
        checkin_page(person) + "/specimen",
        data=data if data is not None else filled_specimen(token),
        headers={"Referer": "http://localhost" + checkin_page(person), **headers},
    )


def sign_in_at(client, login_url: str, username: str = "tech"):
    """Sign in on the login page the expired POST was sent to (its `next` kept),
    with the second step when the account has one; the final redirect."""
    token = csrf_token(client, login_url)
    response = client.post(
        login_url,
        data={"username": username, "password": PASSWORD, "csrf_token": token},
    )
    if response.headers.get("Location", "").endswith(CODE):
        user = user_named(username)
        response = client.post(
            CODE,
            data={
                "code": totp_code(user.totp_secret, user.totp_last_step),
                "csrf_token": csrf_token(client, CODE),
            },
        )
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def landing(client, response) -> str:
    return client.get(response.headers["Location"]).get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def draft_token(location: str) -> str | None:
    """The draft token in the `next` of a login redirect, or None."""
    query = parse_qs(urlsplit(location).query)
    target = query.get("next", [""])[0]
    return parse_qs(urlsplit(target).query).get("draft", [None])[0]


def test_a_checkin_posted_after_the_idle_timeout_is_shown_again_after_login(
    client, staff, person, clock
):
    log_in(client, "tech")

    response = post_after_timeout(client, clock, person)

    assert response.status_code == 302
    assert response.location.startswith("/staff/login")
    login_page = client.get(response.location).get_data(as_text=True)
    assert "logged out after 15 minutes without activity" in login_page
    assert KEPT in login_page
    page = landing(client, sign_in_at(client, response.location))
    # The staff member is back on the check-in page, told that nothing was saved,
    # with what they had entered.
    assert NOT_SAVED in page
    assert 'role="alert"' in page
    assert 'name="s-result_cocaine"' in page
    data = unescape(DRAFT_DATA.search(page).group(1))
    assert f'"path": "{checkin_page(person)}/specimen"' in data
    assert '["s-result_cocaine", "positive"]' in data
    assert '["s-brac", "0.020"]' in data
    assert "/static/draft.js" in page


def test_the_expired_post_writes_nothing_but_the_draft_and_its_audit(
    client, staff, person, clock
):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    before = count(Event), count(LedgerEntry)

    post_after_timeout(client, clock, person)

    assert (count(Event), count(LedgerEntry)) == before
    actions = list(
        db.session.scalars(select(AuditLog.action).order_by(AuditLog.id.desc()))
    )[:2]
    assert sorted(actions) == ["form_draft_kept", "session_expired"]
    kept = db.session.scalars(select(FormDraft)).one()
    assert kept.user_id == staff.id
    assert kept.expires_at - kept.created_at == drafts.LIFETIME


def test_the_draft_is_used_once_then_deleted(client, staff, person, clock):
    log_in(client, "tech")
    response = post_after_timeout(client, clock, person)
    back = sign_in_at(client, response.location).headers["Location"]

    assert NOT_SAVED in client.get(back).get_data(as_text=True)
    assert count(FormDraft) == 0
    assert NOT_SAVED not in client.get(back).get_data(as_text=True)
    shown = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "form_draft_shown")
    ).one()
    assert shown.actor_id == staff.id
    assert "positive" not in str(shown.detail)  # no participant data in the audit


def test_the_csrf_token_and_password_like_fields_are_never_stored(
    client, staff, person, clock
):
    log_in(client, "tech")
    data = {
        **filled_specimen("the-csrf-token"),
        "csrf_token": "another-csrf-token",
        "password": "hunter2",
        "current_password": "hunter3",
        "new_pin": "2468",
        "code": "123456",
        "totp": "654321",
        "a-recovery_code": "abcd-efgh",
        "s-reason": "Hospital visit",
    }

    post_after_timeout(client, clock, person, data=data)

    stored = db.session.scalars(select(FormDraft)).one().fields
    names = [name for name, _ in stored]
    assert names == [
        "s-nonce",
        "s-collected_on",
        "s-result_cocaine",
        "s-brac",
        "s-reason",
    ]
    text = str(stored)
    for secret in ("csrf", "hunter", "2468", "123456", "654321", "abcd"):
        assert secret not in text


def test_a_post_with_a_wrong_csrf_token_is_kept_not_refused(
    client, staff, person, clock
):
    # An expired session's form is captured before the CSRF check would turn it into
    # a 400; it is stored, never acted on.
    log_in(client, "tech")
    before = count(Event), count(LedgerEntry)

    response = post_after_timeout(
        client, clock, person, data=filled_specimen("not-the-token")
    )

    assert response.status_code == 302
    assert draft_token(response.location)
    assert (count(Event), count(LedgerEntry)) == before
    assert count(FormDraft) == 1


def test_another_staff_member_signing_in_in_that_browser_does_not_see_it(
    client, staff, clinic, person, clock
):
    make_staff(clinic, "nurse")
    log_in(client, "tech")
    response = post_after_timeout(client, clock, person)

    page = landing(client, sign_in_at(client, response.location, "nurse"))

    assert NOT_SAVED not in page
    assert 'id="draft-data"' not in page
    assert count(FormDraft) == 1  # still tech's, for when tech signs in


def test_a_draft_cannot_be_claimed_by_another_user_with_its_token(
    client, other_client, staff, clinic, person, clock
):
    make_staff(clinic, "nurse")
    log_in(client, "tech")
    response = post_after_timeout(client, clock, person)
    token = draft_token(response.location)
    assert token

    log_in(other_client, "nurse")
    page = other_client.get(f"{checkin_page(person)}?draft={token}")

    assert NOT_SAVED not in page.get_data(as_text=True)
    assert count(FormDraft) == 1
    # and its owner still gets it
    page = landing(client, sign_in_at(client, response.location))
    assert NOT_SAVED in page


def test_an_expired_draft_is_not_shown_and_is_purged(client, staff, person, clock):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    response = post_after_timeout(client, clock, person)
    clock.now += drafts.LIFETIME + timedelta(seconds=1)

    page = client.get(response.location).get_data(as_text=True)
    assert KEPT not in page
    page = landing(client, sign_in_at(client, response.location))

    assert NOT_SAVED not in page
    assert count(FormDraft) == 0


def test_purge_deletes_only_expired_drafts(client, staff, person, clock):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    post_after_timeout(client, clock, person)

    assert drafts.purge(now=clock.now + timedelta(minutes=5)) == 0
    assert count(FormDraft) == 1
    assert drafts.purge(now=clock.now + drafts.LIFETIME + timedelta(seconds=1)) == 1
    assert count(FormDraft) == 0


def test_keeping_a_draft_purges_expired_ones(client, staff, person, clock):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    post_after_timeout(client, clock, person)
    clock.now += drafts.LIFETIME + timedelta(minutes=1)
    log_in(client, "tech")

    post_after_timeout(client, clock, person)

    assert count(FormDraft) == 1


def test_an_oversize_post_is_refused_cleanly(client, staff, person, clock):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    data = {f"field_{n}": "x" for n in range(drafts.MAX_FIELDS + 1)}
    before = count(Event), count(LedgerEntry)

    response = post_after_timeout(client, clock, person, data=data)

    assert response.status_code == 302
    assert draft_token(response.location) is None
    page = client.get(response.location).get_data(as_text=True)
    assert "was too large to keep" in page
    assert count(FormDraft) == 0
    assert (count(Event), count(LedgerEntry)) == before


def test_an_oversize_value_is_refused_cleanly(client, staff, person, clock):
    from cm_service.services.access import drafts

    log_in(client, "tech")
    data = {"s-reason": "x" * (drafts.MAX_VALUE_CHARS + 1)}

    response = post_after_timeout(client, clock, person, data=data)

    assert response.status_code == 302
    assert count(FormDraft) == 0
    assert "was too large to keep" in client.get(response.location).get_data(
        as_text=True
    )


def test_a_post_past_the_form_memory_limit_is_refused_cleanly(
    client, staff, person, clock
):
    log_in(client, "tech")
    data = {"s-reason": "x" * 600_000}  # past Werkzeug's 500 kB per field: a 413

    response = post_after_timeout(client, clock, person, data=data)

    assert response.status_code == 302
    assert count(FormDraft) == 0
    assert "was too large to keep" in client.get(response.location).get_data(
        as_text=True
    )


def test_a_cross_site_post_is_not_kept(client, staff, person, clock):
    log_in(client, "tech")

    response = post_after_timeout(
        client, clock, person, **{"Origin": "https://evil.example"}
    )

    assert response.status_code == 302
    assert count(FormDraft) == 0


def test_the_totp_two_step_login_keeps_the_draft(client, clinic, person, clock):
    make_staff(clinic, "boss", "admin")
    log_in(client, "boss")  # enrols TOTP: the next login asks for a code
    assert user_named("boss").totp_secret
    clock.now += timedelta(seconds=31)

    response = post_after_timeout(client, clock, person)
    assert draft_token(response.location)
    token = csrf_token(client, response.location)
    client.post(
        response.location,
        data={"username": "boss", "password": PASSWORD, "csrf_token": token},
    )
    assert "Enter your code to see it again." in client.get(CODE).get_data(as_text=True)

    page = landing(client, sign_in_at(client, response.location, "boss"))

    assert NOT_SAVED in page
    assert '["s-result_cocaine", "positive"]' in DRAFT_DATA.search(page).group(1)


def test_without_a_referer_the_form_page_is_the_posted_paths_parent(
    client, staff, person, clock
):
    log_in(client, "tech")
    page = client.get(checkin_page(person))
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    clock.now += timedelta(minutes=16)

    # The form posts to a POST-only path: its GET would be a 405, not the form.
    response = client.post(
        checkin_page(person) + "/specimen", data=filled_specimen(token)
    )
    back = sign_in_at(client, response.location).headers["Location"]

    assert urlsplit(back).path == checkin_page(person)
    assert NOT_SAVED in client.get(back).get_data(as_text=True)


def test_a_page_that_no_longer_has_the_form_still_lists_the_values(
    client, staff, person, clock
):
    log_in(client, "tech")
    gone = "/staff/participants/99999/checkin"

    response = post_after_timeout(
        client, clock, person, Referer="http://localhost" + gone
    )
    back = sign_in_at(client, response.location).headers["Location"]
    page = client.get(back)

    assert urlsplit(back).path == gone
    assert page.status_code == 404
    text = page.get_data(as_text=True)
    assert NOT_SAVED in text
    assert "<dt>Result cocaine</dt><dd>positive</dd>" in text
    assert "<dt>Brac</dt><dd>0.020</dd>" in text


def test_a_referer_on_another_site_is_not_followed(client, staff, person, clock):
    log_in(client, "tech")

    response = post_after_timeout(
        client, clock, person, Referer="https://evil.example/staff/today"
    )

    target = parse_qs(urlsplit(response.location).query)["next"][0]
    assert target.startswith(checkin_page(person) + "?draft=")


def test_the_nightly_tick_purges_expired_drafts(client, staff, person, clock):
    from cm_service.services.access import drafts
    from cm_service.services.cm import nightly

    log_in(client, "tech")
    post_after_timeout(client, clock, person)

    nightly.tick(clock.now + drafts.LIFETIME + timedelta(seconds=1))

    assert count(FormDraft) == 0


def test_a_revoked_session_post_says_nothing_was_saved(
    client, other_client, staff, person, clock
):
    log_in(client, "tech")
    token = csrf_token(client, checkin_page(person))
    log_in(other_client, "tech")
    other_client.post(
        "/staff/logout",
        data={"csrf_token": csrf_token(other_client, "/staff/today")},
    )

    response = client.post(
        checkin_page(person) + "/specimen", data=filled_specimen(token)
    )

    assert count(FormDraft) == 0
    page = client.get(response.location).get_data(as_text=True)
    assert "was not saved" in page
