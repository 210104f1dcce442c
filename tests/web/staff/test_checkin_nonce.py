"""A check-in form sent twice records one visit; a bad nonce is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Event
from cm_service.services.cm import checkins
from tests.support.factories import NOW, make_staff
from tests.support.pages import count, history, page_of
from tests.support.web import CSRF

TODAY = NOW.date().isoformat()
NONCE = re.compile(r'name="(\w)-nonce"[^>]*value="([0-9a-f]{32})"')


def _form(client, person) -> tuple[str, dict[str, str]]:
    page = page_of(client.get(f"/staff/participants/{person.id}/checkin"))
    return CSRF.search(page).group(1), dict(NONCE.findall(page))


def _all_negative(client, person, token, nonce):
    return client.post(
        f"/staff/participants/{person.id}/checkin/negative",
        data={"csrf_token": token, "n-collected_on": TODAY, "n-nonce": nonce},
    )


def test_each_checkin_form_carries_its_own_nonce(logged_in, person):
    _, nonces = _form(logged_in, person)

    assert sorted(nonces) == ["a", "e", "n", "s"]
    assert len(set(nonces.values())) == 4
    assert _form(logged_in, person)[1]["n"] != nonces["n"]  # new on every showing


def test_a_form_sent_twice_records_one_visit_and_pays_once(logged_in, person):
    token, nonces = _form(logged_in, person)

    first = _all_negative(logged_in, person, token, nonces["n"])
    again = _all_negative(logged_in, person, token, nonces["n"])

    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"]
    assert count(Event) == 1
    page = page_of(logged_in.get(again.headers["Location"]))
    assert "+10 points ($2.50)" in page  # what the first sending paid
    assert 'id="balance">10 points' in page  # the balance: paid once


def test_two_showings_of_the_form_record_two_visits(logged_in, person):
    token, first = _form(logged_in, person)
    _, second = _form(logged_in, person)

    _all_negative(logged_in, person, token, first["n"])
    _all_negative(logged_in, person, token, second["n"])

    assert count(Event) == 2


@pytest.mark.parametrize("nonce", ["x" * 65, "z" * 32, "0" * 40])
def test_a_malformed_nonce_is_refused_on_the_form_and_writes_nothing(
    logged_in, person, nonce
):
    token, _ = _form(logged_in, person)
    before = history()

    response = _all_negative(logged_in, person, token, nonce)

    assert response.status_code == 422
    assert '<p class="error" role="alert">Reload the form and try again.</p>' in (
        page_of(response)
    )
    assert history() == before


def test_the_service_keeps_nonces_apart_per_staff_member(staff, clinic, person):
    other = make_staff(clinic, "second")
    nonce = "0" * 32
    on = NOW.date()

    one = checkins.record_attendance(
        staff, person.id, on, "group", now=NOW, nonce=nonce
    )
    same = checkins.record_attendance(
        staff, person.id, on, "group", now=NOW, nonce=nonce
    )
    two = checkins.record_attendance(
        other, person.id, on, "group", now=NOW, nonce=nonce
    )

    assert same.event.id == one.event.id
    assert two.event.id != one.event.id
    assert same.posted == []
    events = select(func.count()).select_from(Event).where(Event.kind == "attendance")
    assert db.session.scalar(events) == 2
