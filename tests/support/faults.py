"""Fault injection: a clinic enrolled for today, for a server in another process.

The server runs against the same database as the test, so the test's own session
must hold no transaction while the server writes (SQLite takes its write lock at
BEGIN IMMEDIATE): every helper here ends with `db.session.remove()`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from cm_service.extensions import db
from cm_service.services.access import api_tokens
from cm_service.services.access.actors import SYSTEM
from cm_service.services.admin import clinics
from cm_service.services.cm import participants
from cm_service.services.cm.timeline import clinic_today
from tests.support.factories import make_staff, protocol_id

PASSWORD = "correct horse battery"  # make_staff's
EVERY_DAY = {0: [0, 1, 2, 3, 4, 5, 6]}  # so today is a testing day, whatever day


@dataclass
class Enrolled:
    clinic_id: int
    username: str
    day: date  # the clinic's today, when the batch runs
    people: dict[int, str]  # participant id -> code
    api_secret: str


def enrol_clinic(size: int) -> Enrolled:
    """A UTC clinic, a staff user, an API token and `size` participants enrolled on
    Higgins 1994 from today, tested every day."""
    now = datetime.now(UTC)
    clinic = clinics.create_clinic(SYSTEM, "Fault Clinic", "UTC", now=now)
    staff = make_staff(clinic, "fault-tech")
    day = clinic_today(clinic, now)
    higgins = protocol_id(clinic.id, "higgins-1994")
    people = {}
    for n in range(size):
        person = participants.register_participant(
            staff, clinic.id, f"F-{n:04d}", now=now
        )
        participants.enroll(
            staff, person.id, higgins, day, now=now, testing_days=EVERY_DAY
        )
        people[person.id] = person.code
    _, secret = api_tokens.create_token(SYSTEM, clinic.id, "staff", now=now)
    enrolled = Enrolled(clinic.id, "fault-tech", day, people, secret)
    db.session.remove()
    return enrolled
