"""Soak: mixed staff and participant traffic against gunicorn; errors and worker RSS.

    .venv/bin/python bench/soak.py [--seconds 600] [--participants 2000] [--postgres]

Uses bench/http.py's data set (and its cache) and its production-settings gunicorn.
Staff threads log in and loop: the check-in search page, a participant's check-in
form, an all-negative check-in POST (CSRF token from the form), its result page and
the participant's record; every 50th loop the today board. Participant threads log in
with their PIN and loop over the portal's pages, logging out and in again every 20th
loop. Every request must get its expected status; anything else, or a connection
error, is an error. Worker RSS is sampled every --sample seconds: memory should stay
flat once warm. Exits 1 on any error.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py would shadow the standard library's http package: drop this folder.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import argparse  # noqa: E402
import importlib  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

bench = importlib.import_module("bench.http")
Client = bench.Client

RESULT = re.compile(r"/staff/checkins/(\d+)$")
CSRF = re.compile(r'name="[a-z-]*csrf_token"[^>]*value="([^"]+)"')


def _token(body: str) -> str:
    found = CSRF.search(body)
    if found is None:
        raise ValueError("no CSRF token on the page")
    return found.group(1)


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests = 0
        self.errors: Counter[str] = Counter()
        self.examples: list[str] = []
        self.latencies: list[float] = []

    def record(self, ms: float) -> None:
        with self.lock:
            self.requests += 1
            self.latencies.append(ms)

    def error(self, kind: str, detail: str) -> None:
        with self.lock:
            self.errors[kind] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{kind}: {detail[:300]}")


class Worker(threading.Thread):
    def __init__(self, port, stats, stop, think, rng) -> None:
        super().__init__(daemon=True)
        self.port, self.stats, self.stop, self.think = port, stats, stop, think
        self.rng = rng
        self.client = Client(port, timeout=60)

    def call(self, method: str, path: str, expect: int, **kwargs):
        sent = time.perf_counter()
        try:
            answer = self.client.request(method, path, **kwargs)
        except OSError as error:
            self.stats.error("connection", f"{method} {path}: {error!r}")
            return None
        self.stats.record((time.perf_counter() - sent) * 1000)
        if answer.status != expect:
            self.stats.error(
                f"{method} {path.split('/')[1]} {answer.status}",
                f"{method} {path} -> {answer.status}: {answer.body[:200]}",
            )
            return None
        return answer

    def run(self) -> None:
        loop = 0
        while not self.stop.is_set():
            try:
                self.step(loop)
            except Exception as error:  # a broken page (no CSRF token, ...) counts
                self.stats.error("exception", repr(error))
            loop += 1
            self.stop.wait(self.think)


class Staff(Worker):
    def __init__(self, *args, people: list[int], day: str) -> None:
        super().__init__(*args)
        self.people, self.day = people, day
        self.client.log_in_staff(bench.STAFF, bench.PASSWORD)

    def step(self, loop: int) -> None:
        pid = self.rng.choice(self.people)
        self.call("GET", "/staff/checkin", 200)
        form = self.call("GET", f"/staff/participants/{pid}/checkin", 200)
        if form is None:
            return
        token = _token(form.body)
        done = self.call(
            "POST",
            f"/staff/participants/{pid}/checkin/negative",
            302,
            form={"csrf_token": token, "n-collected_on": self.day},
        )
        found = done and RESULT.search(done.headers.get("Location", ""))
        if done is not None and not found:
            self.stats.error("checkin", f"no result page: {done.headers}")
        if found:
            self.call("GET", f"/staff/checkins/{found.group(1)}", 200)
        self.call("GET", f"/staff/participants/{pid}", 200)
        if loop % 50 == 49:
            self.call("GET", "/staff/today", 200)


class Participant(Worker):
    def __init__(self, *args, slug: str, code: str) -> None:
        super().__init__(*args)
        self.slug, self.code = slug, code
        self.log_in()

    def log_in(self) -> None:
        path = f"/me/{self.slug}/login"
        page = self.call("GET", path, 200)
        if page is None:
            return
        token = _token(page.body)
        self.call(
            "POST",
            path,
            302,
            form={
                "code": self.code,
                "pin": bench.PIN,
                "csrf_token": token,
            },
        )

    def step(self, loop: int) -> None:
        for page in ("/me/", "/me/history", "/me/progress", "/me/rewards"):
            self.call("GET", page, 200)
        if loop % 20 == 19:
            home = self.call("GET", "/me/", 200)
            if home is None:
                return
            token = _token(home.body)
            self.call("POST", "/me/logout", 302, form={"csrf_token": token})
            self.log_in()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--clinic-size", type=int, default=250)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--staff-threads", type=int, default=2)
    parser.add_argument("--participant-threads", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.05, help="seconds per loop")
    parser.add_argument("--sample", type=int, default=30, help="RSS every N seconds")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(bench.tempfile.gettempdir()) / "cm-bench-http-cache",
    )
    args = parser.parse_args()
    today = datetime.now(UTC).date()
    database = bench.Database(args, today)
    server = None
    try:
        bench.migrate_to_head(database.url)
        bench.leave_fold_checkpoints(database.url, today)
        started = time.perf_counter()
        kept = bench.keep_standings(database.url)
        print(f"{kept} standings kept in {time.perf_counter() - started:.0f} s")
        server = bench.Gunicorn(database.url, database.work / "gunicorn.log")
        slug, people = bench._clinic_people(database.url)
        rng = random.Random(args.seed)
        stats, stop = Stats(), threading.Event()
        common = (server.port, stats, stop, args.think)
        threads = [
            Staff(
                *common,
                random.Random(rng.random()),
                people=list(people),
                day=str(today),
            )
            for _ in range(args.staff_threads)
        ]
        codes = list(people.values())
        threads += [
            Participant(*common, random.Random(rng.random()), slug=slug, code=code)
            for code in rng.sample(codes, args.participant_threads)
        ]
        print(
            f"soak: {args.seconds} s, {args.staff_threads} staff and "
            f"{args.participant_threads} participant threads, think {args.think} s, "
            f"backend {database.url.split(':')[0]}, {args.participants} participants"
        )
        print(
            f"{'t (s)':>6} {'requests':>9} {'rps':>6} {'errors':>6}  worker RSS (MiB)"
        )
        for thread in threads:
            thread.start()
        samples = soak(server, stats, args)
        stop.set()
        for thread in threads:
            thread.join(90)
        summary(stats, samples)
    finally:
        if server is not None:
            server.stop()
        database.close()
    if stats.errors:
        sys.exit(1)


def soak(server, stats: Stats, args) -> list[tuple[float, dict[int, int]]]:
    started, samples, last = time.monotonic(), [], 0
    while True:
        elapsed = time.monotonic() - started
        rss = {pid: bench.rss_kib(pid) // 1024 for pid in server.workers()}
        samples.append((elapsed, rss))
        with stats.lock:
            done, errors = stats.requests, sum(stats.errors.values())
        rate = (done - last) / args.sample if samples[1:] else 0
        last = done
        shown = " ".join(f"{pid}:{mib}" for pid, mib in sorted(rss.items()))
        print(f"{elapsed:6.0f} {done:9d} {rate:6.1f} {errors:6d}  {shown}", flush=True)
        if elapsed >= args.seconds:
            return samples
        time.sleep(min(args.sample, max(0.1, args.seconds - elapsed)))


def summary(stats: Stats, samples) -> None:
    latencies = sorted(stats.latencies)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))]

    print(
        f"\nrequests {stats.requests}, errors {sum(stats.errors.values())}, "
        f"p50 {pct(0.5):.0f} ms, p99 {pct(0.99):.0f} ms"
    )
    for line in stats.examples:
        print(f"  {line}")
    first, last = samples[min(1, len(samples) - 1)][1], samples[-1][1]
    for pid in sorted(set(first) | set(last)):
        print(
            f"  worker {pid}: RSS {first.get(pid, '-')} MiB after warm-up, "
            f"{last.get(pid, '-')} MiB at the end"
        )
    if set(first) != set(last):
        print("  (worker pids changed: a worker was restarted)")


if __name__ == "__main__":
    main()
