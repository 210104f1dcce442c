"""Participants rewarded for coming to group, for the web tests (issue 13).

Attendance only: the attendance-prize preset (group draws by appointment on Tue and
Thu, 1 draw +1 per session in a row). Combined: Higgins' vouchers for negative tests
plus the same group draws, built here as a clinic protocol version. NOW is Monday
2 February 2026; both have attended the groups of Tue 27 and Thu 29 January, so
their next group (Tue 3 February) earns 3 draws.
"""

from __future__ import annotations

import re
from datetime import date, time

from sqlalchemy import select

from cm_service import rules
from cm_service.extensions import db
from cm_service.models import Event, Participant
from cm_service.services.admin import clinics
from cm_service.services.cm import appointments, checkins, participants
from tests.support.factories import NOW, START, make_staff, protocol_id

ATTENDANCE = "attendance-prize"
COMBINED = "higgins-groups"
TUESDAY = date(2026, 1, 27)
THURSDAY = date(2026, 1, 29)
NEXT_TUESDAY = date(2026, 2, 3)
TEN = time(10)


def book_groups(staff, participant_id: int) -> None:
    for first_on in (TUESDAY, THURSDAY):
        appointments.book(
            staff, participant_id, "group", first_on, TEN, weekly=True, now=NOW
        )


def attend_groups(staff, participant_id: int) -> None:
    for day in (TUESDAY, THURSDAY):
        checkins.record_attendance(staff, participant_id, day, "group", now=NOW)


def enrolled(staff, clinic, key: str, code: str, pin: str | None) -> Participant:
    person = participants.register_participant(staff, clinic.id, code, now=NOW, pin=pin)
    participants.enroll(staff, person.id, protocol_id(clinic.id, key), START, now=NOW)
    return person


def attendance_only(staff, clinic, code="P-0100", pin=None) -> Participant:
    """Two group sessions in a row (1 + 2 draws); Tue 3 February earns 3."""
    person = enrolled(staff, clinic, ATTENDANCE, code, pin)
    book_groups(staff, person.id)
    attend_groups(staff, person.id)
    return person


def add_combined_protocol(clinic) -> None:
    """Higgins' tests with the attendance preset's group draws in every phase."""
    groups = rules.load_preset(ATTENDANCE)["phases"][0]["attendance"]
    spec = rules.load_preset("higgins-1994")
    spec = {
        **spec,
        "key": COMBINED,
        "name": "Vouchers for negative tests and draws for group",
        "phases": [{**phase, "attendance": groups} for phase in spec["phases"]],
    }
    clinics.add_protocol_version(
        make_staff(clinic, "boss", "admin"), clinic.id, spec, now=NOW
    )


def combined(staff, clinic, code="P-0200", pin=None) -> Participant:
    """Two negatives in a row (the next earns 20 + a 40-point bonus) and two group
    sessions in a row (the next earns 3 draws)."""
    add_combined_protocol(clinic)
    person = enrolled(staff, clinic, COMBINED, code, pin)
    for day in (START, date(2026, 1, 7)):
        checkins.record_specimen(
            staff, person.id, day, {"cocaine": "negative"}, now=NOW
        )
    book_groups(staff, person.id)
    attend_groups(staff, person.id)
    return person


def void_first_group(staff, person) -> None:
    """Void Tuesday's group: Thursday becomes the first of the run (1 draw, not 2),
    so the 2 draws already paid above that are withheld from the next awards."""
    first = db.session.scalars(
        select(Event).where(
            Event.participant_id == person.id, Event.collected_on == TUESDAY
        )
    ).one()
    checkins.void_event(staff, first.id, "Checked in the wrong person", now=NOW)


def section(html: str, start: str, end: str = "</section>") -> str:
    """The part of a page from the first `start` to the next `end`."""
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def words(html: str) -> str:
    """The page's text as a reader sees it: inline tags dropped, other tags read
    as a space, spaces collapsed."""
    inline = re.sub(r"</?(a|em|label|strong)\b[^>]*>", "", html)
    return " ".join(re.sub(r"<[^>]+>", " ", inline).split())
