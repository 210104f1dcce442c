"""Staff pages show stored UTC instants on the clinic's wall clock, with its zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from cm_service.extensions import db
from cm_service.local_time import local_date, local_time
from cm_service.rules.draws import prize_words
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import (
    checkins,
    corrections,
    ledger,
    nightly,
    participants,
    rewards,
)
from cm_service.services.cm.timeline import clinic_today
from tests.support.clock import freeze
from tests.support.factories import make_staff, protocol_id
from tests.support.pages import page_of
from tests.support.web import log_in

AT = datetime(2026, 11, 30, 0, 19, tzinfo=UTC)  # Sunday evening in Chicago
CHICAGO = "Sun 29 Nov 2026, 18:19 CST"
TOKYO = "Mon 30 Nov 2026, 09:19 JST"
JULY = datetime(2026, 7, 15, 17, 5, tzinfo=UTC)
NEGATIVE = dict.fromkeys(
    ("cocaine", "amphetamine", "methamphetamine", "alcohol"), "negative"
)


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", role="admin")


@pytest.fixture
def at_clock(monkeypatch):
    """The staff pages' clock an hour after AT (overrides the frozen NOW)."""
    freeze(monkeypatch, lambda: AT + timedelta(hours=1))


def enrolled(actor, clinic, now: datetime, key: str = "higgins-1994"):
    """A participant enrolled two weeks before `now` (clinic-local), on a Monday."""
    person = participants.register_participant(actor, clinic.id, "P-0001", now=now)
    today = clinic_today(clinic, now)
    start = today - timedelta(days=today.weekday() + 14)
    participants.enroll(actor, person.id, protocol_id(clinic.id, key), start, now=now)
    return person, start


def recorded_at(actor, clinic, now: datetime):
    """A participant with one negative specimen recorded at `now`."""
    person, start = enrolled(actor, clinic, now)
    checkins.record_specimen(actor, person.id, start, {"cocaine": "negative"}, now=now)
    return person


def table(page: str, table_id: str) -> str:
    start = page.index(f'id="{table_id}"')
    return page[start : page.index("</table>", start)]


def row_with(html: str, text: str) -> str:
    at = html.index(text)
    return html[html.rindex("<tr", 0, at) : html.index("</tr>", at)]


def test_an_event_shows_when_it_was_recorded_on_the_clinics_clock(
    client, staff, clinic, at_clock
):
    person = recorded_at(staff, clinic, AT)
    log_in(client, "tech")

    page = page_of(client.get(f"/staff/participants/{person.id}"))

    events = table(page, "events")
    assert CHICAGO in row_with(events, "specimen")
    assert " UTC" not in events


def test_a_clinic_east_of_utc_shows_the_next_day(client, at_clock):
    tokyo = clinics.create_clinic(SYSTEM, "Tokyo Clinic", "Asia/Tokyo", now=AT)
    actor = make_staff(tokyo, "tokyo-tech")
    person = recorded_at(actor, tokyo, AT)
    log_in(client, "tokyo-tech")

    page = page_of(client.get(f"/staff/participants/{person.id}"))

    events = table(page, "events")
    assert TOKYO in row_with(events, "specimen")
    assert " UTC" not in events


def test_a_summer_time_carries_the_daylight_saving_zone(
    client, staff, clinic, monkeypatch
):
    freeze(monkeypatch, lambda: JULY + timedelta(hours=1))
    person = recorded_at(staff, clinic, JULY)
    log_in(client, "tech")

    page = page_of(client.get(f"/staff/participants/{person.id}"))

    assert "Wed 15 Jul 2026, 12:05 CDT" in row_with(table(page, "events"), "specimen")


def test_a_draw_shows_its_local_time_on_the_record_and_the_draws_page(
    client, app, staff, admin, clinic, at_clock
):
    person, start = enrolled(staff, clinic, AT, key="petry-ctn-2005")
    for n in (0, 3, 7):
        checkins.record_specimen(
            staff, person.id, start + timedelta(days=n), NEGATIVE, now=AT
        )
    secret = app.config["DRAW_SECRET"].encode()
    draw = ledger.draw_prize(staff, person.id, now=AT, secret=secret)
    if draw.value_cents:  # a won prize handed out, as a clinic would
        prize = rewards.add_reward(
            admin,
            "Prize",
            tier=draw.tier,
            cost_cents=None,
            value_cents=100,
            stock=1,
            now=AT,
        )
        rewards.hand_out_prize(staff, draw.id, prize.id, now=AT)
    log_in(client, "tech")

    record = page_of(client.get(f"/staff/participants/{person.id}"))
    draws = page_of(client.get(f"/staff/participants/{person.id}/draws"))

    words = prize_words(draw.tier, draw.value_cents)  # "Small prize: $1.00"
    for html in (table(record, "draw-history"), table(draws, "draws-made")):
        assert CHICAGO in row_with(html, words)
        assert " UTC" not in html


def test_a_correction_waiting_for_approval_shows_when_it_was_asked_for(
    client, staff, clinic, at_clock
):
    clinic.maker_checker = True
    db.session.commit()
    person = recorded_at(staff, clinic, AT)
    corrections.adjust_points(staff, person.id, 5, "Missed bonus", now=AT)
    log_in(client, "tech")

    approvals = table(page_of(client.get("/staff/approvals")), "approvals")

    assert CHICAGO in row_with(approvals, "Missed bonus")
    assert " UTC" not in approvals


def test_custody_files_a_movement_under_its_local_day_and_month(
    client, staff, admin, clinic, monkeypatch
):
    # Already 1 December in UTC, still the evening of 30 November in Chicago.
    month_end = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    freeze(monkeypatch, lambda: month_end + timedelta(hours=1))
    bus = rewards.add_reward(
        admin, "Bus pass", tier=None, cost_cents=1250, value_cents=1250, stock=0, now=AT
    )
    rewards.receive_stock(staff, bus.id, 4, "Delivery", now=month_end)
    log_in(client, "tech")

    this_month = page_of(client.get("/staff/custody"))
    december = page_of(client.get("/staff/custody?month=2026-12"))

    assert "November 2026" in this_month
    movements = table(this_month, "movements")
    assert "Mon 30 Nov 2026, 21:00 CST" in row_with(movements, "Delivery")
    assert " UTC" not in this_month
    assert "Delivery" not in table(december, "movements")


def test_the_operations_page_shows_when_a_run_finished_on_the_clinics_clock(
    client, staff, clinic
):
    nightly.run_nightly(clinic.id, date(2026, 11, 28), now=AT)
    log_in(client, "tech")

    runs = table(page_of(client.get("/staff/ops/")), "runs")

    run = row_with(runs, "2026-11-28")
    assert run.count(" CST") + run.count(" CDT") == 1
    assert " UTC" not in runs


def test_the_filters_take_an_explicit_clinic_and_keep_none_as_a_dash(clinic):
    assert local_time(AT, clinic) == CHICAGO
    assert local_time(AT) == "Mon 30 Nov 2026, 00:19 UTC"  # no clinic, no request
    assert local_date(AT, clinic) == "2026-11-29"
    assert (local_time(None, clinic), local_date(None, clinic)) == ("—", "—")


def test_no_form_field_says_autocomplete_none(app, staff, clinic):
    # Issue 15, defect 9: the pause form rendered autocomplete="None".
    from tests.support.factories import make_staff
    from tests.support.web import log_in

    make_staff(clinic, "boss", "admin")
    client = app.test_client()
    log_in(client, "boss")

    for page in ("/staff/ops/", "/staff/participants/new", "/staff/rewards"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert 'autocomplete="None"' not in response.get_data(as_text=True)
