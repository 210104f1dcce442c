"""Escalation state: level, run, reset and reset-and-return recovery.

Owns the state machine of docs/protocol-spec.md "Meaning": `level` ℓ (0-based), `run`
(consecutive negatives since the last reset), `saved` (the level remembered at a reset)
and `since_reset`. Each transition is a pure function returning a new Streak (made
directly: `dataclasses.replace` costs three times as much). The fold walks specimen
days with the same arithmetic on plain numbers (evaluate._Folding.walk). Imports
only the standard library.
"""

from __future__ import annotations

from dataclasses import dataclass

from .spec import Schedule

# Without an escalating schedule there is no reset_on; the run shown to the participant
# still breaks the CM way: missed (and refused) = positive (CRA manual, Budney &
# Higgins 1998).
DEFAULT_BREAKS = frozenset({"positive", "missed", "refused"})


@dataclass(frozen=True)
class Streak:
    level: int = 0
    run: int = 0
    saved: int | None = None
    since_reset: int = 0
    longest: int = 0

    @property
    def recovering(self) -> bool:
        return self.saved is not None


@dataclass(frozen=True)
class Step:
    """A negative's effect: the streak after it and whether it restored the level."""

    streak: Streak
    restored_to: int | None = None


def bonus_due(schedule: Schedule, streak: Streak) -> bool:
    """A bonus is paid with the negative that makes the run a multiple of `every`."""
    return schedule.bonus is not None and (streak.run + 1) % schedule.bonus.every == 0


def after_negative(schedule: Schedule | None, streak: Streak) -> Step:
    """The streak after a negative (or an attended session).

    Per-test schedules advance ℓ here; per-week ones at week close. During recovery
    the negative counts towards `recovery_after`; reaching it sets ℓ = max(ℓ, saved)
    (docs/protocol-spec.md: the next negative is paid at the restored level).
    """
    per_test = schedule is not None and schedule.escalates and schedule.per == "test"
    run = streak.run + 1
    level = streak.level + per_test
    longest = max(streak.longest, run)
    saved = streak.saved
    if saved is None:  # not recovering
        return Step(Streak(level, run, None, streak.since_reset, longest))
    since = streak.since_reset + 1
    needed = schedule.recovery_after if schedule is not None else None
    if needed is None or since < needed:
        return Step(Streak(level, run, saved, since, longest))
    restored = max(level, saved)
    raised = restored if restored > level else None  # only a real raise is news
    return Step(Streak(restored, run, None, since, longest), restored_to=raised)


def resets(schedule: Schedule | None, outcome: str | None) -> bool:
    """Whether `outcome` resets the streak under this schedule."""
    if schedule is not None and schedule.escalates:
        return outcome in schedule.reset_on
    return outcome in DEFAULT_BREAKS


def after_reset(streak: Streak) -> Streak:
    """Back to the start; remember the higher of ℓ and any level already remembered
    (a second lapse during recovery keeps the higher level)."""
    saved = max(streak.level, streak.saved or 0)
    return Streak(0, 0, saved, 0, streak.longest)


def after_clean_week(schedule: Schedule | None, streak: Streak) -> Streak:
    """A week closed with every scheduled test negative or excused (and one negative):
    per-week schedules advance ℓ (REAP: "escalates with continuous weeks")."""
    if schedule is None or not schedule.escalates or schedule.per != "week":
        return streak
    return Streak(
        streak.level + 1, streak.run, streak.saved, streak.since_reset, streak.longest
    )
