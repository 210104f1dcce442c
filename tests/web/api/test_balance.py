"""The balance read: a view of a participant's record, so it is audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import audit
from tests.support.factories import make_enrolled, make_staff

NEG = {"cocaine": "negative"}


def audit_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditLog))


@pytest.mark.parametrize("token", ["api", "auditor_api"])
def test_reading_a_balance_writes_a_view_balance_audit_row(
    request, staff, clinic, token
):
    person, _ = make_enrolled(staff, clinic)
    reader = request.getfixturevalue(token)

    response = reader.get("/participants/p-0001/balance")

    assert response.status_code == 200
    row = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_balance")
    ).one()
    assert (row.participant_id, row.clinic_id) == (person.id, clinic.id)
    assert (row.actor_type, row.object_type, row.object_id) == (
        "api",
        "participant",
        person.id,
    )
    assert audit.verify() is None


def test_each_balance_read_is_audited(api, staff, clinic):
    make_enrolled(staff, clinic)
    api.post(
        "/participants/P-0001/events",
        json={"kind": "specimen", "on": "2026-01-05", "results": NEG},
    )

    first = api.get("/participants/P-0001/balance")
    second = api.get("/participants/P-0001/balance")

    assert first.json == second.json
    assert first.json["points"] == 10
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions[-2:] == ["view_balance", "view_balance"]


def test_another_clinics_code_is_the_same_404_as_an_unknown_one(
    api, staff, clinic, other_clinic
):
    make_enrolled(make_staff(other_clinic, "elsewhere"), other_clinic, code="P-9999")
    before = audit_rows()

    theirs = api.get("/participants/P-9999/balance")
    unknown = api.get("/participants/P-NOPE/balance")

    assert theirs.status_code == unknown.status_code == 404
    assert theirs.json == unknown.json
    assert theirs.json["field"] == "code"
    assert audit_rows() == before
