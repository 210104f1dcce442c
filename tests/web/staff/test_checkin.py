from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import Event
from cm_service.services.cm import checkins
from tests.support.factories import NOW, START, make_enrolled, make_staff
from tests.support.pages import history, page_of
from tests.support.web import csrf_token, log_in

TODAY = NOW.date()  # 2026-02-02 in Chicago too (14:00 local)


def _checkin_url(person, kind: str = "") -> str:
    return f"/staff/participants/{person.id}/checkin" + (f"/{kind}" if kind else "")


def _post(client, person, kind: str, data: dict, token: str | None = None):
    token = token or csrf_token(client, _checkin_url(person))
    return client.post(_checkin_url(person, kind), data={"csrf_token": token, **data})


def test_the_front_door_and_login_land_on_the_today_board(client, staff):
    assert client.get("/").headers["Location"] == "/staff/today"

    response = log_in(client, "tech")

    assert response.headers["Location"] == "/staff/today"


def test_today_board_shows_who_is_waiting_checked_in_and_excused(
    logged_in, staff, clinic, other_clinic
):
    done, _ = make_enrolled(staff, clinic, code="P-0001")
    excused, _ = make_enrolled(staff, clinic, code="P-0002")
    make_enrolled(staff, clinic, code="P-0003")
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-0900")
    checkins.record_specimen(staff, done.id, TODAY, {"cocaine": "negative"}, now=NOW)
    checkins.excuse_day(staff, excused.id, TODAY, "Hospital visit", now=NOW)

    page = page_of(logged_in.get("/staff/today"))

    waiting = page[page.index('id="waiting"') : page.index('id="checked-in"')]
    checked = page[page.index('id="checked-in"') : page.index('id="excused"')]
    excused_part = page[page.index('id="excused"') : page.index('id="pending"')]
    assert "P-0003" in waiting
    assert "P-0001" not in waiting
    assert "P-0001" in checked
    assert "negative" in checked
    assert "P-0002" in excused_part
    assert "P-0900" not in page


def test_a_specimen_with_a_missing_target_is_pending_recollection(
    logged_in, staff, clinic
):
    person, _ = make_enrolled(staff, clinic, key="petry-ctn-2005")
    checkins.record_specimen(staff, person.id, TODAY, {"cocaine": "negative"}, now=NOW)

    page = page_of(logged_in.get("/staff/today"))

    pending = page[page.index('id="pending"') :]
    assert "P-0001" in pending
    assert "recollect" in pending


def test_a_board_row_is_one_click_from_its_checkin_form(logged_in, person):
    page = page_of(logged_in.get("/staff/today"))

    assert f'href="/staff/participants/{person.id}/checkin"' in page
    form = page_of(logged_in.get(_checkin_url(person)))
    assert "Record all negative" in form
    assert 'name="s-result_cocaine"' in form


@pytest.mark.parametrize("typed", ["P-0001", "p-0001", "  P-0001 "])
def test_finding_a_code_opens_the_checkin_form(logged_in, person, typed):
    response = logged_in.get("/staff/checkin", query_string={"code": typed})

    assert response.status_code == 302
    assert response.headers["Location"] == _checkin_url(person)


def test_the_code_field_offers_this_clinics_codes(logged_in, person, other_clinic):
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-0900")

    page = page_of(logged_in.get("/staff/checkin"))

    assert '<option value="P-0001">' in page
    assert "P-0900" not in page


@pytest.mark.parametrize(
    ("code", "status", "message"),
    [
        ("P-0900", 404, "No participant with that code in this clinic."),
        ("P-4444", 404, "No participant with that code in this clinic."),
        ("", 422, "Enter a participant code."),
    ],
)
def test_a_code_that_is_not_ours_is_not_found(
    logged_in, person, other_clinic, code, status, message
):
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-0900")

    response = logged_in.get("/staff/checkin", query_string={"code": code})

    assert response.status_code == status
    assert message in page_of(response)


def test_recording_all_negative_shows_the_award_in_two_page_loads(logged_in, person):
    response = _post(logged_in, person, "negative", {"n-collected_on": "2026-02-02"})

    assert response.status_code == 302
    result = logged_in.get(response.headers["Location"])
    page = page_of(result)
    assert result.status_code == 200
    assert "+10 points ($2.50)" in page
    assert "1 negative in a row" in page
    assert "10 points ($2.50)" in page  # balance
    assert "Next negative earns" in page


def test_recording_a_positive_resets_the_run_and_shows_it(logged_in, staff, person):
    for day in (START + timedelta(days=n) for n in (0, 2, 4)):
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )

    response = _post(
        logged_in,
        person,
        "specimen",
        {"s-collected_on": "2026-02-02", "s-result_cocaine": "positive"},
    )

    page = page_of(logged_in.get(response.headers["Location"]))
    assert "cocaine positive" in page
    assert "Nothing this time." in page
    assert "0 negatives in a row" in page
    assert "10 points ($2.50)" in page  # the next negative is back to the start


def test_a_specimen_with_a_breath_reading_keeps_the_reading(logged_in, staff, clinic):
    person, _ = make_enrolled(staff, clinic, key="petry-ctn-2005")
    data = {f"s-result_{a}": "negative" for a in ("cocaine", "amphetamine")}
    data |= {"s-result_methamphetamine": "negative", "s-result_alcohol": "negative"}

    response = _post(
        logged_in,
        person,
        "specimen",
        {"s-collected_on": "2026-02-02", **data, "s-brac": "0.000"},
    )

    page = page_of(logged_in.get(response.headers["Location"]))
    assert "BrAC 0.000" in page
    assert "+1 draw to make" in page


def test_a_refused_specimen_needs_no_results(logged_in, person):
    response = _post(
        logged_in,
        person,
        "specimen",
        {"s-collected_on": "2026-02-02", "s-refused": "y"},
    )

    assert response.status_code == 302
    event = db.session.scalars(select(Event)).one()
    assert event.refused


@pytest.mark.parametrize(
    "results",
    [{"s-result_cocaine": "negative"}, {"s-result_cocaine": "positive"}],
)
def test_refused_with_a_result_chosen_is_a_form_error_and_writes_nothing(
    logged_in, person, results
):
    token = csrf_token(logged_in, _checkin_url(person))
    before = history()

    response = _post(
        logged_in,
        person,
        "specimen",
        {"s-collected_on": "2026-02-02", "s-refused": "y", **results},
        token,
    )

    assert response.status_code == 422
    page = page_of(response)
    message = "Untick Refused or clear the results: a refused specimen has no results."
    assert f'<p class="error" id="s-refused-error">{message}</p>' in page
    assert 'aria-describedby="s-refused-error"' in page
    assert history() == before


def test_attendance_and_excuse_are_recorded(logged_in, person):
    attended = _post(
        logged_in,
        person,
        "attendance",
        {"a-on": "2026-02-02", "a-session_type": "group"},
    )
    excused = _post(
        logged_in, person, "excuse", {"e-on": "2026-01-30", "e-reason": "Court date"}
    )

    assert (attended.status_code, excused.status_code) == (302, 302)
    assert "group session" in page_of(logged_in.get(attended.headers["Location"]))
    kinds = db.session.scalars(select(Event.kind).order_by(Event.id)).all()
    assert kinds == ["attendance", "excused"]


GOOD_SPECIMEN = {"s-collected_on": "2026-02-02", "s-result_cocaine": "negative"}


@pytest.mark.parametrize(
    ("kind", "data", "field", "message"),
    [
        (
            "specimen",
            {"s-result_cocaine": ""},
            "s-result_cocaine",
            "Choose the cocaine result.",
        ),
        (
            "specimen",
            {"s-result_cocaine": "maybe"},
            "s-result_cocaine",
            "Not a valid choice.",
        ),
        (
            "specimen",
            {"s-collected_on": "02/02/2026"},
            "s-collected_on",
            "Enter the date as YYYY-MM-DD.",
        ),
        (
            "specimen",
            {"s-collected_on": ""},
            "s-collected_on",
            "Enter the date as YYYY-MM-DD.",
        ),
        (
            "specimen",
            {"s-collected_on": "2026-02-03"},
            "s-collected_on",
            "The date cannot be in the future.",
        ),
        (
            "specimen",
            {"s-collected_on": "2026-01-01"},
            "s-collected_on",
            "P-0001 was not enrolled on 2026-01-01.",
        ),
        (
            "specimen",
            {"s-brac": "lots"},
            "s-brac",
            "Enter the BrAC as a decimal, e.g. 0.000 or 0.020.",
        ),
        (
            "specimen",
            {"s-brac": "0.9"},
            "s-brac",
            "Enter the BrAC reading, between 0.000 and 0.600.",
        ),
        (
            "negative",
            {"n-collected_on": "tomorrow"},
            "n-collected_on",
            "Enter the date as YYYY-MM-DD.",
        ),
        (
            "attendance",
            {"a-on": "2026-02-02", "a-session_type": ""},
            "a-session_type",
            "Choose the type of session attended.",
        ),
        (
            "attendance",
            {"a-on": "2026-02-02", "a-session_type": "party"},
            "a-session_type",
            "Not a valid choice.",
        ),
        (
            "attendance",
            {"a-on": "", "a-session_type": "group"},
            "a-on",
            "Enter the date as YYYY-MM-DD.",
        ),
        (
            "excuse",
            {"e-on": "2026-02-02", "e-reason": ""},
            "e-reason",
            "Say why the day is excused.",
        ),
        (
            "excuse",
            {"e-on": "2026-02-02", "e-reason": "ok"},
            "e-reason",
            "Say why the day is excused.",
        ),
        (
            "excuse",
            {"e-on": "2026-03-01", "e-reason": "Holiday"},
            "e-on",
            "The date cannot be in the future.",
        ),
    ],
)
def test_bad_checkin_input_is_shown_next_to_its_field_and_writes_nothing(
    logged_in, person, kind, data, field, message
):
    token = csrf_token(logged_in, _checkin_url(person))
    before = history()
    body = {**GOOD_SPECIMEN, **data} if kind == "specimen" else data

    response = _post(logged_in, person, kind, body, token)

    assert response.status_code == 422
    page = page_of(response)
    assert f'<p class="error" id="{field}-error">{message}</p>' in page
    assert f'aria-describedby="{field}-error"' in page
    assert history() == before


def test_an_auditor_reads_the_checkin_page_but_cannot_record(
    client, clinic, staff, person
):
    make_staff(clinic, "reader", role="auditor")
    log_in(client, "reader")
    page = page_of(client.get(_checkin_url(person)))
    token = csrf_token(client, "/staff/today")
    before = history()

    response = client.post(
        _checkin_url(person, "negative"),
        data={"csrf_token": token, "n-collected_on": "2026-02-02"},
    )

    assert "Record all negative" not in page
    assert response.status_code == 403
    assert history() == before


def test_a_checkin_post_without_its_csrf_token_is_refused(logged_in, person):
    response = logged_in.post(
        _checkin_url(person, "negative"), data={"n-collected_on": "2026-02-02"}
    )

    assert response.status_code == 400
    assert history()[0] == 0
