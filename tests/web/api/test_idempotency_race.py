"""Racing retries: processes that send one request with one Idempotency-Key at the
same moment, on both databases. The claim is made in the use case's transaction, so
the check-in must still be recorded once: PostgreSQL makes the second INSERT of the
key wait for the first transaction, SQLite's BEGIN IMMEDIATE admits one writer.
"""

from __future__ import annotations

import json
import multiprocessing
import traceback

from sqlalchemy import select

from cm_service import clock, create_app
from cm_service.extensions import db
from cm_service.models import Event
from tests.support.api import make_token
from tests.support.config import TEST_CONFIG
from tests.support.factories import NOW, START, make_enrolled, scheduled

WORKERS, ROUNDS = 6, 8
START_TIMEOUT = 60  # seconds for every process to build its app and reach the start
DAYS = [d.isoformat() for d in scheduled(START, (0, 2, 4), ROUNDS)]


def _send_each_day(db_url: str, secret: str, start, results) -> None:
    """One racing process: for each day, wait for the others, then send the day's
    specimen with the day's key. Reports [(status, body)] or the traceback."""
    answers, errors = [], []
    try:
        clock.now = lambda: NOW  # the clock the parent's data was built for
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}
        for day in DAYS:
            body = {"kind": "specimen", "on": day, "results": {"cocaine": "negative"}}
            start.wait()
            response = client.post(
                "/api/v1/participants/P-0001/events",
                json=body,
                headers={**headers, "Idempotency-Key": f"visit-{day}"},
            )
            answers.append((response.status_code, response.get_data(as_text=True)))
        with app.app_context():
            db.engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
    results.put((answers, errors))


def test_racing_retries_of_one_key_record_once(staff, clinic, db_url):
    make_enrolled(staff, clinic)
    secret = make_token(clinic)
    db.session.remove()
    db.engine.dispose()

    # spawn: children must not inherit the parent's open database connections.
    ctx = multiprocessing.get_context("spawn")
    results, start = ctx.Queue(), ctx.Barrier(WORKERS, timeout=START_TIMEOUT)
    procs = [
        ctx.Process(target=_send_each_day, args=(db_url, secret, start, results))
        for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    try:
        outcomes = [results.get(timeout=180) for _ in procs]
    finally:
        for proc in procs:
            proc.join(30)
            if proc.is_alive():
                proc.kill()
    assert [errors for _, errors in outcomes] == [[]] * WORKERS

    for n, day in enumerate(DAYS):
        answers = [answers[n] for answers, _ in outcomes]
        # Every racer gets the first request's answer: a retry that lands between
        # its commit and its stored response waits for that response (issue 15).
        assert {status for status, _ in answers} == {201}, f"{day}: {answers}"
        canonical = {
            json.dumps(json.loads(body), sort_keys=True) for _, body in answers
        }
        assert len(canonical) == 1, f"{day}: {answers}"
    recorded = db.session.scalars(select(Event.collected_on)).all()
    assert sorted(d.isoformat() for d in recorded) == DAYS
