"""The participant portal: a participant with a PIN on the Higgins protocol, and
logging in as one at their clinic's own login page."""

from __future__ import annotations

from cm_service.extensions import db
from cm_service.models import Clinic
from cm_service.services.cm import participants
from tests.support.factories import NOW, START, protocol_id
from tests.support.web import csrf_token

PIN = "246810"


def make_participant(staff, clinic, code: str = "P-0001", pin: str = PIN):
    person = participants.register_participant(staff, clinic.id, code, now=NOW, pin=pin)
    participants.enroll(
        staff, person.id, protocol_id(clinic.id, "higgins-1994"), START, now=NOW
    )
    return person


def login_path(clinic: Clinic | int) -> str:
    """The clinic's own portal login: the link on a participant's card."""
    if not isinstance(clinic, Clinic):
        clinic = db.session.get(Clinic, clinic)
    return f"/me/{clinic.portal_slug}/login"


def portal_log_in(client, clinic: Clinic | int, code: str = "P-0001", pin: str = PIN):
    path = login_path(clinic)
    token = csrf_token(client, path)
    return client.post(path, data={"code": code, "pin": pin, "csrf_token": token})
