"""Which words fit a participant's protocol: the read-model behind every "where you
stand" line, on the staff pages, the check-in answer and the portal home.

A protocol rewards negative tests, attended sessions or both, in points (money) or
prize draws. The pages must speak of what it rewards: someone paid only for coming to
group reads "2 group sessions in a row" and what the next group earns, never "next
negative"; someone who earns only draws is not headlined "$0.00". These decisions are
made here once. Staff pages use the English words below; the portal translates the
same decisions (templates/portal/_macros.html names the sessions in each language).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time

from ... import rules
from ...models import Enrollment
from ..cm.ledger import Balance
from ..cm.timeline import facts_of, spec_of

# What staff call the sessions of each type (singular, plural); "other" also names a
# schedule that pays several types.
SESSION_NOUNS = {
    "individual": ("individual session", "individual sessions"),
    "group": ("group session", "group sessions"),
    "cbt": ("CBT session", "CBT sessions"),
    "family": ("family session", "family sessions"),
    "twelve_step": ("twelve-step meeting", "twelve-step meetings"),
    "other": ("session", "sessions"),
}


def session_noun(session_type: str, count: int = 1) -> str:
    """A session type named for staff: "group session", "group sessions"."""
    one, many = SESSION_NOUNS.get(session_type, SESSION_NOUNS["other"])
    return one if count == 1 else many


def day_text(on: date) -> str:
    """A near date as staff read it: "Tue 3 Feb"."""
    return f"{on:%a} {on.day} {on:%b}"


def earns_text(points: int, cents: int, draws: int) -> str:
    """An award in words: "3 draws", "10 points ($2.50)", both, or "nothing"."""
    parts = []
    if points:
        noun = "point" if points == 1 else "points"
        parts.append(f"{points} {noun} ({rules.format_cents(cents)})")
    if draws:
        parts.append(f"{draws} draw{'' if draws == 1 else 's'}")
    return " and ".join(parts) or "nothing"


@dataclass(frozen=True)
class SessionLine:
    """One attendance schedule: its run, and what its next session earns.

    `noun` names the schedule's sessions (a session type, or "other" when it pays
    several); `next` is None when no session is booked ahead."""

    noun: str
    next: rules.NextSession | None
    starts_at: time | None = None
    streak: int | None = None  # the schedule's run now (Evaluation.session_runs)

    @property
    def run(self) -> int | None:
        return self.next.run if self.next else self.streak

    @property
    def run_text(self) -> str:
        """The schedule's run in words: "2 group sessions in a row"."""
        return f"{self.run} {session_noun(self.noun, self.run or 0)} in a row"

    @property
    def label(self) -> str:
        """What the line is about: "Next group session"."""
        kind = self.next.session_type if self.next else self.noun
        return f"Next {session_noun(kind)}"

    @property
    def next_text(self) -> str:
        """When and what: "Tue 3 Feb earns 3 draws", or "none booked"."""
        n = self.next
        if n is None:
            return "none booked"
        earns = earns_text(n.points, n.cents, n.draws)
        if n.withheld and not (n.points or n.draws):
            earns += " (withheld to offset a correction)"
        elif n.withheld:
            earns += f", after {n.withheld} withheld to offset a correction"
        elif not (n.points or n.draws) and "capped" in n.explanation:
            earns += " (a cap is reached)"
        return f"{day_text(n.on)} earns {earns}"


@dataclass(frozen=True)
class Outlook:
    """What the participant's pages speak of.

    `money`: show the points balance and its dollars (the protocol pays points, or
    some are held); `draws`: show the draws waiting (it pays draws, or some wait);
    the headline is money unless only draws apply. `tests`: the protocol rewards
    negative tests, so the run of negatives and the next negative are shown.
    `sessions`: one line per attendance schedule in force. `ended`: no award can
    be made any more."""

    money: bool
    draws: bool
    tests: bool
    sessions: tuple[SessionLine, ...] = ()
    ended: bool = False
    test_run: int = 0

    # The templates word dates as the lines here do.
    day = staticmethod(day_text)

    @property
    def headline(self) -> str:
        return "money" if self.money or not self.draws else "draws"

    @property
    def test_run_text(self) -> str:
        """The run of negative tests in words: "2 negatives in a row"."""
        return f"{self.test_run} negative{'' if self.test_run == 1 else 's'} in a row"

    @property
    def runs(self) -> tuple[str, ...]:
        """Every run the protocol rewards, e.g. ("2 negatives in a row", "2 group
        sessions in a row")."""
        runs = [self.test_run_text] if self.tests else []
        runs += [line.run_text for line in self.sessions if line.run is not None]
        return tuple(runs)


def plain(balance: Balance) -> Outlook:
    """For someone with no enrollment: the balance, nothing ahead."""
    return Outlook(money=True, draws=balance.draws > 0, tests=False, ended=True)


def outlook_of(
    enrollment: Enrollment | None,
    evaluation: rules.Standing | rules.Evaluation | None,
    balance: Balance,
    today: date,
    starts: Mapping[tuple[date, str], time] | None = None,
) -> Outlook:
    """The words for `enrollment`'s protocol as `evaluation` (at `today`) stands;
    `starts` gives booked sessions' start times by (day, session type)."""
    if enrollment is None or evaluation is None:
        return plain(balance)
    spec, facts = spec_of(enrollment.protocol), facts_of(enrollment)
    schedules = [s for p in spec.phases for s in (p.specimen, *p.attendance) if s]
    ended = today > rules.last_day(spec, facts)
    lines = () if ended else _session_lines(spec, facts, evaluation, today, starts)
    return Outlook(
        money=any(s.account == "points" for s in schedules) or bool(balance.points),
        draws=any(s.account == "draws" for s in schedules) or balance.draws > 0,
        tests=any(p.specimen is not None for p in spec.phases),
        sessions=lines,
        ended=ended,
        test_run=evaluation.run,
    )


def _session_lines(
    spec: rules.ProtocolSpec,
    facts: rules.EnrollmentFacts,
    evaluation: rules.Standing | rules.Evaluation,
    today: date,
    starts: Mapping[tuple[date, str], time] | None,
) -> tuple[SessionLine, ...]:
    """A line per attendance schedule with a next session, and per schedule of
    the phase in force (the first, before the start) with none booked."""
    lines: dict[int, SessionLine] = {}
    for n in evaluation.next_sessions:
        found = rules.schedule_for(spec, facts, n.on, n.session_type)
        if found is not None:
            at = (starts or {}).get((n.on, n.session_type))
            lines.setdefault(found[1], SessionLine(_noun(found[2]), n, at))
    phase = rules.phase_at(spec, facts, max(today, facts.start_on))
    runs = evaluation.session_runs
    for index, schedule in enumerate(phase[1].attendance if phase else ()):
        run = runs[index] if index < len(runs) else 0
        lines.setdefault(index, SessionLine(_noun(schedule), None, streak=run))
    return tuple(lines[index] for index in sorted(lines))


def _noun(schedule: rules.Schedule) -> str:
    types = schedule.session_types
    return types[0] if len(types) == 1 else "other"
