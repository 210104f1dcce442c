"""Time one nightly run (and its reconciliation slice) at week 1 and at week 24.

    .venv/bin/python bench/nightly.py [--participants 10000] [--database-url URL]

Builds two clinics of N participants each on the California preset (24 weeks), one
with a week of history and one with 23 weeks, settled; then times `run_nightly` for a
scheduled day of each, with 90% of that day's specimens already recorded (the rest
become missed), then that date's reconciliation slice (a seventh of the clinic,
folded from day one), then keeping the next day's standing of every active
enrollment (what pages read). Closing the day should cost what the day's activity
costs, not what the history's length does; the reconciliation, by design, does not.
Without --database-url a fresh SQLite file in a temporary folder is used.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

# The repository instead of bench/, whose http.py would shadow the standard library.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import event, insert, select  # noqa: E402

from cm_service import create_app, rules  # noqa: E402
from cm_service.extensions import db  # noqa: E402
from cm_service.models import (  # noqa: E402
    Enrollment,
    Event,
    JobRun,
    Participant,
    Protocol,
)
from cm_service.services.access.actors import SYSTEM  # noqa: E402
from cm_service.services.admin import clinics  # noqa: E402
from cm_service.services.cm import ledger, nightly  # noqa: E402
from cm_service.services.cm.timeline import chunks  # noqa: E402
from tests.support.pg import start_cluster  # noqa: E402

START = date(2026, 1, 5)  # a Monday
PROTOCOL = "ca-recovery-incentives"
TARGETS = ("methamphetamine", "amphetamine", "cocaine")


def build_clinic(n: int, weeks: int, rng: random.Random) -> tuple[int, date]:
    """A clinic whose N participants have `weeks` weeks of settled history before the
    returned day, and 90% of that day's specimens recorded."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    clinic_id = clinics.create_clinic(SYSTEM, f"Bench {weeks}w", "UTC", now=now).id
    protocol = db.session.scalar(
        select(Protocol).where(
            Protocol.clinic_id == clinic_id, Protocol.key == PROTOCOL
        )
    )
    spec = rules.validate_spec(protocol.spec)
    facts = rules.EnrollmentFacts(start_on=START)
    days = rules.scheduled_days(spec, facts, START, START + timedelta(weeks=weeks))
    day = days[-1]
    ids = _participants(clinic_id, protocol.id, n)
    rows = [
        _event(clinic_id, pid, eid, on, rng)
        for pid, eid in ids
        for on in days
        if on < day or rng.random() < 0.9
    ]
    for part in range(0, len(rows), 20_000):
        db.session.execute(insert(Event), rows[part : part + 20_000])
    _closed_before(clinic_id, day)
    db.session.commit()
    _settle_all([eid for _, eid in ids], day)
    return clinic_id, day


def _closed_before(clinic_id: int, day: date) -> None:
    """The nightly runs a real clinic has behind it: every date before `day` closed
    (so the measured run also looks for days a correction left without a record)."""
    runs = [
        {
            "job": "nightly",
            "clinic_id": clinic_id,
            "run_on": on,
            "status": "succeeded",
            "started_at": _after(on),
            "finished_at": _after(on),
            "counts": {},
        }
        for on in (START + timedelta(days=n) for n in range((day - START).days))
    ]
    if runs:  # an empty list would insert one row of defaults
        db.session.execute(insert(JobRun), runs)


def _participants(clinic_id: int, protocol_id: int, n: int) -> list[tuple[int, int]]:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    people = [
        {
            "clinic_id": clinic_id,
            "code": f"B-{i:06d}",
            "status": "active",
            "language": "en",
            "created_at": stamp,
        }
        for i in range(n)
    ]
    db.session.execute(insert(Participant), people)
    pids = db.session.scalars(
        select(Participant.id).where(Participant.clinic_id == clinic_id)
    ).all()
    enrollments = [
        {
            "clinic_id": clinic_id,
            "participant_id": pid,
            "protocol_id": protocol_id,
            "start_on": START,
            "status": "active",
            "testing_days": {},
            "created_at": stamp,
        }
        for pid in pids
    ]
    db.session.execute(insert(Enrollment), enrollments)
    db.session.commit()
    return list(
        db.session.execute(
            select(Enrollment.participant_id, Enrollment.id).where(
                Enrollment.clinic_id == clinic_id
            )
        )
    )


def _event(clinic_id: int, pid: int, eid: int, on: date, rng: random.Random) -> dict:
    result = "negative" if rng.random() < 0.8 else "positive"
    at = datetime(on.year, on.month, on.day, 17, tzinfo=UTC)
    return {
        "clinic_id": clinic_id,
        "participant_id": pid,
        "enrollment_id": eid,
        "kind": "specimen",
        "collected_on": on,
        "recorded_at": at,
        "verified_at": at,
        "results": dict.fromkeys(TARGETS, result),
        "refused": False,
    }


def _settle_all(enrollment_ids: list[int], day: date) -> None:
    now = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    for part in chunks(enrollment_ids):
        enrollments = db.session.scalars(
            select(Enrollment).where(Enrollment.id.in_(part))
        ).all()
        ledger.settle_many(enrollments, now=now)
        db.session.commit()
        db.session.expunge_all()


def timed_run(job, clinic_id: int, day: date) -> tuple[Timing, int, nightly.Counts]:
    elapsed, queries, outcome = _timed(lambda: job(clinic_id, day, now=_after(day)))
    return elapsed, queries, outcome.counts


def timed_standings(clinic_id: int, day: date) -> tuple[Timing, int, int]:
    """The tick's last step after closing `day`: keep the new day's standings."""
    return _timed(lambda: nightly.keep_standings(_after(day), clinic_id=clinic_id))


def _timed(call):
    queries = 0

    def count(*_args) -> None:
        nonlocal queries
        queries += 1

    db.session.expunge_all()
    event.listen(db.engine, "before_cursor_execute", count)
    started, cpu = time.perf_counter(), time.process_time()
    result = call()
    elapsed = Timing(time.perf_counter() - started, time.process_time() - cpu)
    event.remove(db.engine, "before_cursor_execute", count)
    return elapsed, queries, result


@dataclass(frozen=True)
class Timing:
    """Wall time, and this process's CPU time (less disturbed by other load on a
    shared machine; it leaves out PostgreSQL's own work)."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:7.2f} s (cpu {self.cpu:.2f} s)"


def _after(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
        days=1, hours=1
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="start a throwaway PostgreSQL cluster (as the test suite does) and use it",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    cluster = None
    if args.postgres:
        cluster = start_cluster()
        with psycopg.connect(
            f"host={cluster.socket_dir} port={cluster.port} user=postgres",
            autocommit=True,
        ) as conn:
            conn.execute("CREATE DATABASE bench")
        args.database_url = cluster.url("bench")
    url = args.database_url or (
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='cm-bench-')) / 'bench.sqlite3'}"
    )
    try:
        run(url, args)
    finally:
        if cluster is not None:
            cluster.stop()


def run(url: str, args: argparse.Namespace) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(args.seed)
    with app.app_context():
        upgrade()
        closing, checking, keeping = {}, {}, {}
        for weeks in (1, 24):
            built = time.perf_counter()
            clinic_id, day = build_clinic(args.participants, weeks - 1, rng)
            setup = time.perf_counter() - built
            elapsed, queries, counts = timed_run(nightly.run_nightly, clinic_id, day)
            closing[weeks] = elapsed
            print(
                f"week {weeks:>2} ({day}) nightly: {elapsed}, "
                f"{queries} queries, missed {counts.missed}, settled {counts.settled}, "
                f"awards {counts.awards_posted} [setup {setup:.0f} s]",
                flush=True,
            )
            elapsed, queries, counts = timed_run(
                nightly.run_reconciliation, clinic_id, day
            )
            checking[weeks] = elapsed
            print(
                f"week {weeks:>2} ({day}) reconciliation: {elapsed}, "
                f"{queries} queries, {counts.reconciled} enrollments folded from day "
                f"one, {counts.reconcile_differences} needed a correction, "
                f"{counts.standing_differences} standings differed",
                flush=True,
            )
            elapsed, queries, written = timed_standings(clinic_id, day)
            keeping[weeks] = elapsed
            print(
                f"week {weeks:>2} ({day + timedelta(days=1)}) standings kept: "
                f"{elapsed}, {queries} queries, {written} written",
                flush=True,
            )
        jobs = ("nightly", closing), ("reconciliation", checking)
        for name, runs in (*jobs, ("standings", keeping)):
            print(
                f"{name} ratio week 24 / week 1: "
                f"{runs[24].wall / runs[1].wall:.2f} wall, "
                f"{runs[24].cpu / runs[1].cpu:.2f} cpu"
            )
        print(f"backend: {db.engine.dialect.name}, participants: {args.participants}")


if __name__ == "__main__":
    main()
