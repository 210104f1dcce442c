"""Booked sessions through the API: booking, attendance (late, off site), excusing
a session, cancelling, and bad input named by field with nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import Appointment, Event
from cm_service.services.cm import appointments
from tests.support.factories import NOW, make_enrolled, make_staff

TUESDAY = "2026-01-27"  # before NOW (Mon 2 Feb), a group day of the preset
BOOKING = {"session_type": "group", "on": TUESDAY, "starts_at": "10:00"}


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_a_booked_group_attended_late_and_an_excused_one_are_recorded(
    api, staff, clinic
):
    make_enrolled(staff, clinic, "attendance-prize")
    booked = api.post(
        "/participants/P-0001/appointments",
        json={**BOOKING, "on": "2026-01-20", "weekly": True, "until": "2026-02-10"},
    )
    excused = api.post(
        "/participants/P-0001/events",
        json={
            "kind": "excused",
            "on": "2026-01-20",
            "session_type": "group",
            "reason": "Court date",
        },
    )
    attended = api.post(
        "/participants/P-0001/events",
        json={"kind": "attendance", "on": TUESDAY, "session_type": "group"},
    )

    assert booked.status_code == 201
    assert [a["on"] for a in booked.json["appointments"]] == [
        "2026-01-20",
        TUESDAY,
        "2026-02-03",
        "2026-02-10",
    ]
    # The excused group neither breaks nor extends the run: 1 draw, then 2.
    assert [(a["award_key"], a["amount"]) for a in attended.json["awards"]] == [
        (f"attendance:{TUESDAY}:group", 1)
    ]
    upcoming = attended.json["balance"]["next_sessions"]
    assert [(s["on"], s["draws"]) for s in upcoming] == [("2026-02-03", 2)]
    assert excused.status_code == 201
    assert excused.json["event"]["session_type"] == "group"
    listed = api.get("/participants/P-0001/appointments").json["appointments"]
    assert [a["on"] for a in listed] == ["2026-02-03", "2026-02-10"]


def test_an_off_site_meeting_needs_how_and_who_confirmed_it(api, staff, clinic):
    make_enrolled(staff, clinic, "attendance-prize")
    body = {"kind": "attendance", "on": TUESDAY, "session_type": "twelve_step"}

    missing = api.post("/participants/P-0001/events", json=body)
    recorded = api.post(
        "/participants/P-0001/events",
        json={
            **body,
            "late": True,
            "verification": "phone_call",
            "verification_note": "Called the meeting secretary",
        },
    )

    assert (missing.status_code, missing.json["field"]) == (422, "verification")
    assert recorded.status_code == 201
    event = recorded.json["event"]
    assert (event["late"], event["verification"]) == (True, "phone_call")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"starts_at": "10am"}, "starts_at"),
        ({"starts_at": "24:00"}, "starts_at"),
        ({"session_type": "yoga"}, "session_type"),
        ({"on": "2031-01-01"}, "on"),
        ({"weekly": "yes"}, "weekly"),
        ({"until": "2026-13-01"}, "until"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_booking_is_a_422_naming_the_field(api, staff, clinic, change, field):
    make_enrolled(staff, clinic, "attendance-prize")

    response = api.post("/participants/P-0001/appointments", json=BOOKING | change)

    assert response.status_code == 422
    assert response.json["field"] in (field, "first_on" if field == "on" else field)
    assert count(Appointment) == 0


def test_cancelling_needs_a_reason_and_stays_in_the_clinic(
    api, other_api, staff, clinic
):
    make_enrolled(staff, clinic, "attendance-prize")
    made = api.post("/participants/P-0001/appointments", json=BOOKING).json
    appointment_id = made["appointments"][0]["id"]

    short = api.post(f"/appointments/{appointment_id}/cancel", json={"reason": ""})
    elsewhere = other_api.post(
        f"/appointments/{appointment_id}/cancel", json={"reason": "not yours"}
    )
    done = api.post(
        f"/appointments/{appointment_id}/cancel", json={"reason": "Group off: snow"}
    )
    again = api.post(
        f"/appointments/{appointment_id}/cancel", json={"reason": "Group off: snow"}
    )

    assert (short.status_code, short.json["field"]) == (422, "reason")
    assert elsewhere.status_code == 404
    assert (done.status_code, done.json["cancelled"]) == (200, True)
    assert again.status_code == 409
    assert count(Event) == 0


def test_another_clinics_participant_cannot_be_booked(api, other_clinic):
    outsider = make_staff(other_clinic, "elsewhere")
    make_enrolled(outsider, other_clinic, "attendance-prize", code="P-9999")

    response = api.post("/participants/P-9999/appointments", json=BOOKING)

    assert response.status_code == 404
    assert appointments.upcoming(1, NOW.date()) == []
