"""Exemptions on the staff pages: a badge on check-in, the result and the record;
added and ended from the record with form errors next to their fields."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, Exemption
from cm_service.services.cm import checkins, exemptions
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import count, history, page_of
from tests.support.web import csrf_token, log_in

BADGE = "benzodiazepines: exempt, clonazepam prescribed, since 2026-01-05"
PANEL = ["cocaine", "benzodiazepines"]
GOOD = {
    "x-analyte": "benzodiazepines",
    "x-medication": "clonazepam",
    "x-starts_on": "2026-01-05",
}


@pytest.fixture
def patient(staff, clinic):
    person, _ = make_enrolled(staff, clinic, targets=PANEL)
    return person


@pytest.fixture
def exempt(staff, patient):
    return exemptions.add_exemption(
        staff, patient.id, "benzodiazepines", "clonazepam", START, now=NOW
    ).exemption


def _record_url(person) -> str:
    return f"/staff/participants/{person.id}"


def _add(client, person, data: dict, token: str | None = None):
    token = token or csrf_token(client, _record_url(person))
    return client.post(
        f"{_record_url(person)}/exemptions", data={"csrf_token": token, **data}
    )


def _end(client, person, exemption, day: str, token: str | None = None):
    token = token or csrf_token(client, _record_url(person))
    return client.post(
        f"{_record_url(person)}/exemptions/{exemption.id}/end",
        data={"csrf_token": token, f"end-{exemption.id}-ends_on": day},
    )


def test_the_badge_shows_on_the_record_checkin_and_result_pages(
    logged_in, staff, patient, exempt
):
    record = page_of(logged_in.get(_record_url(patient)))
    form = page_of(logged_in.get(f"{_record_url(patient)}/checkin"))
    result = checkins.record_specimen(
        staff,
        patient.id,
        NOW.date(),
        {"cocaine": "negative", "benzodiazepines": "positive"},
        now=NOW,
    )
    shown = page_of(logged_in.get(f"/staff/checkins/{result.event.id}"))

    for page in (record, form, shown):
        assert f'<span class="tag tag-exempt">{BADGE}</span>' in page
    assert "+10 points ($2.50)" in shown  # the exempt positive paid as a negative


def test_adding_an_exemption_on_the_record_page(logged_in, staff, patient):
    checkins.record_specimen(
        staff,
        patient.id,
        START,
        {"cocaine": "negative", "benzodiazepines": "positive"},
        now=NOW,
    )
    page = page_of(logged_in.get(_record_url(patient)))
    assert 'name="x-medication"' in page
    assert BADGE not in page

    response = _add(logged_in, patient, GOOD)

    assert response.status_code == 302
    assert response.headers["Location"] == _record_url(patient)
    page = page_of(logged_in.get(_record_url(patient)))
    assert BADGE in page
    assert "Exemption added. Ledger adjusted: +10 points." in page
    assert "10 points · $2.50" in page
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "add_exemption")
    ).one()
    assert row.participant_id == patient.id


def test_ending_an_exemption_shows_until_on_the_badge(logged_in, patient, exempt):
    page = page_of(logged_in.get(_record_url(patient)))
    assert f'name="end-{exempt.id}-ends_on"' in page
    assert 'value="2026-02-02"' in page  # the end date defaults to today

    response = _end(logged_in, patient, exempt, "2026-01-30")

    assert response.status_code == 302
    page = page_of(logged_in.get(_record_url(patient)))
    assert f"{BADGE}, until 2026-01-30" in page
    assert f'name="end-{exempt.id}-ends_on"' not in page  # no End once it has ended
    assert db.session.get(Exemption, exempt.id).ends_on == date(2026, 1, 30)
    checkin = page_of(logged_in.get(f"{_record_url(patient)}/checkin"))
    assert f"{BADGE}, until 2026-01-30" in checkin


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        ({"x-analyte": ""}, 422, "x-analyte", "Choose the exempt substance."),
        ({"x-analyte": "kryptonite"}, 422, "x-analyte", "Not a valid choice."),
        ({"x-medication": ""}, 422, "x-medication", "Name the prescribed medication."),
        (
            {"x-medication": "   "},
            422,
            "x-medication",
            "Name the prescribed medication.",
        ),
        (
            {"x-medication": "x" * 121},
            422,
            "x-medication",
            "Field cannot be longer than 120 characters.",
        ),
        ({"x-starts_on": ""}, 422, "x-starts_on", "Enter the date as YYYY-MM-DD."),
        (
            {"x-starts_on": "19/10/2026"},
            422,
            "x-starts_on",
            "Enter the date as YYYY-MM-DD.",
        ),
        (
            {"x-starts_on": "2026-01-04"},
            422,
            "x-starts_on",
            "The exemption cannot start before the enrollment (2026-01-05).",
        ),
        (
            {"x-starts_on": "9999-01-01"},
            422,
            "x-starts_on",
            "The date is more than a year from today: check the year.",
        ),
        (
            {"x-ends_on": "2026-01-01"},
            422,
            "x-ends_on",
            "The end date cannot come before the start date.",
        ),
        ({"x-ends_on": "soon"}, 422, "x-ends_on", "Enter the date as YYYY-MM-DD."),
    ],
)
def test_bad_exemptions_are_refused_next_to_the_field_and_write_nothing(
    logged_in, patient, data, status, field, message
):
    token = csrf_token(logged_in, _record_url(patient))
    before = history(), count(Exemption)

    response = _add(logged_in, patient, {**GOOD, **data}, token)

    assert response.status_code == status
    page = page_of(response)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert f'aria-describedby="{field}-error"' in page
    assert (history(), count(Exemption)) == before


def test_an_overlapping_exemption_is_a_conflict_shown_on_the_form(
    logged_in, patient, exempt
):
    token = csrf_token(logged_in, _record_url(patient))
    before = history(), count(Exemption)

    response = _add(logged_in, patient, {**GOOD, "x-starts_on": "2026-01-20"}, token)

    assert response.status_code == 409
    assert 'id="x-starts_on-error"' in page_of(response)
    assert "Benzodiazepines is already exempt" in page_of(response)
    assert (history(), count(Exemption)) == before


@pytest.mark.parametrize(
    ("day", "message"),
    [
        ("", "Enter the date as YYYY-MM-DD."),
        ("yesterday", "Enter the date as YYYY-MM-DD."),
        ("2026-01-01", "The end date cannot come before the start date."),
    ],
)
def test_a_bad_end_date_is_refused_next_to_the_field(
    logged_in, patient, exempt, day, message
):
    token = csrf_token(logged_in, _record_url(patient))
    before = history()

    response = _end(logged_in, patient, exempt, day, token)

    assert response.status_code == 422
    field = f"end-{exempt.id}-ends_on"
    assert f'<p class="error" id="{field}-error">{message}</p>' in page_of(response)
    assert history() == before
    assert db.session.get(Exemption, exempt.id).ends_on is None


def test_an_auditor_sees_the_badge_but_no_forms_and_cannot_post(
    client, clinic, patient, exempt
):
    make_staff(clinic, "reader", role="auditor")
    log_in(client, "reader")
    page = page_of(client.get(_record_url(patient)))
    token = csrf_token(client, "/staff/today")
    before = history(), count(Exemption)

    added = _add(client, patient, GOOD, token)
    ended = _end(client, patient, exempt, "2026-02-02", token)

    assert BADGE in page
    assert 'name="x-medication"' not in page
    assert f"/exemptions/{exempt.id}/end" not in page
    assert (added.status_code, ended.status_code) == (403, 403)
    assert (history(), count(Exemption)) == before


def test_another_clinics_participant_or_exemption_is_404(
    logged_in, patient, other_clinic
):
    elsewhere = make_staff(other_clinic, "elsewhere")
    theirs, _ = make_enrolled(elsewhere, other_clinic, code="P-0900", targets=PANEL)
    their_exemption = exemptions.add_exemption(
        elsewhere, theirs.id, "benzodiazepines", "clonazepam", START, now=NOW
    ).exemption
    token = csrf_token(logged_in, _record_url(patient))
    before = history(), count(Exemption)

    added = _add(logged_in, theirs, GOOD, token)
    ended = _end(logged_in, theirs, their_exemption, "2026-02-02", token)
    crossed = _end(logged_in, patient, their_exemption, "2026-02-02", token)

    assert (added.status_code, ended.status_code, crossed.status_code) == (
        404,
        404,
        404,
    )
    assert (history(), count(Exemption)) == before
    assert db.session.get(Exemption, their_exemption.id).ends_on is None


def test_an_exemption_post_without_its_csrf_token_is_refused(logged_in, patient):
    response = logged_in.post(f"{_record_url(patient)}/exemptions", data=GOOD)

    assert response.status_code == 400
    assert count(Exemption) == 0
