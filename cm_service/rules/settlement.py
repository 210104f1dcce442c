"""Settlement: what to post so the ledger follows the fold without paying twice.

Owns the `corrections` rule of the protocol spec. Given the awards the fold of the
current history prescribes and what the ledger already holds per award key, it
decides the postings:
- `clawback`: the signed difference per key, so the ledger equals the fold;
- `no_clawback`: nothing posted is taken back; the excess (what the ledger holds
  above the fold on corrected days) is *offset*: withheld from the next awards until
  absorbed, each withheld award explained. Per account, after settling,
  posted = max(fold total, posted before).
Either way the caps are held on what the ledger actually holds: no posting takes a
cap window (test, ISO week, month, enrollment, calendar year) above its cap.
Imports only the standard library.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from fractions import Fraction
from functools import cached_property
from types import MappingProxyType
from typing import Any

from .caps import CapMeter, ProgramCaps, apply_caps, program_on, windows
from .draws import expected_value_cents
from .evaluate import Award, NextNegative, NextSession, test_group
from .messages import DRAWS, N_, Cents, Day, Join, Msg, english, msg
from .spec import ProtocolSpec, bowl_of


@dataclass(frozen=True)
class Held:
    """What the ledger holds for one award key: the sum and how many entries."""

    account: str
    amount: int
    entries: int
    on: date | None


@dataclass(frozen=True)
class Posting:
    """One ledger entry to post; `nth` is the key's entry number (its idempotency)."""

    key: str
    account: str
    kind: str
    amount: int
    on: date | None
    event_id: int | None
    # Why it is posted, as a message (rules/messages.py); `rule` in English.
    why: Msg
    nth: int

    @cached_property
    def rule(self) -> str:
        return english(self.why)


@dataclass(frozen=True)
class Withheld:
    """Part (or all) of an award kept back to offset an earlier overpayment."""

    key: str
    account: str
    on: date
    amount: int
    owed: int
    explanation: str
    why: Msg | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Settlement:
    postings: tuple[Posting, ...]
    withheld: tuple[Withheld, ...]


@dataclass(frozen=True)
class LedgerRow:
    """Money the ledger holds for one award key of this enrollment (for the caps)."""

    key: str
    on: date
    account: str
    amount: int


def unit_value(spec: ProtocolSpec, account: str) -> Fraction | None:
    """Money per unit for the caps: a point is `unit_cents`; a draw counts only at
    its bowl's exact expected value and only when the protocol asks."""
    if account == "points":
        return Fraction(spec.unit_cents)
    bowl = bowl_of(spec)
    if spec.caps.count_draws_at_expected_value and bowl:
        return expected_value_cents(bowl)
    return None


def program_unit_value(spec: ProtocolSpec, account: str) -> Fraction | None:
    """Money per unit for a funding program's caps: a point is `unit_cents`, a
    draw its bowl's exact expected value whatever the protocol's caps count (a
    funder counts what it pays for; docs/funding.md)."""
    if account == "points":
        return Fraction(spec.unit_cents)
    bowl = bowl_of(spec)
    return expected_value_cents(bowl) if bowl else None


def ledger_windows(
    spec: ProtocolSpec,
    rows: Iterable[LedgerRow],
    *,
    enrollment_cents: Fraction,
    year_paid_elsewhere: Mapping[int, int],
    programs: tuple[ProgramCaps, ...] = (),
    program_paid_elsewhere: Mapping[Hashable, int] | None = None,
) -> dict[Hashable, Fraction]:
    """Money the ledger holds per cap window, from this enrollment's award rows (all
    of those in the years the caller asks about), its total, and what the
    participant's other enrollments were paid per calendar year and per window
    of the funding `programs` (each row counts in the program funding its day)."""
    used: dict[Hashable, Fraction] = defaultdict(Fraction)
    for year, cents in year_paid_elsewhere.items():
        used[("year", year)] += cents
    for window, cents in (program_paid_elsewhere or {}).items():
        used[window] += cents
    for row in rows:
        group = test_group(row.key)
        unit = unit_value(spec, row.account)
        if unit is not None:
            for scope, window in windows(row.on, group).items():
                if scope != "per_enrollment_cents":  # from the total, below
                    used[window] += row.amount * unit
        program = program_on(programs, row.on)
        unit = program_unit_value(spec, row.account)
        if program is not None and unit is not None:
            for window in program.windows(row.on, group).values():
                used[window] += row.amount * unit
    used[("enrollment",)] = enrollment_cents
    return dict(used)


def settle_awards(
    spec: ProtocolSpec,
    awards: Sequence[Award],
    held: Mapping[str, Held],
    *,
    used: Mapping[Hashable, Fraction] | None = None,
    programs: tuple[ProgramCaps, ...] = (),
) -> Settlement:
    """The postings that bring the ledger (`held`, by key) to the protocol's
    correction rule for the fold's `awards` (both the same span of dates), with
    `used` the money the ledger holds per cap window (ledger_windows) and
    `programs` the funding programs whose caps stack with the protocol's."""
    if spec.corrections == "clawback":
        return Settlement(tuple(_clawback(awards, held)), ())
    meter = _LedgerMeter(spec, dict(used or {}), programs)
    postings: list[Posting] = []
    withheld: list[Withheld] = []
    for account in sorted({a.account for a in awards} | _accounts(held)):
        mine = [a for a in awards if a.account == account]
        kept = {k: h for k, h in held.items() if h.account == account}
        paid, held_back = _offset(spec, account, mine, kept, meter)
        postings += paid
        withheld += held_back
    return Settlement(tuple(postings), tuple(withheld))


def _accounts(held: Mapping[str, Held]) -> set[str]:
    return {h.account for h in held.values()}


def _clawback(awards: Sequence[Award], held: Mapping[str, Held]) -> list[Posting]:
    desired = {a.key: a for a in awards}
    postings = []
    for key in sorted(desired.keys() | held.keys()):
        award, have = desired.get(key), held.get(key)
        amount = (award.amount if award else 0) - (have.amount if have else 0)
        if amount == 0:
            continue
        entries = have.entries if have else 0
        account = award.account if award else have.account  # type: ignore[union-attr]
        rule = award.why if award else NO_LONGER_EARNED
        if entries:
            rule = _correction(have.amount, amount + have.amount, rule)  # type: ignore[union-attr]
        postings.append(
            Posting(
                key=key,
                account=account,
                kind=award.kind if award and not entries else "adjustment",
                amount=amount,
                on=award.on if award else have.on,  # type: ignore[union-attr]
                event_id=award.event_id if award else None,
                why=rule,
                nth=entries,
            )
        )
    return postings


NO_LONGER_EARNED = Msg(N_("no longer earned"))


def _correction(was: int, now: int, rule: Msg) -> Msg:
    return msg(
        N_("Correction: was %(was)s, now %(now)s (%(rule)s)"),
        was=was,
        now=now,
        rule=rule,
    )


@dataclass
class _Owed:
    award: Award
    have: int
    entries: int
    withheld: int = 0
    paid: int = 0

    @property
    def owed(self) -> int:
        return self.award.amount - self.have


def _offset(
    spec: ProtocolSpec,
    account: str,
    awards: Sequence[Award],
    held: Mapping[str, Held],
    meter: _LedgerMeter,
) -> tuple[list[Posting], list[Withheld]]:
    desired = {a.key: a.amount for a in awards}
    excess = sorted(
        ((h.on or date.min, key, h.amount - desired.get(key, 0)))
        for key, h in held.items()
        if h.amount > desired.get(key, 0)
    )
    owed = [
        _Owed(a, held[a.key].amount if a.key in held else 0, _entries(held, a.key))
        for a in awards
        if a.amount > (held[a.key].amount if a.key in held else 0)
    ]
    # The excess is withheld from the earliest awards owed (the next ones after
    # the correction); what is left is paid, as far as the ledger's caps allow.
    left = sum(e[2] for e in excess)
    for item in owed:
        item.withheld = min(item.owed, left)
        left -= item.withheld
    cut = 0
    for item in owed:
        payable = item.owed - item.withheld
        item.paid = meter.take(item.award, payable)
        cut += payable - item.paid
    # An award the ledger's caps cut sits in a window the excess already fills,
    # so the cut absorbs that much of the offset: release as much withheld.
    for item in reversed(owed):
        if cut <= 0:
            break
        released = meter.take(item.award, min(item.withheld, cut))
        item.withheld -= released
        item.paid += released
        cut -= released
    note = _offset_note(spec, account, excess)
    return _postings(spec, account, owed, note), _withheld(spec, account, owed, note)


def _entries(held: Mapping[str, Held], key: str) -> int:
    return held[key].entries if key in held else 0


def _postings(
    spec: ProtocolSpec, account: str, owed: Sequence[_Owed], note: Msg
) -> list[Posting]:
    postings = []
    for item in owed:
        if item.paid <= 0:
            continue
        award = item.award
        rule = award.why
        if item.withheld:
            rule = msg(
                N_("%(rule)s; %(note)s"),
                rule=rule,
                note=_withheld_text(spec, account, item, note),
            )
        if item.entries:
            rule = _correction(item.have, item.have + item.paid, rule)
        postings.append(
            Posting(
                key=award.key,
                account=account,
                kind=award.kind if not item.entries else "adjustment",
                amount=item.paid,
                on=award.on,
                event_id=award.event_id,
                why=rule,
                nth=item.entries,
            )
        )
    return postings


def _withheld(
    spec: ProtocolSpec, account: str, owed: Sequence[_Owed], note: Msg
) -> list[Withheld]:
    found = []
    for item in owed:
        if item.withheld > 0:
            why = _withheld_text(spec, account, item, note)
            found.append(
                Withheld(
                    key=item.award.key,
                    account=account,
                    on=item.award.on,
                    amount=item.withheld,
                    owed=item.owed,
                    explanation=english(why),
                    why=why,
                )
            )
    return found


def _withheld_text(spec: ProtocolSpec, account: str, item: _Owed, note: Msg) -> Msg:
    return msg(
        N_("withheld %(kept)s of %(owed)s: %(note)s"),
        kept=units_msg(spec, account, item.withheld),
        owed=units_msg(spec, account, item.owed),
        note=note,
    )


def _offset_note(
    spec: ProtocolSpec, account: str, excess: Sequence[tuple[date, str, int]]
) -> Msg:
    total = sum(amount for _, _, amount in excess)
    days = sorted({on for on, _, _ in excess if on != date.min})
    when: object = Join("comma", tuple(Day(on) for on in days[:3]))
    if len(days) > 3:
        when = msg(N_("%(days)s and other days"), days=when)
    elif not days:
        when = Msg(N_("earlier days"))
    return msg(
        N_(
            "offsets %(amount)s paid for %(when)s before a correction to that result"
            " (earned points are never taken back)"
        ),
        amount=units_msg(spec, account, total),
        when=when,
    )


def units_msg(spec: ProtocolSpec, account: str, amount: int) -> Msg | Cents:
    """Money for points ($6.25), a count for draws (3 draws), as a message."""
    if account == "draws":
        return Msg(DRAWS[0], (("num", amount),), DRAWS[1])
    return Cents(amount * spec.unit_cents)


def units_text(spec: ProtocolSpec, account: str, amount: int) -> str:
    """Money for points ("$6.25"), a count for draws ("3 draws")."""
    return english(units_msg(spec, account, amount))


class _LedgerMeter:
    """The money each cap window of the ledger holds, as this settle posts: the
    fold's own cap arithmetic (caps.apply_caps) run on what the ledger holds,
    paying the whole units that still fit."""

    def __init__(
        self,
        spec: ProtocolSpec,
        used: dict[Hashable, Fraction],
        programs: tuple[ProgramCaps, ...] = (),
    ):
        self.spec = spec
        self.caps = replace(spec.caps, crossing="partial")
        # `used` already holds what other enrollments were paid.
        self.meter = CapMeter(MappingProxyType(dict(used)), programs=programs)

    def take(self, award: Award, units: int) -> int:
        """Units of `award` the ledger's caps still let through (at most `units`),
        counted as posted."""
        if units <= 0:
            return 0
        cut, self.meter = apply_caps(
            self.caps,
            self.meter,
            on=award.on,
            group=test_group(award.key),
            amount=units,
            unit_cents=unit_value(self.spec, award.account),
            account=award.account,
            program_unit=program_unit_value(self.spec, award.account),
        )
        return cut.amount


def after_offset(
    spec: ProtocolSpec, nxt: NextNegative, offset: Mapping[str, int]
) -> NextNegative:
    """What the next negative really pays while an offset is still being absorbed
    (`offset`: per account, what the ledger holds above the fold's total)."""
    # An account the ledger holds less of than the fold withholds nothing.
    points = max(min(offset.get("points", 0), nxt.points + nxt.bonus_points), 0)
    draws = max(min(offset.get("draws", 0), nxt.draws + nxt.bonus_draws), 0)
    if not points and not draws:
        return nxt
    return replace(
        nxt,
        points=max(nxt.points - points, 0),
        bonus_points=nxt.bonus_points - max(points - nxt.points, 0),
        draws=max(nxt.draws - draws, 0),
        bonus_draws=nxt.bonus_draws - max(draws - nxt.draws, 0),
        cents=(nxt.points + nxt.bonus_points - points) * spec.unit_cents
        if points
        else nxt.cents,
        withheld=points + draws,
        **_withheld_note(spec, nxt, points, draws, offset),
    )


def session_after_offset(
    spec: ProtocolSpec, nxt: NextSession, offset: Mapping[str, int]
) -> NextSession:
    """What the next session really pays while an offset is being absorbed (the
    same offset the next negative shows: whichever award comes first absorbs it)."""
    points = max(min(offset.get("points", 0), nxt.points), 0)
    draws = max(min(offset.get("draws", 0), nxt.draws), 0)
    if not points and not draws:
        return nxt
    return replace(
        nxt,
        points=nxt.points - points,
        draws=nxt.draws - draws,
        cents=(nxt.points - points) * spec.unit_cents if points else nxt.cents,
        withheld=points + draws,
        **_withheld_note(spec, nxt, points, draws, offset),
    )


def _withheld_note(
    spec: ProtocolSpec,
    nxt: NextNegative | NextSession,
    points: int,
    draws: int,
    offset: Mapping[str, int],
) -> dict[str, Any]:
    """The explanation (and its message) of a next award partly withheld."""
    kept = [units_msg(spec, "points", points)] if points > 0 else []
    kept += [units_msg(spec, "draws", draws)] if draws > 0 else []
    owed = {a: n for a, n in offset.items() if n > 0}
    note = Join("and", tuple(units_msg(spec, a, n) for a, n in sorted(owed.items())))
    why = msg(
        N_(
            "%(text)s Withheld %(kept)s of it: %(owed)s already paid before a"
            " correction is absorbed first (earned points are never taken back)."
        ),
        text=nxt.why if nxt.why is not None else nxt.explanation,
        kept=Join("and", tuple(kept)),
        owed=note,
    )
    return {"explanation": english(why), "why": why}
