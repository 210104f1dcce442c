from __future__ import annotations

from datetime import timedelta

import pytest

from cm_service.services.cm import checkins, participants
from tests.support.factories import NOW, START, make_staff
from tests.support.portal import make_participant, portal_log_in

PAGES = ["/me/", "/me/history", "/me/progress", "/me/rewards", "/me/who-looked"]


@pytest.fixture
def neighbours(staff, clinic, other_clinic, person):
    """P-0001 (logged in below) shares a clinic with P-0777, who has a large balance;
    another clinic has its own P-0001."""
    other = participants.register_participant(
        staff, clinic.id, "P-0777", now=NOW, display_name="Rosa Neighbour", pin="284917"
    )
    participants.enroll(staff, other.id, person_protocol(person), START, now=NOW)
    for offset in (0, 2, 4, 7, 9, 11):
        checkins.record_specimen(
            staff,
            other.id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    elsewhere = make_staff(other_clinic, "elsewhere")
    twin = make_participant(elsewhere, other_clinic, code="P-0001")
    checkins.record_specimen(
        elsewhere, twin.id, START, {"cocaine": "positive"}, now=NOW
    )
    return other, twin


def person_protocol(person) -> int:
    return participants.latest_enrollment(person.id).protocol_id


@pytest.mark.parametrize("path", PAGES)
def test_a_participant_sees_no_one_elses_code_name_or_amount(
    client, clinic, person, neighbours, path
):
    portal_log_in(client, clinic.id)

    page = client.get(path).get_data(as_text=True)

    assert "P-0777" not in page
    assert "Rosa" not in page
    # The neighbour's six negatives are worth $51.25; P-0001 has earned nothing.
    assert "$51.25" not in page


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_a_participant_login(client, person, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/login")


@pytest.mark.parametrize("path", PAGES)
def test_portal_pages_are_never_cached(client, clinic, person, path):
    portal_log_in(client, clinic.id)

    response = client.get(path)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "path",
    [
        "/me/{id}",
        "/me/{id}/",
        "/me/{id}/history",
        "/me/history/{id}",
        "/me/participants/{id}",
        "/me/{id}/rewards",
        "/me/who-looked/{id}",
    ],
)
def test_another_participants_id_in_a_url_is_404(
    client, clinic, person, neighbours, path
):
    other, twin = neighbours
    portal_log_in(client, clinic.id)

    for target in (other, twin):
        response = client.get(path.format(id=target.id))
        assert response.status_code == 404
        assert "P-0777" not in response.get_data(as_text=True)


def test_who_looked_shows_role_and_time_but_no_staff_name(
    client, staff, clinic, person
):
    participants.view_participant(staff, person.id, now=NOW)  # "tech" opens it
    portal_log_in(client, clinic.id)

    page = client.get("/me/who-looked").get_data(as_text=True)

    assert "Looked at your record" in page
    assert "Staff member" in page
    assert "2/2/26, 2:00\u202fPM" in page  # 20:00 UTC in the clinic's Chicago time
    assert "tech" not in page
    # Only staff rows: the participant's own login is not listed.
    assert page.count("<tr>") == 4


def test_who_looked_lists_only_this_participants_record(
    client, staff, clinic, person, neighbours
):
    portal_log_in(client, clinic.id)

    page = client.get("/me/who-looked").get_data(as_text=True)

    # Registered, enrolled: two rows for P-0001; the neighbour's six results are not.
    assert page.count("<tr>") == 3
    assert "Recorded a test result" not in page
