"""Racing redemptions in separate processes, against one balance, on both databases."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import LedgerEntry
from cm_service.services import checkins, ledger
from cm_service.services.actors import SYSTEM
from cm_service.services.errors import Conflict
from tests.conftest import TEST_CONFIG
from tests.factories import NOW, START, make_enrolled

WORKERS, ATTEMPTS, COST = 4, 15, 5


def _redeem_many(db_url: str, participant_id: int, results) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
    accepted, refusals = 0, []
    with app.app_context():
        for _ in range(ATTEMPTS):
            try:
                ledger.redeem_points(SYSTEM, participant_id, COST, now=NOW)
                accepted += 1
            except Conflict as error:
                db.session.rollback()
                refusals.append(error.code)
        db.engine.dispose()
    results.put((accepted, refusals))


def test_racing_redemptions_never_overdraw(staff, clinic, db_url):
    person, _ = make_enrolled(staff, clinic)
    for offset in (0, 2, 4, 7):  # 10 + 15 + 20 + 40 bonus + 25 = 110 points
        checkins.record_specimen(
            staff,
            person.id,
            START + timedelta(days=offset),
            {"cocaine": "negative"},
            now=NOW,
        )
    assert ledger.balance_of(person.id).points == 110
    db.session.remove()
    db.engine.dispose()

    # spawn: children must not inherit the parent's open database connections.
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [
        ctx.Process(target=_redeem_many, args=(db_url, person.id, results))
        for _ in range(WORKERS)
    ]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)

    accepted = sum(a for a, _ in outcomes)
    assert accepted == 110 // COST
    refusals = [code for _, codes in outcomes for code in codes]
    assert refusals == ["insufficient_balance"] * (WORKERS * ATTEMPTS - accepted)
    redemptions = db.session.scalars(
        select(LedgerEntry.amount).where(LedgerEntry.kind == "redemption")
    ).all()
    assert redemptions == [-COST] * accepted
    assert ledger.balance_of(person.id).points == 0
