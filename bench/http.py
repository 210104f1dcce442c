"""Requests per second and p50/p99 latency of the real pages, under gunicorn, with wrk.

    .venv/bin/python bench/http.py [--participants 100000] [--postgres]
                                   [--seconds 10] [--connections 16]

Builds (or reuses from --cache-dir) a database of N participants in clinics of
--clinic-size, each with the same 11 weeks of Higgins 1994 history (three tests a
week, 80% negative, a redemption most weeks): one template participant is built
through the real services, then cloned set-based with INSERT ... SELECT, about 50
ledger rows per participant (~5 million at 100,000). It then starts gunicorn with the
production settings (`-c gunicorn.conf.py`, CM_ENV=production, a generated
SECRET_KEY) on 127.0.0.1 and measures, in one run, with wrk at 16 connections:

- the ceiling: `GET /healthz`, the app's plain-text liveness route (no database,
  no template, no session), and `GET /static/app.css` beside it;
- the participant home page `/me/` (16 participants logged in, round robin);
- the staff today board `/staff/today` (one clinic of --clinic-size);
- the all-negative check-in POST (CSRF token and login cookie; one clinic's
  participants in turn, today), checked afterwards against the events written.

The built database is cached per backend, size and day; every run works on a copy
(SQLite) or a fresh restore (PostgreSQL, pg_restore), so the cache stays clean.
"""

from __future__ import annotations

import sys

# This file is named http.py: drop its folder from the path, or it would shadow the
# standard library's http package that werkzeug and http.client import.
_HERE = str(__import__("pathlib").Path(__file__).resolve().parent)
sys.path[:] = [
    p for p in sys.path if p and str(__import__("pathlib").Path(p).resolve()) != _HERE
]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from datetime import UTC, date, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import delete, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from cm_service import create_app  # noqa: E402
from cm_service.extensions import db  # noqa: E402
from cm_service.models import (  # noqa: E402
    Clinic,
    Enrollment,
    Event,
    FoldCheckpoint,
    LedgerEntry,
    Participant,
    Protocol,
)
from cm_service.services.access.actors import staff_actor  # noqa: E402
from cm_service.services.admin import clinics  # noqa: E402
from cm_service.services.cm import checkins, ledger, participants  # noqa: E402
from tests.faults.server import Client, free_port  # noqa: E402
from tests.support.pg import start_cluster  # noqa: E402

STAFF, PASSWORD, PIN = "bench-staff", "bench password for wrk runs", "739164"
PROTOCOL = "higgins-1994"
WEEKS = 11  # of history before today; Higgins pays for 12
BUILD_VERSION = 1  # bump when the data set changes, to invalidate caches
LUA = ROOT / "bench" / "lua" / "requests.lua"
# Issue 19's targets: share of the ceiling's rps, and the home page's p99.
TARGETS = {"home": 0.25, "checkin": 0.10, "board": 0.10}
HOME_P99_TARGET_MS = 100


# ----------------------------------------------------------------------- build


def build(url: str, n: int, clinic_size: int, today: date, seed: int) -> dict:
    """Build the data set into an empty database at `url`; return what the run needs."""
    from cm_service.services.access.actors import SYSTEM

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    rng = random.Random(seed)
    with app.app_context():
        upgrade()
        stamp = datetime.now(UTC)
        n_clinics = -(-n // clinic_size)
        clinic_ids, protocol_of = [], {}
        for c in range(n_clinics):
            clinic = clinics.create_clinic(SYSTEM, f"Bench {c + 1}", "UTC", now=stamp)
            clinic_ids.append(clinic.id)
        for cid, pid in db.session.execute(
            select(Protocol.clinic_id, Protocol.id).where(Protocol.key == PROTOCOL)
        ):
            protocol_of[cid] = pid
        user = clinics.create_staff(
            SYSTEM, clinic_ids[0], STAFF, "staff", PASSWORD, now=stamp
        )
        staff = staff_actor(user)
        template = _template(
            staff, clinic_ids[0], protocol_of[clinic_ids[0]], today, rng
        )
        _clone(template, n - 1, clinic_ids, clinic_size, protocol_of, stamp)
        if db.engine.dialect.name == "postgresql":
            db.session.commit()
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        else:
            db.session.execute(text("ANALYZE"))
            db.session.commit()
        counts = {
            "participants": db.session.scalar(select(func.count(Participant.id))),
            "events": db.session.scalar(select(func.count(Event.id))),
            "ledger": db.session.scalar(select(func.count(LedgerEntry.id))),
        }
        db.session.remove()
        db.engine.dispose()
    return counts


def _template(staff, clinic_id: int, protocol_id: int, today: date, rng) -> int:
    """One participant with WEEKS of history through the real services; its
    enrollment id. Tested three days a week, one of them today's weekday."""
    start = today - timedelta(weeks=WEEKS)
    days = sorted(
        {today.weekday(), (today.weekday() + 2) % 7, (today.weekday() + 4) % 7}
    )
    person = participants.register_participant(
        staff, clinic_id, "T-000000", now=_at(start), pin=PIN
    )
    enrollment = participants.enroll(
        staff, person.id, protocol_id, start, now=_at(start), testing_days={0: days}
    )
    on = start
    while on < today:
        if on.weekday() in days:
            result = "negative" if rng.random() < 0.8 else "positive"
            checkins.record_specimen(
                staff, person.id, on, {"cocaine": result}, now=_at(on)
            )
            balance = ledger.balance_of(person.id).points
            if on.weekday() == days[0] and balance >= 20 and rng.random() < 0.9:
                ledger.redeem_points(staff, person.id, 20, now=_at(on))
        on += timedelta(days=1)
    return enrollment.id


def _at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 17, tzinfo=UTC)


def _clone(template_id, count, clinic_ids, clinic_size, protocol_of, stamp) -> None:
    """`count` more participants with the template's history, set-based."""
    tmpl = db.session.get(Enrollment, template_id)
    pin_hash = db.session.get(Participant, tmpl.participant_id).pin_hash
    chunk = 20_000
    for first in range(1, count + 1, chunk):
        numbers = range(first, min(first + chunk, count + 1))
        db.session.execute(
            insert(Participant),
            [
                {
                    "clinic_id": clinic_ids[i // clinic_size],
                    "code": f"B-{i:06d}",
                    "pin_hash": pin_hash,
                    "status": "active",
                    "language": "en",
                    "created_at": stamp,
                }
                for i in numbers
            ],
        )
    db.session.commit()
    people = db.session.execute(
        select(Participant.id, Participant.clinic_id).where(
            Participant.code.like("B-%")
        )
    ).all()
    for part in range(0, len(people), chunk):
        db.session.execute(
            insert(Enrollment),
            [
                {
                    "clinic_id": cid,
                    "participant_id": pid,
                    "protocol_id": protocol_of[cid],
                    "start_on": tmpl.start_on,
                    "status": "active",
                    "testing_days": tmpl.testing_days,
                    "targets": tmpl.targets,
                    "created_at": stamp,
                }
                for pid, cid in people[part : part + chunk]
            ],
        )
    db.session.commit()
    low, high = db.session.execute(
        select(func.min(Enrollment.id), func.max(Enrollment.id)).where(
            Enrollment.id != template_id
        )
    ).one()
    prefix = len(f"enrollment:{template_id}:")
    step = 5_000
    for lo in range(low, high + 1, step):
        bounds = {"t": template_id, "lo": lo, "hi": lo + step - 1, "p": prefix}
        db.session.execute(text(CLONE_EVENTS), bounds)
        db.session.execute(text(CLONE_LEDGER), bounds)
        db.session.commit()


CLONE_EVENTS = """
INSERT INTO event (clinic_id, participant_id, enrollment_id, kind, collected_on,
    recorded_at, recorded_by_id, verified_by_id, verified_at, results, refused,
    brac_milli, session_type, reason)
SELECT en.clinic_id, en.participant_id, en.id, t.kind, t.collected_on,
    t.recorded_at, NULL, NULL, t.verified_at, t.results, t.refused,
    t.brac_milli, t.session_type, t.reason
FROM event t JOIN enrollment en ON en.id BETWEEN :lo AND :hi
WHERE t.enrollment_id = :t AND en.id <> :t
ORDER BY en.id, t.id
"""

# Each template entry once per cloned enrollment; keys keep the settle format
# enrollment:<id>:<award key>:<n>, redemptions get their own unique key.
CLONE_LEDGER = """
INSERT INTO ledger_entry (clinic_id, participant_id, enrollment_id, account, kind,
    amount, cents, award_key, idempotency_key, event_id, "on", rule, memo,
    posted_at, posted_by_id)
SELECT en.clinic_id, en.participant_id,
    CASE WHEN l.enrollment_id IS NULL THEN NULL ELSE en.id END,
    l.account, l.kind, l.amount, l.cents, l.award_key,
    CASE WHEN l.kind = 'redemption'
        THEN 'redemption:' || en.participant_id || ':' || l.id
        ELSE 'enrollment:' || en.id || ':' || substr(l.idempotency_key, :p + 1)
    END,
    ne.id, l."on", l.rule, l.memo, l.posted_at, NULL
FROM ledger_entry l
JOIN enrollment tmpl ON tmpl.id = :t AND l.participant_id = tmpl.participant_id
JOIN enrollment en ON en.id BETWEEN :lo AND :hi AND en.id <> :t
LEFT JOIN event te ON te.id = l.event_id
LEFT JOIN event ne ON ne.enrollment_id = en.id AND ne.collected_on = te.collected_on
    AND ne.kind = te.kind
ORDER BY en.id, l.id
"""


# ------------------------------------------------------------------- databases


class Database:
    """The run's working database: a copy of the cached SQLite file, or a cluster
    restored from the cached dump. Builds the cache first when it is missing."""

    def __init__(self, args: argparse.Namespace, today: date) -> None:
        self.args, self.today = args, today
        self.cluster = None
        self.build_seconds: float | None = None
        self.counts: dict | None = None
        name = f"http-v{BUILD_VERSION}-{args.participants}-{args.clinic_size}-{today}"
        args.cache_dir.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix="cm-bench-http-"))
        if args.postgres:
            self.cached = args.cache_dir / f"{name}.pgdump"
            self.url = self._postgres()
        else:
            self.cached = args.cache_dir / f"{name}.sqlite3"
            self.url = self._sqlite()

    def _sqlite(self) -> str:
        if not self.cached.exists():
            building = self.cached.with_suffix(".building")
            building.unlink(missing_ok=True)
            self._build(f"sqlite:///{building}")
            _checkpoint_sqlite(building)
            building.rename(self.cached)
        target = self.work / "bench.sqlite3"
        shutil.copy(self.cached, target)
        return f"sqlite:///{target}"

    def _postgres(self) -> str:
        self.cluster = start_cluster()
        dsn = f"host={self.cluster.socket_dir} port={self.cluster.port} user=postgres"
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        url = self.cluster.url("bench")
        bindir = self.cluster.bindir
        sock = ["-h", str(self.cluster.socket_dir), "-p", str(self.cluster.port)]
        if not self.cached.exists():
            self._build(url)
            dump = self.cached.with_suffix(".building")
            subprocess.run(
                [str(bindir / "pg_dump"), *sock, "-U", "postgres", "-Fc", "-f"]
                + [str(dump), "bench"],
                check=True,
            )
            dump.rename(self.cached)
        else:
            started = time.perf_counter()
            subprocess.run(
                [str(bindir / "pg_restore"), *sock, "-U", "postgres", "-j", "2"]
                + ["-d", "bench", str(self.cached)],
                check=True,
            )
            with psycopg.connect(f"{dsn} dbname=bench", autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE")
            print(f"restored the cached dump in {time.perf_counter() - started:.0f} s")
        return url

    def _build(self, url: str) -> None:
        started = time.perf_counter()
        print(f"building {self.args.participants} participants ...", flush=True)
        self.counts = build(
            url,
            self.args.participants,
            self.args.clinic_size,
            self.today,
            self.args.seed,
        )
        self.build_seconds = time.perf_counter() - started
        print(f"built in {self.build_seconds:.0f} s: {self.counts}", flush=True)

    def close(self) -> None:
        if self.cluster is not None:
            self.cluster.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def leave_fold_checkpoints(url: str, today: date) -> int:
    """Give every enrollment the fold checkpoint at yesterday that its last settle
    (a check-in, or the nightly job) leaves, as in a clinic at work: the template's
    is settled for real, the clones get its state under their own fingerprint (which
    differs only by their clinic's protocol). Done per run, not in the cache, so a
    change to the engine's code (which stales every checkpoint) needs no rebuild."""
    from dataclasses import replace

    from cm_service.services.cm import checkpoints
    from cm_service.services.cm.timeline import load_timelines

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        template = db.session.scalars(
            select(Enrollment)
            .join(Participant, Participant.id == Enrollment.participant_id)
            .where(Participant.code == "T-000000")
        ).one()
        db.session.execute(delete(FoldCheckpoint))
        noon = datetime(today.year, today.month, today.day, 12, tzinfo=UTC)
        ledger.settle_many([template], now=noon, resume=False)
        db.session.commit()
        row = db.session.get(FoldCheckpoint, template.id)
        timeline = load_timelines([template], with_events=False)[template.id]
        counts = checkpoints.plan({template.id: timeline}, row.through_on)
        counts = counts[template.id].counts_then
        fingerprint = {}
        for clinic_id, protocol_id in db.session.execute(
            select(Enrollment.clinic_id, Enrollment.protocol_id).distinct()
        ):
            like = replace(timeline, enrollment=Enrollment(protocol_id=protocol_id))
            fingerprint[clinic_id] = checkpoints.fingerprint(like, counts)
        others = db.session.execute(
            select(Enrollment.id, Enrollment.clinic_id).where(
                Enrollment.id != template.id
            )
        ).all()
        for part in range(0, len(others), 20_000):
            db.session.execute(
                insert(FoldCheckpoint),
                [
                    {
                        "enrollment_id": eid,
                        "through_on": row.through_on,
                        "fingerprint": fingerprint[cid],
                        "state": row.state,
                    }
                    for eid, cid in others[part : part + 20_000]
                ],
            )
        db.session.commit()
        # The cache was analysed while this table was empty: with those statistics
        # SQLite scans it for every event row of the checkpoint trust check.
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql("ANALYZE fold_checkpoint")
        db.session.remove()
        db.engine.dispose()
    return len(others) + 1


def migrate_to_head(url: str) -> None:
    """Bring the run's copy of a cached database to the code's schema (a cache
    built before a migration lacks its tables); the cache itself stays as built."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def keep_standings(url: str) -> int:
    """Keep today's standing of every enrollment as the nightly job does after
    closing yesterday (services/cm/standings.py), so pages read as in a clinic at
    work. Per run, like the checkpoints: a new engine stales every standing."""
    from cm_service import clock
    from cm_service.services.cm import nightly

    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        written = nightly.keep_standings(clock.now())
        db.session.remove()
        db.engine.dispose()
    return written


def _checkpoint_sqlite(path: Path) -> None:
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# ----------------------------------------------------------------------- serve


class Gunicorn:
    """gunicorn with the production settings, in its own process group."""

    def __init__(self, url: str, log: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "CM_ENV": "production",
            "SECRET_KEY": secrets.token_hex(32),
            "AUDIT_KEY": secrets.token_hex(32),
            "DATABASE_URL": url,
            "PORT": str(self.port),
            "GUNICORN_LOG_LEVEL": "warning",
        }
        if url.startswith("sqlite"):
            env["ALLOW_SQLITE_IN_PRODUCTION"] = "1"  # production refuses it otherwise
        conf = ROOT / "gunicorn.conf.py"
        if conf.exists():
            cmd = ["-c", str(conf)]
        else:  # the equivalent flags, until gunicorn.conf.py exists
            cmd = ["--workers", "3", "--bind", f"127.0.0.1:{self.port}"]
            cmd += ["--no-control-socket"]
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        self.log = log
        with log.open("w") as out:
            self.proc = subprocess.Popen(
                [gunicorn, *cmd, "wsgi:app"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{log.read_text()[-3000:]}")
            try:
                if Client(self.port).get("/staff/login").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit(f"gunicorn not ready in 60 s:\n{log.read_text()[-3000:]}")

    def workers(self) -> list[int]:
        return children_of(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        except ProcessLookupError:
            pass


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ------------------------------------------------------------------------- wrk


def wrk(port: int, lines: list[str], args, label: str, work: Path) -> dict:
    """Run wrk with the request lines (METHOD, path, cookie, body; tab-separated)."""
    spec = work / f"{label}.tsv"
    spec.write_text("\n".join(lines) + "\n")
    cmd = ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds}s"]
    cmd += ["--timeout", "30s", "--latency", "-s", str(LUA)]
    cmd += [f"http://127.0.0.1:{port}", "--", str(spec)]
    out = subprocess.run(
        cmd, capture_output=True, text=True, timeout=args.seconds + 60, check=False
    ).stdout
    (work / f"{label}.wrk.txt").write_text(out)
    return parse_wrk(out)


def parse_wrk(out: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1, "s": 1000, "m": 60_000}[unit]

    found = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for pct in ("50", "99"):
        found[f"p{pct}"] = ms(re.search(rf"\s{pct}%\s+(\S+)", out).group(1))
    found["requests"] = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    found["bad"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    found["socket_errors"] = errors.group(1) if errors else ""
    return found


# ------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> None:
    today = datetime.now(UTC).date()
    database = Database(args, today)
    server = None
    try:
        backend = make_url(database.url).get_backend_name()
        migrate_to_head(database.url)
        started = time.perf_counter()
        kept = leave_fold_checkpoints(database.url, today)
        print(f"{kept} fold checkpoints in {time.perf_counter() - started:.0f} s")
        started = time.perf_counter()
        kept = keep_standings(database.url)
        print(f"{kept} standings kept in {time.perf_counter() - started:.0f} s")
        server = Gunicorn(database.url, database.work / "gunicorn.log")
        port, results = server.port, {}
        print(f"gunicorn workers: {len(server.workers())} on port {port}")
        staff = Client(port)
        staff.log_in_staff(STAFF, PASSWORD)
        slug, people = _clinic_people(database.url)
        cookie = _cookie(staff)
        homes = []
        for code in list(people.values())[: args.connections]:
            homes.append(_cookie(_participant(port, slug, code)))
        token = staff.csrf(f"/staff/participants/{next(iter(people))}/checkin")
        day = today.isoformat()
        scenarios = {
            "ceiling /healthz": ["GET\t/healthz\t\t"],
            "static /static/app.css": ["GET\t/static/app.css\t\t"],
            "participant /me/": [f"GET\t/me/\t{c}\t" for c in homes],
            "staff /staff/today": [f"GET\t/staff/today\t{cookie}\t"],
            "check-in POST": [
                f"POST\t/staff/participants/{pid}/checkin/negative\t{cookie}\t"
                f"csrf_token={token}&n-collected_on={day}"
                for pid in people
            ],
        }
        wrk(port, scenarios["ceiling /healthz"], _warm(args), "warmup", database.work)
        alone = {
            label: _one_at_a_time(port, lines[0]) for label, lines in scenarios.items()
        }
        before = _events_today(database.url, today)
        for label, lines in scenarios.items():
            load = os.getloadavg()[0]
            results[label] = wrk(port, lines, args, label.split()[0], database.work)
            drained = _drain(staff)
            r = results[label]
            r["alone"], r["load"] = alone[label], load
            print(
                f"{label:<26} {r['rps']:8.1f} rps  p50 {r['p50']:7.1f} ms  "
                f"p99 {r['p99']:7.1f} ms  ({r['requests']} requests, "
                f"{r['bad']} not 2xx/3xx; socket errors: {r['socket_errors'] or 0}; "
                f"backlog drained in {drained:.0f} s; one at a time "
                f"{r['alone']:.0f} ms; load average {load:.1f})",
                flush=True,
            )
        rss = [rss_kib(pid) // 1024 for pid in server.workers()]
        server.stop()
        written = _events_today(database.url, today) - before
        _report(results, written, backend, args, database, rss)
    finally:
        if server is not None:
            server.stop()
        database.close()


def _one_at_a_time(port: int, line: str, times: int = 3) -> float:
    """The median latency of `line` sent alone (no queueing), in ms: the service
    time that wrk's figures add queueing to."""
    method, path, cookie, body = line.split("\t")
    client = Client(port)
    headers = {"Cookie": cookie} if cookie else {}
    form = dict(pair.split("=", 1) for pair in body.split("&")) if body else None
    spent = []
    for _ in range(times):
        sent = time.perf_counter()
        client.request(method, path, form=form, headers=headers)
        spent.append((time.perf_counter() - sent) * 1000)
    return sorted(spent)[len(spent) // 2]


def _drain(staff: Client) -> float:
    """Wait until requests wrk left queued are served: a slow page's backlog would
    otherwise be measured as the next scenario's latency (and, on SQLite, hold the
    write lock). Returns the seconds waited."""
    started = time.monotonic()
    while time.monotonic() - started < 300:
        sent = time.monotonic()
        try:
            staff.get("/staff/checkin")
        except OSError:
            continue
        if time.monotonic() - sent < 1:
            break
    return time.monotonic() - started


def _warm(args):
    return argparse.Namespace(**{**vars(args), "seconds": 3})


def _clinic_people(url: str) -> tuple[str, dict[int, str]]:
    """The first clinic's portal link slug, and its participants' ids and codes."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        clinic_id = db.session.scalar(select(func.min(Participant.clinic_id)))
        slug = db.session.get(Clinic, clinic_id).portal_slug
        people = dict(
            db.session.execute(
                select(Participant.id, Participant.code)
                .where(Participant.clinic_id == clinic_id)
                .order_by(Participant.id)
            ).all()
        )
        db.session.remove()
        db.engine.dispose()
    return slug, people


def _events_today(url: str, today: date) -> int:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        found = db.session.scalar(
            select(func.count(Event.id)).where(Event.collected_on == today)
        )
        db.session.remove()
        db.engine.dispose()
    return found


def _participant(port: int, slug: str, code: str) -> Client:
    client = Client(port)
    path = f"/me/{slug}/login"
    token = client.csrf(path)
    done = client.post(path, form={"code": code, "pin": PIN, "csrf_token": token})
    if done.status != 302:
        raise SystemExit(f"participant login failed for {code}: {done.status}")
    return client


def _cookie(client: Client) -> str:
    return "; ".join(f"{k}={v}" for k, v in client.cookies.items())


def _code_version() -> str:
    """The commit measured, and whether application files had uncommitted changes
    (the checkout is shared: figures belong to the code as it was)."""
    git = ["git", "-C", str(ROOT)]
    head = subprocess.run(
        [*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        [*git, "status", "--porcelain", "--", "cm_service", "templates", "config.py"],
        capture_output=True,
        text=True,
    ).stdout.split("\n")
    changed = [line[3:] for line in dirty if line.strip()]
    return f"{head}" + (f" + uncommitted {', '.join(changed)}" if changed else "")


def _report(results, written, backend, args, database, rss) -> None:
    ceiling = results["ceiling /healthz"]["rps"]
    posts = results["check-in POST"]
    print(f"code: {_code_version()}")
    print(
        f"\nbackend {backend}, {args.participants} participants in clinics of "
        f"{args.clinic_size}, {args.connections} connections, {args.seconds} s each"
    )
    if database.build_seconds is not None:
        print(f"build: {database.build_seconds:.0f} s, {database.counts}")
    print(
        f"check-in POSTs answered 2xx/3xx: {posts['requests'] - posts['bad']}, "
        f"events written: {written}"
    )
    print(f"worker RSS after the run: {rss} MiB")
    for label, r in results.items():
        share = r["rps"] / ceiling
        target = PAGES.get(label)
        verdict = ""
        if target:
            verdict = "meets" if share >= TARGETS[target] else "MISSES"
            verdict += f" {TARGETS[target]:.0%} target"
        if target == "home":
            late = r["p99"] >= HOME_P99_TARGET_MS
            verdict += f"; p99 {'over' if late else 'under'} {HOME_P99_TARGET_MS} ms"
        print(f"  {label:<26} {share:6.1%} of the ceiling {verdict}")


PAGES = {
    "participant /me/": "home",
    "check-in POST": "checkin",
    "staff /staff/today": "board",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--clinic-size", type=int, default=250)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "cm-bench-http-cache",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk")
    run(args)


if __name__ == "__main__":
    main()
