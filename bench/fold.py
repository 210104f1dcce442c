"""Scheduled tests folded per second: the engine beside a minimal fold, per preset.

    .venv/bin/python bench/fold.py [--participants 1000] [--cohort 20000]
                                   [--repeat 5] [--no-cli] [--only PRESET]
                                   [--profile PRESET]

For every preset in cm_service/rules/presets it draws --participants timelines (each
scheduled test negative with probability 0.7, else positive; for an attendance-only
protocol each session attended, else missed; seeded) and times, in this one process:

- the engine: `rules.simulate_outcomes` on each timeline (tokens in, the evaluation
  and its totals out), as `simulate_cohort` and a budget officer use it; then again
  reading every per-test row ("rows read": the Award, DayOutcome and per-test
  records the fold leaves as tuples until read; not their English explanations);
- the minimal fold: the same timelines through `minimal_fold` below, about 40 lines
  of plain Python that know escalation, bonus, reset, reset-and-return recovery and
  the test, enrollment and calendar-year caps (whole units paid as they fit), on a
  calendar computed once. It is checked against the engine's total, participant by
  participant, where it applies: voucher presets (points, per-test escalation). It
  does not model prize bowls, per-week escalation or attendance, so for those
  presets the engine figure stands alone.

Each timing is the best of --repeat rounds, each round running the engine, the
engine with rows read and the minimal fold in turn. Then it times
`rules.simulate_cohort` on California for --cohort participants in this process,
and, unless --no-cli, the command a budget officer runs, start-up included:
`flask --app wsgi cm simulate ca-recovery-incentives --cohort N --p-negative 0.7`.
--profile PRESET prints a cProfile of the engine on that preset (top 25 by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library's http package (werkzeug imports
# it): drop this folder from the path, put the project's root first.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from cm_service import rules  # noqa: E402
from cm_service.rules.simulate import (  # noqa: E402
    SESSION_TOKENS,
    calendar,
    default_start,
    simulated_facts,
)

CALIFORNIA = "ca-recovery-incentives"
P_NEGATIVE = 0.7
# (year, unit_cents, start, step, max, bonus_every, bonus_amount, recovery_after)
Step = tuple[int, int, int, int, int | None, int, int, int | None]


def minimal_fold(
    plan: Sequence[Step], tokens: Sequence[str], caps: tuple[int, int, int]
) -> int:
    """Cents paid for one timeline of N/P tokens on a voucher protocol's `plan`
    (one entry per scheduled test): escalation per consecutive negative, a bonus
    every so many, reset on anything else, the level regained after
    `recovery_after` negatives, and the test, enrollment and calendar-year caps."""
    test_cap, enrollment_cap, year_cap = caps
    level = run = since = total = 0
    saved = -1  # the level remembered at a reset, -1 when not recovering
    by_year: dict[int, int] = {}
    for (year, unit, start, step, top, every, bonus, recover), token in zip(
        plan, tokens, strict=False
    ):
        if token != "N":  # noqa: S105 - an outcome token, not a password
            saved = max(level, saved)
            level = run = since = 0
            continue
        value = start + step * level
        amounts = [value if top is None or value < top else top]
        if every and (run + 1) % every == 0:
            amounts.append(bonus)
        run += 1
        level += 1
        if saved >= 0:
            since += 1
            if recover is not None and since >= recover:
                level, saved = max(level, saved), -1
        this_test = 0
        for units in amounts:
            room = min(enrollment_cap - total, year_cap - by_year.get(year, 0))
            room = min(room, test_cap - this_test)
            paid = min(units, max(room, 0) // unit)
            this_test += paid * unit
            total += paid * unit
            by_year[year] = by_year.get(year, 0) + paid * unit
    return total


def voucher_plan(
    spec: rules.ProtocolSpec, start: date
) -> tuple[list[Step], tuple[int, int, int]] | None:
    """The minimal fold's plan for a points protocol escalating per test; None for
    a protocol it does not model (prize draws, per-week escalation, attendance)."""
    facts = simulated_facts(spec, start)
    days, alphabet = calendar(spec, facts)
    if alphabet is SESSION_TOKENS:
        return None
    plan: list[Step] = []
    for on in days:
        found = rules.phase_at(spec, facts, on)
        if found is None:
            return None
        schedule = found[1].specimen
        if (
            schedule is None
            or found[1].attendance
            or schedule.account != "points"
            or schedule.type != "escalating"
            or schedule.per != "test"
            or schedule.reset_on != frozenset({"positive", "missed", "refused"})
        ):
            return None
        bonus = schedule.bonus
        plan.append(
            (
                on.year,
                spec.unit_cents,
                schedule.start,
                schedule.step,
                schedule.max,
                bonus.every if bonus else 0,
                bonus.amount if bonus else 0,
                schedule.recovery_after,
            )
        )
    caps = spec.caps
    if caps.per_week_cents or caps.per_month_cents or caps.crossing != "partial":
        return None
    big = 10**15
    limits = (
        caps.per_test_cents or big,
        caps.per_enrollment_cents or big,
        caps.per_calendar_year_cents or big,
    )
    return plan, limits


def timelines(spec: rules.ProtocolSpec, start: date, n: int) -> list[list[str]]:
    days, alphabet = calendar(spec, simulated_facts(spec, start))
    hit, miss = ("A", "M") if alphabet is SESSION_TOKENS else ("N", "P")
    rng = random.Random(19)
    return [
        [hit if rng.random() < P_NEGATIVE else miss for _ in days] for _ in range(n)
    ]


def best_of(
    repeat: int, runs: Sequence[Callable[[], object] | None]
) -> list[tuple[float, object]]:
    """The best time and the result of each of `runs` (None: not run), over
    `repeat` rounds that run each in turn: on a shared machine a burst of other
    work then slows all of them, not one, and the ratio stays fair."""
    best: list[tuple[float, object]] = [(float("inf"), None) for _ in runs]
    for _ in range(repeat):
        for n, run in enumerate(runs):
            if run is None:
                continue
            began = time.perf_counter()
            result = run()
            took = time.perf_counter() - began
            if took < best[n][0]:
                best[n] = (took, result)
    return best


def bench_preset(key: str, participants: int, repeat: int) -> None:
    spec = rules.validate_spec(rules.load_preset(key))
    start = default_start()
    people = timelines(spec, start, participants)
    texts = [" ".join(tokens) for tokens in people]
    tests = sum(len(tokens) for tokens in people)

    def engine() -> list[int]:
        return [
            rules.simulate_outcomes(spec, text, start).evaluation.total_cents
            for text in texts
        ]

    def engine_read() -> list[int]:
        # Every per-test row read (which makes the evaluation's Award, DayOutcome
        # and SimulatedTest records the fold left as tuples), not their English.
        return [
            sum(test.cents for test in rules.simulate_outcomes(spec, text, start).tests)
            for text in texts
        ]

    voucher = voucher_plan(spec, start)
    minimal = None
    if voucher is not None:
        plan, caps = voucher

        def minimal() -> list[int]:
            return [minimal_fold(plan, tokens, caps) for tokens in people]

    (took, totals), (read_took, read_totals), (mtook, mtotals) = best_of(
        repeat, [engine, engine_read, minimal]
    )
    if read_totals != totals:
        print(f"{key}: the per-test rows do not add up to the totals")
    rate = tests / took
    line = f"{key:<24} {len(people[0]):>4} {rate:>12,.0f} {tests / read_took:>12,.0f}"
    if minimal is None:
        kind = "prize bowl" if rules.bowl_of(spec) else "not modelled"
        print(f"{line} {'-':>12} {'-':>7}   minimal fold n/a ({kind})")
        return
    same = "same totals" if mtotals == totals else "TOTALS DIFFER"
    mrate = tests / mtook
    print(f"{line} {mrate:>12,.0f} {mrate / rate:>6.1f}x   {same}")


def bench_cohort(cohort: int, cli: bool) -> None:
    spec = rules.validate_spec(rules.load_preset(CALIFORNIA))
    began = time.perf_counter()
    result = rules.simulate_cohort(spec, cohort, "0.7", 7)
    took = time.perf_counter() - began
    print(
        f"simulate_cohort {CALIFORNIA} --cohort {cohort:,} --p-negative 0.7:"
        f" {took:.2f} s in process (mean {rules.format_cents(result.mean_cents)})"
    )
    if not cli:
        return
    flask = ROOT / ".venv" / "bin" / "flask"
    command = [str(flask), "--app", "wsgi", "cm", "simulate", CALIFORNIA]
    command += ["--cohort", str(cohort), "--p-negative", "0.7"]
    took, cpu = _timed(command)
    startup, startup_cpu = _timed([str(flask), "--app", "wsgi", "cm", "--help"])
    print(
        f"cm simulate {CALIFORNIA} --cohort {cohort:,} --p-negative 0.7:"
        f" {took:.2f} s wall, {cpu:.2f} s CPU, start-up included"
        f" (`cm --help` alone {startup:.2f} s wall, {startup_cpu:.2f} s CPU)"
    )


def _timed(command: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of a command run to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    took = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return took, cpu


def profile(key: str, participants: int) -> None:
    spec = rules.validate_spec(rules.load_preset(key))
    start = default_start()
    texts = [" ".join(t) for t in timelines(spec, start, participants)]
    profiler = cProfile.Profile()
    profiler.enable()
    for text in texts:
        rules.simulate_outcomes(spec, text, start)
    profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--cohort", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-cli", action="store_true")
    parser.add_argument("--profile", metavar="PRESET")
    parser.add_argument("--only", metavar="PRESET", help="this preset only")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile, args.participants)
        return
    print(
        f"{args.participants:,} participants per preset, p(negative) {P_NEGATIVE},"
        f" best of {args.repeat}; scheduled tests (or sessions) per second"
    )
    print(
        f"{'preset':<24} {'days':>4} {'engine':>12} {'rows read':>12}"
        f" {'minimal':>12} {'ratio':>7}"
    )
    for key in [args.only] if args.only else rules.preset_keys():
        bench_preset(key, args.participants, args.repeat)
    bench_cohort(args.cohort, not args.no_cli)


if __name__ == "__main__":
    main()
