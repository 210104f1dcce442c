"""The Today board: who is expected, what is pending, and its audit row."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import audit
from cm_service.services.cm import checkins
from tests.support.factories import NOW, make_enrolled
from tests.support.pages import page_of

TODAY = NOW.date()  # Monday 2026-02-02: a Higgins testing day
# Petry CTN 2005 tests a panel: a specimen missing a target must be recollected.
PARTIAL = {"cocaine": "negative"}
PETRY = "petry-ctn-2005"


def _pending(page: str) -> str:
    return page[page.index('id="pending"') :]


def test_opening_the_board_writes_one_audit_row_naming_the_clinic(
    logged_in, staff, clinic
):
    make_enrolled(staff, clinic, code="P-0001")
    make_enrolled(staff, clinic, code="P-0002")

    logged_in.get("/staff/today")

    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_board")
    ).all()
    assert [(r.actor_id, r.object_type, r.object_id) for r in rows] == [
        (staff.user_id, "clinic", clinic.id)
    ]
    assert rows[0].detail == {"on": TODAY.isoformat(), "enrollments": 2}
    assert audit.verify() is None


def test_recollections_stay_pending_for_a_week_then_leave_the_board(
    logged_in, staff, clinic
):
    recent, _ = make_enrolled(staff, clinic, key=PETRY, code="P-0001")
    old, _ = make_enrolled(staff, clinic, key=PETRY, code="P-0002")
    week_ago = TODAY - timedelta(days=7)  # a Monday: scheduled, now out of range
    checkins.record_specimen(staff, old.id, week_ago, PARTIAL, now=NOW)
    checkins.record_specimen(
        staff, recent.id, TODAY - timedelta(days=5), PARTIAL, now=NOW
    )

    pending = _pending(page_of(logged_in.get("/staff/today")))

    assert "P-0001" in pending
    assert "P-0002" not in pending


def test_a_recollection_today_keeps_the_participant_waiting(logged_in, staff, clinic):
    make_enrolled(staff, clinic, code="P-0001")
    person, _ = make_enrolled(staff, clinic, key=PETRY, code="P-0002")
    checkins.record_specimen(staff, person.id, TODAY, PARTIAL, now=NOW)

    page = page_of(logged_in.get("/staff/today"))

    waiting = page[page.index('id="waiting"') : page.index('id="checked-in"')]
    assert "P-0001" in waiting
    assert "P-0002" in waiting
    assert 'id="count-waiting">2<' in page
    assert "P-0002" in _pending(page)


def _statements_for(client, path: str) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_the_board_reads_a_whole_clinic_in_the_same_few_queries(
    logged_in, staff, clinic
):
    # It once folded each enrollment in turn (five queries apiece, and one more per
    # row to show it after the audit commit expired what it had loaded).
    for n in range(1, 4):
        make_enrolled(staff, clinic, code=f"P-{n:04d}")
    small = _statements_for(logged_in, "/staff/today")
    for n in range(4, 10):
        make_enrolled(staff, clinic, code=f"P-{n:04d}")

    assert _statements_for(logged_in, "/staff/today") == small
