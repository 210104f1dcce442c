"""On SQLite, pages read while another process holds the write lock.

Every transaction used to begin IMMEDIATE, so a page waited for any writer (and
failed after the busy timeout). GET requests now read in a deferred transaction and
write their audit row in a short one of its own.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from sqlalchemy import select

from cm_service.extensions import db
from cm_service.models import AuditLog, Participant
from cm_service.services.access import audit
from cm_service.services.cm import checkins
from tests.support.factories import NOW, START
from tests.support.portal import portal_log_in
from tests.support.web import log_in

on_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def hold_write_lock(db_url: str) -> sqlite3.Connection:
    """Another process's writer: BEGIN IMMEDIATE and keep it."""
    other = sqlite3.connect(
        db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
    )
    other.execute("BEGIN IMMEDIATE")
    return other


@on_sqlite
def test_the_home_page_reads_while_a_writer_holds_the_lock(client, person, db_url):
    portal_log_in(client, person.clinic_id)
    db.session.commit()  # the test's own session must not hold the lock either
    writer = hold_write_lock(db_url)
    try:
        started = time.monotonic()
        response = client.get("/me/")
        waited = time.monotonic() - started
    finally:
        writer.rollback()
        writer.close()

    assert response.status_code == 200
    assert "P-0001" in response.get_data(as_text=True)
    assert waited < 5  # it did not sit in the busy handler (15 s, then an error)


@on_sqlite
def test_an_audited_page_waits_for_the_writer_then_records_its_view(
    app, person, staff, db_url
):
    client = app.test_client()
    log_in(client, "tech")
    db.session.commit()
    writer = hold_write_lock(db_url)
    threading.Timer(0.5, writer.rollback).start()

    response = client.get(f"/staff/participants/{person.id}")

    writer.close()
    assert response.status_code == 200
    views = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "view_participant")
    ).all()
    assert [v.participant_id for v in views] == [person.id]
    assert audit.verify() is None


@on_sqlite
def test_a_get_that_writes_outside_begin_writing_fails_loudly(app, person):
    with app.test_request_context("/me/", method="GET"):
        app.preprocess_request()
        participant = db.session.get(Participant, person.id)  # a deferred read
        participant.language = "es"

        with pytest.raises(RuntimeError, match="begin_writing"):
            db.session.flush()
        db.session.rollback()


@on_sqlite
def test_an_autocommit_statement_on_sqlite_is_committed(app, db_url):
    # ANALYZE, VACUUM and the like run outside a transaction; none may be begun
    # for them, since nothing would ever commit it.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CREATE TABLE scratch (x INTEGER)")

    other = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    found = other.execute("SELECT name FROM sqlite_master WHERE name = 'scratch'")
    assert found.fetchall() == [("scratch",)]
    other.close()


@on_sqlite
@pytest.mark.parametrize("sent", [1, 2], ids=["recorded", "form sent again"])
def test_a_checkin_answer_is_read_without_holding_the_write_lock(
    app, staff, person, db_url, sent
):
    for _ in range(sent):  # the second sending is answered from the first
        result = checkins.record_specimen(
            staff, person.id, START, {"cocaine": "negative"}, now=NOW, nonce="a" * 32
        )

    other = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0)
    other.execute("BEGIN IMMEDIATE")  # "database is locked" if anything held it
    other.rollback()
    other.close()
    assert result.run == 1
    assert result.event.collected_on == START  # still loaded, no reload needed
