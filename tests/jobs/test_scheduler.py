"""The real APScheduler once, and two job processes racing on one database."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import Event, JobRun
from cm_service.scheduler import build_scheduler
from cm_service.services.cm import nightly
from tests.support.config import TEST_CONFIG
from tests.support.factories import make_enrolled

NOW = datetime(2026, 2, 5, 12, 0, tzinfo=UTC)


def _run_due(db_url: str, results) -> None:
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        outcomes = nightly.run_due(NOW)
        db.engine.dispose()
    results.put([(o.day.isoformat(), o.status) for o in outcomes])


def test_two_job_processes_close_each_date_exactly_once(staff, clinic, db_url):
    for n in range(3):
        make_enrolled(staff, clinic, code=f"P-{n:04d}")
    clinic_id = clinic.id
    db.session.remove()
    db.engine.dispose()

    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    procs = [ctx.Process(target=_run_due, args=(db_url, results)) for _ in range(2)]
    for proc in procs:
        proc.start()
    outcomes = [results.get(timeout=180) for _ in procs]
    for proc in procs:
        proc.join(30)

    succeeded = Counter(day for run in outcomes for day, s in run if s == "succeeded")
    assert set(succeeded.values()) == {1}
    assert len(succeeded) == 31
    per_day = Counter(
        db.session.scalars(select(JobRun.run_on).where(JobRun.clinic_id == clinic_id))
    )
    assert set(per_day.values()) == {1}
    missed = Counter(
        (e.participant_id, e.collected_on)
        for e in db.session.scalars(select(Event).where(Event.kind == "missed"))
    )
    assert len(missed) == 3 * 14  # 14 Mon/Wed/Fri in Jan 5 .. Feb 4, per participant
    assert set(missed.values()) == {1}


def test_the_real_scheduler_catches_up_on_start(app, staff, clinic):
    # Enrolled ten days ago in real time: the scheduler uses the wall clock.
    today = datetime.now(UTC).date()
    make_enrolled(staff, clinic, start=today - timedelta(days=10))
    db.session.remove()  # SQLite: release the writer lock for the job's thread

    done = threading.Event()
    errors: list[BaseException] = []

    def listener(event) -> None:
        if event.exception:
            errors.append(event.exception)
        done.set()

    scheduler = build_scheduler(app, BackgroundScheduler(timezone=UTC))
    scheduler.add_listener(listener, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        assert done.wait(60), "the nightly job did not run"
    finally:
        scheduler.shutdown(wait=True)

    assert errors == []
    days = db.session.scalars(select(JobRun.run_on).order_by(JobRun.run_on)).all()
    assert days[0] == today - timedelta(days=10)
    assert len(days) >= 9  # up to yesterday in the clinic's time zone
    assert max(days) < today
