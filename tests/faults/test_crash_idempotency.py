"""SIGKILL the server inside an API check-in with an Idempotency-Key, then retry.

The API promises a client that retries with the same Idempotency-Key "gets that
response back instead of a second record". The key is claimed in the check-in's own
transaction, and its response stored just after that commits. So there are two places
a kill can land, and each is tested with a real server process:

* before the commit: nothing of the request is left, claim included, and the retry
  records the check-in once (201, then replayed);
* after the commit, before the response is stored: the retry is told, with a 409
  naming the Idempotency-Key, that the request was carried out; it never records
  twice and never finds the key stuck "in use".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from cm_service.extensions import db
from cm_service.models import Event, LedgerEntry
from tests.faults.server import Client, Response
from tests.support.faults import enrol_clinic

TRIES = 5  # the claim may be answered before the kill lands; try another participant
NEG = {"cocaine": "negative"}


class Peek:
    """Reads the database beside the server without taking any lock (autocommit)."""

    def __init__(self, db_url: str) -> None:
        url = make_url(db_url)
        if url.get_backend_name() == "sqlite":
            self.conn = sqlite3.connect(url.database, isolation_level=None)
            self.mark = "?"
        else:
            self.conn = psycopg.connect(
                host=url.query["host"],
                port=int(url.query["port"]),
                user=url.username,
                dbname=url.database,
                autocommit=True,
            )
            self.mark = "%s"

    def claim_status(self, key: str) -> int | None:
        row = self.conn.execute(
            f"SELECT status FROM idempotent_response WHERE key = {self.mark}",  # noqa: S608
            (key,),
        ).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        self.conn.close()


# cm_service.services.access.audit's lock; a check-in takes it after writing its event.
AUDIT_LOCK = 73_411_001


def _send(port: int, secret: str, code: str, key: str, body: bytes) -> Response:
    return Client(port).post(
        f"/api/v1/participants/{code}/events",
        json_body=body,
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key},
    )


def test_a_checkin_cut_off_after_its_commit_is_reported_done_when_retried(
    app, server, db_url
):
    enrolled = enrol_clinic(TRIES)
    server.start()
    peek = Peek(db_url)
    try:
        for person in sorted(enrolled.people.items()):
            pid, code = person
            key = f"checkin:{code}:{enrolled.day.isoformat()}"
            body = json.dumps(
                {
                    "kind": "specimen",
                    "on": enrolled.day.isoformat(),
                    "results": NEG,
                }
            ).encode()
            outcome: list = []

            def send(code=code, key=key, body=body, outcome=outcome) -> None:
                try:
                    outcome.append(
                        _send(server.port, enrolled.api_secret, code, key, body)
                    )
                except OSError as error:
                    outcome.append(error)

            sender = threading.Thread(target=send, daemon=True)
            sender.start()
            deadline = time.monotonic() + 20
            while peek.claim_status(key) is None:
                assert time.monotonic() < deadline, "the key was never claimed"
                assert sender.is_alive() or not outcome, f"answered: {outcome}"
                time.sleep(0.0005)
            server.kill()
            sender.join(30)
            if peek.claim_status(key) == 0:  # killed before storing the response
                break
            server.start()  # it finished first; try the next participant
        else:
            pytest.fail(f"no kill landed before a response was kept in {TRIES} tries")
    finally:
        peek.close()

    server.start()
    retry = _send(server.port, enrolled.api_secret, code, key, body)
    assert retry.status == 409, retry.body
    answer = json.loads(retry.body)
    assert (answer["error"], answer["field"]) == (
        "idempotency_key_completed",
        "Idempotency-Key",
    )
    again = _send(server.port, enrolled.api_secret, code, key, body)
    assert (again.status, again.body) == (409, retry.body)
    server.stop()

    _assert_recorded_once(pid)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_checkin_cut_off_before_its_commit_leaves_nothing_and_records_on_retry(
    app, server, db_url
):
    # Only PostgreSQL can hold a writer mid-transaction from outside (SQLite's one
    # writer gives no such point): the audit lock stops the check-in after it has
    # written its claim, event and award, before its commit.
    enrolled = enrol_clinic(1)
    [(pid, code)] = enrolled.people.items()
    key = f"checkin:{code}:{enrolled.day.isoformat()}"
    body = json.dumps(
        {"kind": "specimen", "on": enrolled.day.isoformat(), "results": NEG}
    ).encode()
    server.start()
    peek = Peek(db_url)
    outcome: list = []

    def send() -> None:
        try:
            outcome.append(_send(server.port, enrolled.api_secret, code, key, body))
        except OSError as error:
            outcome.append(error)

    try:
        peek.conn.execute("SELECT pg_advisory_lock(%s)", (AUDIT_LOCK,))
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        deadline = time.monotonic() + 20
        while not peek.conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, f"never reached the audit: {outcome}"
            time.sleep(0.005)
        assert peek.claim_status(key) is None, "the claim is visible before commit"
        server.kill()
        sender.join(30)
        assert len(outcome) == 1, "the sender never finished"
        assert isinstance(outcome[0], OSError), outcome
    finally:
        peek.conn.execute("SELECT pg_advisory_unlock_all()")
        peek.close()

    server.start()
    retry = _send(server.port, enrolled.api_secret, code, key, body)
    assert retry.status == 201, retry.body
    again = _send(server.port, enrolled.api_secret, code, key, body)
    assert (again.status, again.body) == (201, retry.body)
    assert again.headers.get("Idempotent-Replayed") == "true"
    server.stop()

    _assert_recorded_once(pid)


def _assert_recorded_once(pid: int) -> None:
    events = db.session.scalars(select(Event).where(Event.participant_id == pid)).all()
    awards = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.participant_id == pid)
    ).all()
    db.session.remove()
    assert len(events) == 1, "the retried check-in was recorded twice"
    assert [(e.kind, e.event_id) for e in awards] == [("award", events[0].id)]
