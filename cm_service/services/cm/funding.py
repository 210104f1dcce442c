"""Funding programs: a clinic's funders, their caps, and who they fund when.

A program (SAMHSA grant, an OIG advisory opinion, California's program...) caps
what it pays per award, per calendar month and per calendar year; an enrollment is
funded by one program for a period. The caps reach the fold as data
(rules.ProgramCaps in the enrollment's facts), stack with the protocol's there and
are held on the ledger by the same settle (docs/funding.md). A non-cash program
refuses a cash-equivalent reward (cash or a gift card).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from ... import rules
from ...extensions import db
from ...models import (
    CASH_EQUIVALENT,
    Enrollment,
    EnrollmentFunding,
    FundingProgram,
    LedgerEntry,
    Participant,
    Reward,
)
from ...rules.evaluate import test_group
from ...rules.money import format_cents
from ..access import audit
from ..access.actors import Actor
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import INT_MAX, check_text, in_range
from .timeline import chunks

NAME_MAX = 120  # FundingProgram.name's width
SOURCE_MAX = 1000
MAX_CAP_CENTS = 10_000_000  # $100,000: any larger cap is a typo
PAID_KINDS = ("award", "bonus", "adjustment")
# A program's cap window, ("program", id, "award" | "month" | "year", ...): the key
# of rules.EnrollmentFacts.program_paid_cents.
Window = tuple[Any, ...]


@dataclass(frozen=True)
class Preset:
    key: str
    name: str
    per_award_cents: int | None
    per_month_cents: int | None
    per_year_cents: int | None
    non_cash_only: bool
    source: str


# The funders of issue 17, with where their numbers come from (docs/funding.md).
PRESETS = (
    Preset(
        "samhsa-2025",
        "SAMHSA grant",
        None,
        None,
        75000,
        True,
        "SAMHSA, 'Dear Colleague' letter on contingency management, January 2025:"
        " grant funds may pay up to $750 per participant per year in non-cash"
        " incentives (raised from $75).",
    ),
    Preset(
        "oig-ao-22-04",
        "OIG AO 22-04",
        499,
        20000,
        59900,
        False,
        "HHS OIG Advisory Opinion 22-04 (2022): each incentive under $5 (here at"
        " most $4.99), at most $200 a month and $599 a year per patient.",
    ),
    Preset(
        "ca-recovery-incentives",
        "California Recovery Incentives Program",
        None,
        None,
        59900,
        False,
        "California DHCS Recovery Incentives Program (CalAIM contingency"
        " management benefit): at most $599 per calendar year, under the $600"
        " IRS information-return threshold of the time.",
    ),
    Preset(
        "nominal-value",
        "Nominal-value guidance",
        1500,
        None,
        7500,
        True,
        "HHS OIG Policy Statement Regarding Gifts of Nominal Value to Medicare and"
        " Medicaid Beneficiaries (December 2016): $15 an item and $75 a year in"
        " aggregate per patient; never cash or cash equivalents.",
    ),
)
PRESET_KEYS = tuple(p.key for p in PRESETS)


def programs(actor: Actor) -> list[FundingProgram]:
    """The actor's clinic's funding programs, by name."""
    actor.require("admin", "staff", "auditor")
    return list(
        db.session.scalars(
            select(FundingProgram)
            .where(FundingProgram.clinic_id == actor.clinic_id)
            .order_by(FundingProgram.name)
        )
    )


def add_program(
    actor: Actor,
    name: str,
    *,
    per_award_cents: int | None,
    per_month_cents: int | None,
    per_year_cents: int | None,
    non_cash_only: bool,
    source: str,
    now: datetime,
    preset: str | None = None,
) -> FundingProgram:
    """Add a funding program (admins). Raises InvalidInput(field)."""
    actor.require("admin")
    name = check_text("name", name, max_length=NAME_MAX)
    if not name:
        raise InvalidInput("name", f"Name the program (up to {NAME_MAX} characters).")
    source = check_text("source", source or "", max_length=SOURCE_MAX, multiline=True)
    for field, value in (
        ("per_award_cents", per_award_cents),
        ("per_month_cents", per_month_cents),
        ("per_year_cents", per_year_cents),
    ):
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int)
            or not 0 < value <= MAX_CAP_CENTS
        ):
            raise InvalidInput(
                field, "Enter an amount from $0.01 to $100,000.00, or leave it empty."
            )
    taken = db.session.scalar(
        select(FundingProgram.id).where(
            FundingProgram.clinic_id == actor.clinic_id, FundingProgram.name == name
        )
    )
    if taken:
        raise InvalidInput("name", f"This clinic already has a program named {name}.")
    program = FundingProgram(
        clinic_id=actor.clinic_id,
        name=name,
        per_award_cents=per_award_cents,
        per_month_cents=per_month_cents,
        per_year_cents=per_year_cents,
        non_cash_only=bool(non_cash_only),
        source=source,
        preset=preset,
    )
    db.session.add(program)
    db.session.flush()
    audit.append(
        actor,
        "add_funding_program",
        "funding_program",
        program.id,
        now=now,
        detail={
            "name": name,
            "per_award_cents": per_award_cents,
            "per_month_cents": per_month_cents,
            "per_year_cents": per_year_cents,
            "non_cash_only": bool(non_cash_only),
            "preset": preset,
        },
    )
    db.session.commit()
    return program


def add_preset(actor: Actor, key: str, *, now: datetime) -> FundingProgram:
    """Add one of PRESETS as a program of the actor's clinic."""
    preset = next((p for p in PRESETS if p.key == key), None)
    if preset is None:
        raise InvalidInput("preset", f"Choose one of: {', '.join(PRESET_KEYS)}.")
    return add_program(
        actor,
        preset.name,
        per_award_cents=preset.per_award_cents,
        per_month_cents=preset.per_month_cents,
        per_year_cents=preset.per_year_cents,
        non_cash_only=preset.non_cash_only,
        source=preset.source,
        now=now,
        preset=preset.key,
    )


def periods_of(enrollment_ids: Iterable[int]) -> dict[int, list[EnrollmentFunding]]:
    """enrollment -> its funding periods, by start date."""
    found: dict[int, list[EnrollmentFunding]] = defaultdict(list)
    for part in chunks(sorted(set(enrollment_ids))):
        rows = db.session.scalars(
            select(EnrollmentFunding)
            .where(EnrollmentFunding.enrollment_id.in_(part))
            .order_by(EnrollmentFunding.starts_on, EnrollmentFunding.id)
        )
        for row in rows:
            found[row.enrollment_id].append(row)
    return dict(found)


def paid_rows(
    enrollment_ids: Sequence[int], *, keys: bool = False
) -> list[tuple[int, str | None, date, Fraction]]:
    """(enrollment, award key or None, day, money) of the awards posted to the
    enrollments: points at their cents, draws at their bowl's expected value (what
    a program's caps count; rules.program_unit_value). Per key when `keys`,
    otherwise per day."""
    if not enrollment_ids:
        return []
    specs = dict(
        db.session.execute(
            select(Enrollment.id, Enrollment.protocol_id).where(
                Enrollment.id.in_(enrollment_ids)
            )
        ).all()
    )
    from .timeline import _specs

    protocols = _specs(set(specs.values()))
    # Columns of several types, the award key only when asked for: the rows are
    # read by position, their types are those of `found`.
    group: list[InstrumentedAttribute[Any]] = [
        LedgerEntry.enrollment_id,
        LedgerEntry.on,
        LedgerEntry.account,
    ]
    if keys:
        group.append(LedgerEntry.award_key)
    found: list[tuple[int, str | None, date, Fraction]] = []
    for part in chunks(sorted(enrollment_ids)):
        rows = db.session.execute(
            select(*group, func.sum(LedgerEntry.amount), func.sum(LedgerEntry.cents))
            .where(
                LedgerEntry.enrollment_id.in_(part),
                LedgerEntry.kind.in_(PAID_KINDS),
                LedgerEntry.on.is_not(None),
            )
            .group_by(*group)
        )
        for row in rows:
            enrollment_id, on, account = row[0], row[1], row[2]
            key = row[3] if keys else None
            amount, cents = int(row[-2]), int(row[-1])
            if account == "points":
                found.append((enrollment_id, key, on, Fraction(cents)))
                continue
            unit = rules.program_unit_value(protocols[specs[enrollment_id]], account)
            if unit is not None:
                found.append((enrollment_id, key, on, amount * unit))
    return found


def program_windows(
    program: rules.ProgramCaps, on: date, group: Hashable
) -> dict[str, Window]:
    """rules.ProgramCaps.windows (typed as any hashable there), each checked to be
    the tuple the facts key on."""
    found = {}
    for scope, window in program.windows(on, group).items():
        if not isinstance(window, tuple):
            raise TypeError(f"a program window is a tuple, not {window!r}")
        found[scope] = window
    return found


def caps_of(periods: Sequence[EnrollmentFunding]) -> tuple[rules.ProgramCaps, ...]:
    """The periods as the fold takes them."""
    return tuple(
        rules.ProgramCaps(
            program=p.program_id,
            name=p.program.name,
            starts_on=p.starts_on,
            ends_on=p.ends_on,
            per_award_cents=p.program.per_award_cents,
            per_month_cents=p.program.per_month_cents,
            per_calendar_year_cents=p.program.per_year_cents,
        )
        for p in periods
    )


def program_caps(
    enrollment_ids: Iterable[int],
) -> dict[int, tuple[rules.ProgramCaps, ...]]:
    """enrollment -> its programs' caps (rules.ProgramCaps), for the facts."""
    return {i: caps_of(p) for i, p in periods_of(enrollment_ids).items()}


def paid_elsewhere(
    enrollments: Sequence[Enrollment],
) -> dict[int, dict[Window, int]]:
    """enrollment -> the money each program's month and year windows hold from the
    participant's other enrollments (each award counted in the program funding its
    day there): a program's caps count everything it paid the participant. Only a
    participant with more than one enrollment has any (one query otherwise)."""
    participant_ids = sorted({e.participant_id for e in enrollments})
    theirs: list[tuple[int, int]] = []
    for part in chunks(participant_ids):
        theirs += db.session.execute(
            select(Enrollment.id, Enrollment.participant_id).where(
                Enrollment.participant_id.in_(part)
            )
        ).all()
    count: dict[int, int] = defaultdict(int)
    for _, participant_id in theirs:
        count[participant_id] += 1
    several = [i for i, participant_id in theirs if count[participant_id] > 1]
    periods = program_caps(several)
    held: dict[int, dict[Window, Fraction]] = defaultdict(lambda: defaultdict(Fraction))
    for enrollment_id, _, on, money in paid_rows(sorted(periods)):
        program = rules.program_on(periods[enrollment_id], on)
        if program is None:
            continue
        for scope, window in program_windows(program, on, None).items():
            if scope != "per_award_cents":
                held[enrollment_id][window] += money
    participant_of = dict(theirs)
    by_participant: dict[int, list[int]] = defaultdict(list)
    for enrollment_id in held:
        by_participant[participant_of[enrollment_id]].append(enrollment_id)
    result: dict[int, dict[Window, int]] = {}
    for e in enrollments:
        windows: dict[Window, Fraction] = defaultdict(Fraction)
        for other in by_participant.get(e.participant_id, ()):
            if other != e.id:
                for window, money in held[other].items():
                    windows[window] += money
        # Whole cents up: a draw at its expected value is a fraction of a cent.
        result[e.id] = {w: math.ceil(money) for w, money in windows.items()}
    return result


def assign(
    actor: Actor,
    enrollment_id: int,
    program_id: int,
    starts_on: date,
    ends_on: date | None,
    *,
    now: datetime,
) -> EnrollmentFunding:
    """Fund an enrollment by a program from `starts_on` to `ends_on` (inclusive;
    None = open). Periods of one enrollment do not overlap. A period that covers
    awards already posted must not put them over the program's caps: nothing
    posted is taken back, so such a period is refused (fund from a later date).
    Raises NotFound, InvalidInput(field)."""
    actor.require("admin", "staff")
    enrollment = _enrollment(actor, enrollment_id)
    program = _program(actor, program_id)
    if not isinstance(starts_on, date) or not in_range(starts_on):
        raise InvalidInput("starts_on", "Enter the first day the program funds.")
    if ends_on is not None and (not isinstance(ends_on, date) or not in_range(ends_on)):
        raise InvalidInput("ends_on", "Enter the last day, or leave it empty.")
    if ends_on is not None and ends_on < starts_on:
        raise InvalidInput("ends_on", "The last day cannot be before the first.")
    for other in periods_of([enrollment.id]).get(enrollment.id, []):
        if _overlap(other.starts_on, other.ends_on, starts_on, ends_on):
            raise InvalidInput(
                "starts_on",
                f"{other.program.name} already funds this enrollment from"
                f" {other.starts_on.isoformat()}"
                + (f" to {other.ends_on.isoformat()}" if other.ends_on else "")
                + "; periods cannot overlap.",
            )
    period = EnrollmentFunding(
        enrollment_id=enrollment.id,
        program_id=program.id,
        starts_on=starts_on,
        ends_on=ends_on,
        created_by_id=actor.user_id,
    )
    db.session.add(period)
    db.session.flush()
    _refuse_over_cap(enrollment, program)
    audit.append(
        actor,
        "fund_enrollment",
        "enrollment",
        enrollment.id,
        now=now,
        clinic_id=enrollment.clinic_id,
        participant_id=enrollment.participant_id,
        detail={
            "program": program.id,
            "starts_on": starts_on.isoformat(),
            "ends_on": ends_on and ends_on.isoformat(),
        },
    )
    db.session.commit()
    return period


def _overlap(a0: date, a1: date | None, b0: date, b1: date | None) -> bool:
    return (a1 is None or b0 <= a1) and (b1 is None or a0 <= b1)


def _refuse_over_cap(enrollment: Enrollment, program: FundingProgram) -> None:
    """InvalidInput when, with the new period, what the ledger already holds under
    `program` for the participant is over one of its caps (rolled back)."""
    theirs = list(
        db.session.scalars(
            select(Enrollment).where(
                Enrollment.participant_id == enrollment.participant_id
            )
        )
    )
    periods = program_caps(e.id for e in theirs)
    held: dict[tuple[str, Window], Fraction] = defaultdict(Fraction)
    for enrollment_id, key, on, money in paid_rows([e.id for e in theirs], keys=True):
        found = rules.program_on(periods.get(enrollment_id, ()), on)
        if found is None or found.program != program.id:
            continue
        group = (enrollment_id, test_group(key)) if key else None
        for scope, window in program_windows(found, on, group).items():
            held[(scope, window)] += money
    for (scope, window), cents in sorted(held.items(), key=str):
        cap = {
            "per_award_cents": program.per_award_cents,
            "per_month_cents": program.per_month_cents,
            "per_calendar_year_cents": program.per_year_cents,
        }[scope]
        if cap is not None and cents > cap:
            db.session.rollback()
            raise InvalidInput(
                "starts_on",
                f"{format_cents(math.ceil(cents))} already paid in"
                f" {_window_words(window)}"
                f" would count under {program.name}, over its cap of"
                f" {format_cents(cap)} {_SCOPE_WORDS[scope]}; fund from a later"
                " date.",
            )


_SCOPE_WORDS = {
    "per_award_cents": "per award",
    "per_month_cents": "per calendar month",
    "per_calendar_year_cents": "per calendar year",
}


def _window_words(window: Window) -> str:
    if window[2] == "award":
        return "one award"
    if window[2] == "month":
        return f"{window[3]}-{window[4]:02d}"
    return str(window[3])


def refuse_reward(participant: Participant, reward: Reward, on: date) -> None:
    """Conflict when the program funding the participant on `on` does not allow
    `reward`: "non_cash_program" for cash or a gift card under a non-cash program,
    "program_item_cap" for an item worth more than its per-award cap (the
    nominal-value guidance's $15 an item, OIG AO 22-04's under $5)."""
    program = funding_on(participant.id, on)
    if program is None:
        return
    if program.non_cash_only and reward.kind in CASH_EQUIVALENT:
        kind = "a gift card" if reward.kind == "gift_card" else "cash"
        raise Conflict(
            "non_cash_program",
            f"{reward.name} is {kind}: {program.name} pays for non-cash incentives"
            f" only, and it funds {participant.code} on {on.isoformat()}.",
            "reward",
        )
    value = item_value(reward)
    if program.per_award_cents is not None and value > program.per_award_cents:
        raise Conflict(
            "program_item_cap",
            f"{reward.name} is worth {format_cents(value)}: {program.name} allows at"
            f" most {format_cents(program.per_award_cents)} an incentive, and it"
            f" funds {participant.code} on {on.isoformat()}.",
            "reward",
        )


def item_value(reward: Reward) -> int:
    """What an item is worth to a funder: its price, or a prize's value."""
    return reward.cost_cents if reward.cost_cents is not None else reward.value_cents


def funding_on(participant_id: int, on: date) -> FundingProgram | None:
    """The program funding the participant on `on` (in any of their enrollments),
    a non-cash one first when two enrollments are funded differently."""
    rows = db.session.scalars(
        select(FundingProgram)
        .join(EnrollmentFunding, EnrollmentFunding.program_id == FundingProgram.id)
        .join(Enrollment, Enrollment.id == EnrollmentFunding.enrollment_id)
        .where(
            Enrollment.participant_id == participant_id,
            EnrollmentFunding.starts_on <= on,
            (EnrollmentFunding.ends_on.is_(None)) | (EnrollmentFunding.ends_on >= on),
        )
    ).all()
    return min(rows, key=lambda p: (not p.non_cash_only, p.id), default=None)


def _enrollment(actor: Actor, enrollment_id: int) -> Enrollment:
    known = isinstance(enrollment_id, int) and 0 < enrollment_id <= INT_MAX
    enrollment = db.session.get(Enrollment, enrollment_id) if known else None
    if enrollment is None or not actor.may_see_clinic(enrollment.clinic_id):
        raise NotFound("No such enrollment.", "enrollment")
    return enrollment


def _program(actor: Actor, program_id: int) -> FundingProgram:
    known = isinstance(program_id, int) and 0 < program_id <= INT_MAX
    program = db.session.get(FundingProgram, program_id) if known else None
    if program is None or program.clinic_id != actor.clinic_id:
        raise InvalidInput("program", "Choose one of this clinic's programs.")
    return program


@dataclass(frozen=True)
class FundingPage:
    """A participant's enrollments, each with its funding periods, and the
    clinic's programs to choose from."""

    participant: Participant
    enrollments: list[tuple[Enrollment, list[EnrollmentFunding]]]
    programs: list[FundingProgram]


def funding_page(actor: Actor, participant_id: int) -> FundingPage:
    from ..access.scope import get_participant

    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    enrollments = list(
        db.session.scalars(
            select(Enrollment)
            .where(Enrollment.participant_id == participant.id)
            .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
        )
    )
    periods = periods_of(e.id for e in enrollments)
    return FundingPage(
        participant,
        [(e, periods.get(e.id, [])) for e in enrollments],
        programs(actor),
    )


def end_period(
    actor: Actor, period_id: int, ends_on: date, *, now: datetime
) -> EnrollmentFunding:
    """End a funding period on `ends_on` (so another program can fund from the
    next day). Awards after it are no longer counted under the program; a later
    period is checked against its own program's caps when it is added.
    Raises NotFound, InvalidInput("ends_on")."""
    actor.require("admin", "staff")
    known = isinstance(period_id, int) and 0 < period_id <= INT_MAX
    period = db.session.get(EnrollmentFunding, period_id) if known else None
    enrollment = db.session.get(Enrollment, period.enrollment_id) if period else None
    if (
        period is None
        or enrollment is None
        or not actor.may_see_clinic(enrollment.clinic_id)
    ):
        raise NotFound("No such funding period.", "period")
    if not isinstance(ends_on, date) or not in_range(ends_on):
        raise InvalidInput("ends_on", "Enter the last day the program funds.")
    if ends_on < period.starts_on:
        raise InvalidInput(
            "ends_on",
            "The last day cannot be before the first"
            f" ({period.starts_on.isoformat()}).",
        )
    if period.ends_on is not None and ends_on > period.ends_on:
        raise InvalidInput(
            "ends_on",
            f"It already ends on {period.ends_on.isoformat()}; add a new period to"
            " extend it.",
        )
    was = period.ends_on
    period.ends_on = ends_on
    audit.append(
        actor,
        "end_funding",
        "enrollment",
        enrollment.id,
        now=now,
        clinic_id=enrollment.clinic_id,
        participant_id=enrollment.participant_id,
        detail={
            "period": period.id,
            "program": period.program_id,
            "ends_on": ends_on.isoformat(),
            "was": was and was.isoformat(),
        },
    )
    db.session.commit()
    return period
