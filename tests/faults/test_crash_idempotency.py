"""SIGKILL the server inside an API check-in with an Idempotency-Key, then retry.

The API promises a client that retries with the same Idempotency-Key "gets that
response back instead of a second record". The key is claimed (a committed PENDING
row) before the use case runs and its response stored after. Here the server is
SIGKILLed the moment the claim is visible, i.e. inside the use case. After a restart
the client retries with the same key and body, as the API tells it to; the check-in
must then be recorded exactly once, with one award.
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
from tests.faults.conftest import enrol_clinic
from tests.faults.server import Client, Response

TRIES = 5  # the claim may be answered before the kill lands; try another participant


class StuckIdempotencyKey(AssertionError):
    """The retry of a crashed request was refused because its key is still claimed."""


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


def _send(port: int, secret: str, code: str, key: str, body: bytes) -> Response:
    return Client(port).post(
        f"/api/v1/participants/{code}/events",
        json_body=body,
        headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": key},
    )


@pytest.mark.xfail(
    strict=True,
    raises=StuckIdempotencyKey,
    reason=(
        "BUG (api_tokens.claim_idempotency_key): a request killed between claiming "
        "its Idempotency-Key and storing its response leaves the claim PENDING "
        "forever; every retry with that key is refused with 409 "
        "idempotency_key_in_use, so the client can never complete the check-in "
        "(nor learn whether it was recorded). The claim needs an owner/lease that "
        "a crash releases, or to commit in the use case's own transaction."
    ),
)
def test_a_checkin_cut_off_by_a_crash_completes_once_when_retried_with_its_key(
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
                    "results": {"cocaine": "negative"},
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
            if peek.claim_status(key) == 0:  # killed inside the request
                break
            server.start()  # it finished first; try the next participant
        else:
            pytest.fail(f"no kill landed inside a request in {TRIES} tries")
    finally:
        peek.close()

    server.start()
    retry = _send(server.port, enrolled.api_secret, code, key, body)
    if retry.status == 409 and "idempotency_key_in_use" in retry.body:
        raise StuckIdempotencyKey(retry.body)
    assert retry.status == 201, retry.body
    again = _send(server.port, enrolled.api_secret, code, key, body)
    assert (again.status, again.body) == (201, retry.body)
    server.stop()

    events = db.session.scalars(select(Event).where(Event.participant_id == pid)).all()
    awards = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.participant_id == pid)
    ).all()
    db.session.remove()
    assert len(events) == 1, "the retried check-in was recorded twice"
    assert [(e.kind, e.event_id) for e in awards] == [("award", events[0].id)]
