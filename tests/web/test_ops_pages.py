from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Clinic, ClinicClosure, Pause
from cm_service.services.cm import nightly
from tests.support.clock import freeze
from tests.support.factories import make_enrolled, make_staff
from tests.support.web import csrf_token, log_in


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def admin(clinic):
    return make_staff(clinic, "boss", "admin")


def test_the_operations_page_shows_each_nightly_run_with_its_counts(
    client, admin, staff, clinic
):
    make_enrolled(staff, clinic)
    nightly.run_nightly(
        clinic.id, date(2026, 1, 5), now=datetime(2026, 1, 6, 18, tzinfo=UTC)
    )
    log_in(client, "boss")

    page = client.get("/staff/ops/").get_data(as_text=True)

    assert "2026-01-05" in page
    assert "succeeded" in page


def test_the_operations_page_shows_each_reconciliation_with_what_it_found(
    client, staff, clinic
):
    for n in range(8):
        make_enrolled(staff, clinic, code=f"P-{n:04d}")
    day, now = date(2026, 1, 5), datetime(2026, 1, 6, 18, tzinfo=UTC)
    nightly.run_nightly(clinic.id, day, now=now)
    check = nightly.run_reconciliation(clinic.id, day, now=now)
    log_in(client, "tech")

    page = client.get("/staff/ops/").get_data(as_text=True)

    checks = page[page.index('id="checks"') :]
    row = checks[
        checks.index("<tr class=") : checks.index("</tr>", checks.index("<tr class="))
    ]
    assert "2026-01-05" in row
    assert "succeeded" in row
    assert f'<td class="num">{check.counts.reconciled}</td>' in row
    assert check.counts.reconciled >= 1


def test_an_admin_closes_the_clinic_on_a_holiday(client, admin, clinic):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/ops/")

    response = client.post(
        "/staff/ops/closures",
        data={
            "csrf_token": token,
            "closure-closed_on": "2026-12-25",
            "closure-reason": "Christmas Day",
        },
    )

    assert response.status_code == 302
    closure = db.session.scalars(select(ClinicClosure)).one()
    assert (closure.closed_on, closure.reason) == (date(2026, 12, 25), "Christmas Day")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"closure-closed_on": "", "closure-reason": "Holiday"}, "Enter the date."),
        (
            {"closure-closed_on": "2026-13-40", "closure-reason": "Holiday"},
            "Not a valid date value.",
        ),
        ({"closure-closed_on": "2026-12-25", "closure-reason": ""}, "Say why."),
    ],
)
def test_a_bad_closure_is_refused_next_to_its_field(client, admin, data, message):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/ops/")

    response = client.post("/staff/ops/closures", data={"csrf_token": token, **data})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(ClinicClosure)) == 0


@pytest.mark.parametrize(
    ("code", "message"),
    [("P-9999", "No participant P-9999"), ("", "Enter the code.")],
)
def test_pausing_an_unknown_participant_is_refused(
    client, staff, clinic, code, message
):
    log_in(client, "tech")
    token = csrf_token(client, "/staff/ops/")

    response = client.post(
        "/staff/ops/pauses",
        data={
            "csrf_token": token,
            "pause-code": code,
            "pause-starts_on": "2026-01-07",
            "pause-reason": "Hospital stay",
        },
    )

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Pause)) == 0


def test_another_clinics_participant_cannot_be_paused(client, staff, other_clinic):
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-0777")
    log_in(client, "tech")
    token = csrf_token(client, "/staff/ops/")

    response = client.post(
        "/staff/ops/pauses",
        data={
            "csrf_token": token,
            "pause-code": "P-0777",
            "pause-starts_on": "2026-01-07",
            "pause-reason": "Hospital stay",
        },
    )

    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(Pause)) == 0


def test_staff_pause_a_participant(client, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")
    log_in(client, "tech")
    token = csrf_token(client, "/staff/ops/")

    response = client.post(
        "/staff/ops/pauses",
        data={
            "csrf_token": token,
            "pause-code": "p-0001",
            "pause-starts_on": "2026-01-07",
            "pause-ends_on": "2026-01-20",
            "pause-reason": "Hospital stay",
        },
    )

    assert response.status_code == 302
    pause = db.session.scalars(select(Pause)).one()
    assert (pause.starts_on, pause.ends_on) == (date(2026, 1, 7), date(2026, 1, 20))


def test_only_an_admin_switches_safe_mode(client, admin, staff, clinic):
    log_in(client, "tech")
    token = csrf_token(client, "/staff/ops/")
    assert (
        client.post("/staff/ops/safe-mode", data={"csrf_token": token}).status_code
        == 403
    )
    client.post("/staff/logout", data={"csrf_token": token})

    log_in(client, "boss")
    token = csrf_token(client, "/staff/ops/")
    client.post("/staff/ops/safe-mode", data={"csrf_token": token})

    assert db.session.get(Clinic, clinic.id).safe_mode is True


def test_an_admin_turns_on_second_approval_for_corrections(client, admin, clinic):
    log_in(client, "boss")
    token = csrf_token(client, "/staff/ops/")

    response = client.post("/staff/ops/maker-checker", data={"csrf_token": token})

    assert response.status_code == 302
    assert db.session.get(Clinic, clinic.id).maker_checker is True
    page = client.get("/staff/ops/").get_data(as_text=True)
    assert "wait for a second staff member" in page


def test_staff_cannot_turn_off_second_approval(client, staff, clinic):
    log_in(client, "tech")
    token = csrf_token(client, "/staff/ops/")

    response = client.post("/staff/ops/maker-checker", data={"csrf_token": token})

    assert response.status_code == 403
    assert db.session.get(Clinic, clinic.id).maker_checker is False


def _work_and_quiet_nights(staff, clinic) -> None:
    """Ten quiet nights (nobody enrolled yet), then one that marked a test missed."""
    now = datetime(2026, 1, 6, 18, tzinfo=UTC)
    for day in range(20, 30):
        nightly.run_nightly(clinic.id, date(2025, 12, day), now=now)
    make_enrolled(staff, clinic)
    nightly.run_nightly(clinic.id, date(2026, 1, 5), now=now)


def test_the_operations_page_puts_its_forms_above_the_runs(client, staff, clinic):
    _work_and_quiet_nights(staff, clinic)
    log_in(client, "tech")

    page = client.get("/staff/ops/").get_data(as_text=True)

    assert page.index('id="pause-title"') < page.index('id="attention"')
    assert page.index('id="attention"') < page.index('id="runs"')


def test_the_operations_page_shows_only_the_runs_that_need_attention(
    client, staff, clinic
):
    _work_and_quiet_nights(staff, clinic)
    log_in(client, "tech")

    page = client.get("/staff/ops/").get_data(as_text=True)

    # The night with work is listed; the quiet ones only in the full table,
    # which is folded away.
    attention = page[page.index('id="attention"') : page.index("<details")]
    assert "2026-01-05" in attention
    assert "2025-12-2" not in attention
    full = page[page.index("<details") : page.index("</details>")]
    assert "All 11 nightly runs" in full
    assert "2025-12-25" in full


def test_a_failed_or_held_run_needs_attention_even_with_no_counts(
    client, staff, clinic
):
    _work_and_quiet_nights(staff, clinic)
    run = nightly.recent_runs(clinic.id)[-1]  # 2025-12-20, a quiet night
    run.status = "failed"
    run.error = "OperationalError: database is locked"
    db.session.commit()
    log_in(client, "tech")

    page = client.get("/staff/ops/").get_data(as_text=True)

    attention = page[page.index('id="attention"') : page.index("<details")]
    assert "2025-12-20" in attention
    assert "database is locked" in attention


def test_the_closure_and_pause_forms_start_on_the_clinics_today(
    client, admin, clinic, monkeypatch
):

    # 03:00 UTC on 1 March is still 28 February in Chicago.
    freeze(monkeypatch, lambda: datetime(2026, 3, 1, 3, tzinfo=UTC))
    log_in(client, "boss")

    page = client.get("/staff/ops/").get_data(as_text=True)

    assert re.search(r'id="closure-closed_on"[^>]*value="2026-02-28"', page)
    assert re.search(r'id="pause-starts_on"[^>]*value="2026-02-28"', page)
    assert not re.search(r'id="pause-ends_on"[^>]*value="2', page)
