"""Racing redemptions in separate processes, against one balance, on both databases.

8 spawned processes each make 50 redemptions of COST points through the real service
(`ledger.redeem_points`) against one participant, whose balance covers only SEEDED of
the 400. What an auditor checks afterwards: the balance never went below zero at any
point of the ledger, exactly the accepted redemptions are in the ledger, every refusal
was the insufficient-balance refusal, nothing else failed (no "database is locked"),
and the arithmetic is exact.
"""

from __future__ import annotations

import multiprocessing
import traceback

from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import AuditLog, LedgerEntry
from cm_service.services.access import audit
from cm_service.services.access.actors import SYSTEM
from cm_service.services.cm import corrections, ledger
from cm_service.services.errors import Conflict
from tests.support.config import TEST_CONFIG
from tests.support.factories import NOW, make_enrolled

WORKERS, ATTEMPTS, COST = 8, 50, 5
SEEDED = 150  # redemptions the seeded balance covers, of WORKERS * ATTEMPTS
START_TIMEOUT = 60  # seconds for every process to build its app and reach the start


def _redeem_many(db_url: str, participant_id: int, start, results) -> None:
    """One racing process: build the app, wait for the others, redeem ATTEMPTS times.

    Reports (accepted entry ids, refusal codes, unexpected errors); never raises, so
    the parent always hears from it.
    """
    accepted, refusals, errors = [], [], []
    try:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
        with app.app_context():
            db.session.execute(select(1))  # connect before the start, not after it
            db.session.rollback()
            start.wait()  # all processes redeem at once
            for _ in range(ATTEMPTS):
                try:
                    entry = ledger.redeem_points(SYSTEM, participant_id, COST, now=NOW)
                    accepted.append(entry.id)
                except Conflict as error:
                    db.session.rollback()
                    refusals.append(error.code)
                except Exception:  # anything else is a finding, reported below
                    db.session.rollback()
                    errors.append(traceback.format_exc(limit=3))
            db.session.remove()
            db.engine.dispose()
    except Exception:
        errors.append(traceback.format_exc())
    results.put((accepted, refusals, errors))


def test_racing_redemptions_never_overdraw(staff, clinic, db_url):
    person, _ = make_enrolled(staff, clinic)
    corrections.adjust_points(
        staff, person.id, SEEDED * COST, "Seed for the race test", now=NOW
    )
    initial = ledger.balance_of(person.id).points
    assert initial == SEEDED * COST
    entries_before = set(db.session.scalars(select(LedgerEntry.id)).all())
    db.session.remove()
    db.engine.dispose()

    # spawn: children must not inherit the parent's open database connections.
    ctx = multiprocessing.get_context("spawn")
    results, start = ctx.Queue(), ctx.Barrier(WORKERS, timeout=START_TIMEOUT)
    procs = [
        ctx.Process(target=_redeem_many, args=(db_url, person.id, start, results))
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
    assert [proc.exitcode for proc in procs] == [0] * WORKERS

    errors = [e for _, _, errs in outcomes for e in errs]
    assert errors == [], "unexpected errors:\n" + "\n".join(errors)
    accepted = [entry_id for ids, _, _ in outcomes for entry_id in ids]
    refusals = [code for _, codes, _ in outcomes for code in codes]
    assert len(accepted) + len(refusals) == WORKERS * ATTEMPTS
    assert set(refusals) <= {"insufficient_balance"}, refusals
    assert len(accepted) == SEEDED, "the balance covered exactly SEEDED redemptions"

    # The ledger: exactly the accepted redemptions, each of COST, nothing else new.
    new = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.id.not_in(entries_before))
        .order_by(LedgerEntry.id)
    ).all()
    assert sorted(e.id for e in new) == sorted(accepted)
    assert {(e.kind, e.amount, e.participant_id) for e in new} == {
        ("redemption", -COST, person.id)
    }
    assert len({e.idempotency_key for e in new}) == len(new)

    # Never below zero at any point: the running balance in posting order. Entries
    # for one participant are inserted under its row lock (PostgreSQL) or the single
    # writer lock (SQLite), so id order is commit order.
    running, lowest = 0, 0
    for amount in db.session.scalars(
        select(LedgerEntry.amount)
        .where(LedgerEntry.participant_id == person.id, LedgerEntry.account == "points")
        .order_by(LedgerEntry.id)
    ):
        running += amount
        lowest = min(lowest, running)
    assert lowest == 0
    final = ledger.balance_of(person.id).points
    assert final == running == initial - len(accepted) * COST == 0

    # Every accepted redemption was audited, and the hash chain is intact.
    audited = db.session.scalars(
        select(AuditLog.object_id).where(AuditLog.action == "redeem")
    ).all()
    assert sorted(audited) == sorted(accepted)
    assert audit.verify() is None
