"""The draw screen: the draws waiting, all of them made in one submit (once per form),
each outcome in words, and what becomes of a prize the clinic has none of.

A draw never depends on stock: the participant won the tier whatever is on the shelf.
An item leaves stock only when staff hand it out (rewards.hand_out_prize, a
StockMovement tied to the draw), so custody records what really left the cupboard.
A prize not yet handed out is owed; when its tier has nothing in stock staff can say
so to the participant and record the IOU (an `owe_prize` audit row), and hand the
prize out from the same screen once stock arrives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from ...extensions import db
from ...models import AuditLog, Draw, LedgerEntry, Participant, Reward, StockMovement
from ...rules.draws import cheer, prize_words, tier_name
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from ..validation import check_date
from . import ledger
from .rewards import catalogue
from .timeline import clinic_today, not_null

# The draw form's nonce (uuid4().hex when the page is shown), as a check-in's.
NONCE = re.compile(r"[0-9a-f]{32}\Z")
MOST_AT_ONCE = 1000  # far above any protocol's draws for one visit


@dataclass(frozen=True)
class Prize:
    """One draw as the screen shows it, with what the clinic can hand out for it."""

    draw: Draw
    reward: Reward | None = None  # the item handed out
    choices: tuple[Reward, ...] = ()  # the tier's items in stock
    none_left: tuple[Reward, ...] = ()  # the tier's items with none left
    owed_since: datetime | None = None  # when an IOU was recorded

    @property
    def words(self) -> str:
        return prize_words(self.draw.tier, self.draw.value_cents)

    @property
    def tier_name(self) -> str:
        return tier_name(self.draw.tier)

    @property
    def cheer(self) -> str | None:
        return cheer(self.draw.tier) if self.won else None

    @property
    def won(self) -> bool:
        return self.draw.value_cents > 0

    @property
    def to_hand_out(self) -> bool:
        return self.won and self.reward is None

    @property
    def item(self) -> str | None:
        """The item in words: handed out, the ones to choose from, or owed."""
        if not self.won:
            return None
        if self.reward is not None:
            return self.reward.name
        if self.choices:
            return " or ".join(r.name for r in self.choices)
        return "owed: none in stock"

    @property
    def line(self) -> str:
        """The draw in words, e.g. "Small prize: $1.00 — Snack voucher"."""
        return f"{self.words} — {self.item}" if self.item else self.words


def tally(prizes: list[Prize]) -> list[tuple[str, int]]:
    """How many draws gave each outcome, biggest prize first: [("Small prize:
    $1.00", 14), ...], for a page that made or lists many draws."""
    counts: dict[str, int] = {}
    value: dict[str, int] = {}
    for prize in prizes:
        counts[prize.words] = counts.get(prize.words, 0) + 1
        value[prize.words] = prize.draw.value_cents
    return sorted(counts.items(), key=lambda item: (-value[item[0]], item[0]))


@dataclass(frozen=True)
class DrawScreen:
    participant: Participant
    waiting: int
    results: list[Prize]  # the draws one form made, in the order drawn
    to_hand_out: list[Prize]  # prizes won and not handed out, oldest first
    history: list[Prize]  # every draw, newest first


def draw_screen(
    actor: Actor, participant_id: int, *, made: str | None = None
) -> DrawScreen:
    """The screen without the audit row (a form re-rendered after a refusal).
    `made`: the nonce of a form just sent, whose draws show as the results."""
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    prizes = _prizes(actor, participant)
    made_ids = {d.id for d in _made_by(participant.id, made)} if made else set()
    return DrawScreen(
        participant=participant,
        waiting=ledger.balance_of(participant.id).draws,
        results=[p for p in prizes if p.draw.id in made_ids],
        to_hand_out=[p for p in prizes if p.to_hand_out],
        history=list(reversed(prizes)),
    )


def view_draws(
    actor: Actor, participant_id: int, *, now: datetime, made: str | None = None
) -> DrawScreen:
    """The screen as staff open it: draw_screen plus the audit "view_draws" row.
    Raises NotFound outside the actor's clinic."""
    screen = draw_screen(actor, participant_id, made=made)
    participant = screen.participant
    audit.append(
        actor,
        "view_draws",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )
    db.session.commit()
    return screen


@dataclass(frozen=True)
class Receipt:
    """One day's draws of a participant, to print and sign at the desk."""

    participant: Participant
    day: date
    prizes: list[Prize]  # the day's draws, in the order drawn
    waiting: int  # draws still to make

    @property
    def handed_out_cents(self) -> int:
        return sum(p.draw.value_cents for p in self.prizes if p.reward)

    @property
    def owed(self) -> list[Prize]:
        return [p for p in self.prizes if p.to_hand_out]


def view_receipt(
    actor: Actor, participant_id: int, day: object, *, now: datetime
) -> Receipt:
    """The draws made on `day` (the clinic's today if None), with the prize handed
    out or owed for each; audited "view_draw_receipt". Raises NotFound outside the
    actor's clinic, InvalidInput("day") for a day that is not a past date."""
    actor.require("admin", "staff", "auditor")
    participant = get_participant(actor, participant_id)
    today = clinic_today(participant.clinic, now)
    day = today if day is None else check_date("day", day, latest=today)
    start = datetime.combine(day, time(), ZoneInfo(participant.clinic.timezone))
    window = (start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC))
    prizes = [
        p
        for p in _prizes(actor, participant)
        if window[0] <= p.draw.drawn_at < window[1]
    ]
    audit.append(
        actor,
        "view_draw_receipt",
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={"day": day.isoformat()},
    )
    db.session.commit()
    return Receipt(participant, day, prizes, ledger.balance_of(participant.id).draws)


def draw_many(
    actor: Actor,
    participant_id: int,
    how_many: int,
    nonce: str,
    *,
    now: datetime,
    secret: bytes,
) -> list[Draw]:
    """Make `how_many` waiting draws in one transaction, each debited, recorded and
    audited as ledger.draw_prize does. The form's `nonce` makes it once: sent again,
    the draws it made the first time come back and nothing more is drawn.

    Raises InvalidInput("nonce" | "count"), Conflict("no_draws" | "draws_changed").
    """
    actor.require("admin", "staff")
    _check(how_many, nonce)
    participant = get_participant(actor, participant_id)
    ledger.lock_row(Participant, participant.id)
    earlier = _made_by(participant.id, nonce)
    if earlier:
        return earlier
    _check_waiting(participant, how_many)
    made = [
        ledger.add_draw(
            actor, participant, now=now, secret=secret, key=_key(participant, nonce, n)
        )
        for n in range(1, how_many + 1)
    ]
    db.session.commit()
    return made


def _check(how_many: object, nonce: object) -> None:
    if not isinstance(nonce, str) or not NONCE.match(nonce):
        raise InvalidInput("nonce", "Reload the page and try again.")
    if isinstance(how_many, bool) or not isinstance(how_many, int):
        raise InvalidInput("count", "Choose how many draws to make.")
    if not 1 <= how_many <= MOST_AT_ONCE:
        raise InvalidInput("count", "Choose how many draws to make.")


def _check_waiting(participant: Participant, how_many: int) -> None:
    waiting = ledger.balance_of(participant.id).draws
    if waiting <= 0:
        raise Conflict("no_draws", "No draws are waiting for this participant.")
    if how_many > waiting:
        verb = "draw is" if waiting == 1 else "draws are"
        raise Conflict("draws_changed", f"Only {waiting} {verb} waiting now.", "count")


def _key(participant: Participant, nonce: str, n: int) -> str:
    return f"draws:{participant.id}:{nonce}:{n}"


def _made_by(participant_id: int, nonce: str | None) -> list[Draw]:
    """The draws a form with this nonce made for the participant, in order."""
    if not nonce or not NONCE.match(nonce):
        return []
    prefix = f"draws:{participant_id}:{nonce}:"
    return list(
        db.session.scalars(
            select(Draw)
            .join(LedgerEntry, LedgerEntry.id == Draw.ledger_entry_id)
            .where(
                Draw.participant_id == participant_id,
                LedgerEntry.idempotency_key.startswith(prefix, autoescape=True),
            )
            .order_by(Draw.id)
        )
    )


def _prizes(actor: Actor, participant: Participant) -> list[Prize]:
    """Every draw of the participant, oldest first, with its item or its choices."""
    draws = db.session.scalars(
        select(Draw).where(Draw.participant_id == participant.id).order_by(Draw.id)
    ).all()
    given = _handed_out([d.id for d in draws])
    owed = _owed_since(participant.id)
    items = [r for r in catalogue(actor, active_only=True) if r.tier]
    prizes = []
    for draw in draws:
        tier = [r for r in items if r.tier == draw.tier]
        prizes.append(
            Prize(
                draw=draw,
                reward=given.get(draw.id),
                choices=tuple(r for r in tier if r.stock > 0),
                none_left=tuple(r for r in tier if r.stock <= 0),
                owed_since=owed.get(draw.id),
            )
        )
    return prizes


def _handed_out(draw_ids: list[int]) -> dict[int, Reward]:
    if not draw_ids:
        return {}
    rows = db.session.execute(
        select(StockMovement.draw_id, Reward)
        .join(Reward, Reward.id == StockMovement.reward_id)
        .where(StockMovement.draw_id.in_(draw_ids))
    )
    return {not_null(draw_id): reward for draw_id, reward in rows}


def _owed_since(participant_id: int) -> dict[int, datetime]:
    rows = db.session.execute(
        select(AuditLog.object_id, AuditLog.at).where(
            AuditLog.participant_id == participant_id,
            AuditLog.action == "owe_prize",
            AuditLog.object_type == "draw",
        )
    )
    # owe_prize always names the draw; a row without one is no draw's.
    return {draw_id: at for draw_id, at in rows if draw_id is not None}


def owe_prize(actor: Actor, draw_id: int, *, now: datetime) -> Draw:
    """Record that the clinic owes a draw's prize (an IOU: none of its tier in
    stock, or the participant takes it later). Recorded once; the prize is handed
    out later as any other. Raises NotFound, Conflict("no_prize" |
    "already_handed_out")."""
    actor.require("admin", "staff")
    draw = db.session.get(Draw, draw_id)
    if draw is None or not actor.may_see_clinic(draw.clinic_id):
        raise NotFound("No such draw.", "draw")
    ledger.lock_row(Draw, draw.id)
    if draw.value_cents <= 0:
        raise Conflict("no_prize", "That draw won no prize: there is no prize to owe.")
    if db.session.scalar(
        select(StockMovement.id).where(StockMovement.draw_id == draw.id)
    ):
        raise Conflict("already_handed_out", "A prize was already handed out.")
    if draw.id not in _owed_since(draw.participant_id):
        audit.append(
            actor,
            "owe_prize",
            "draw",
            draw.id,
            now=now,
            clinic_id=draw.clinic_id,
            participant_id=draw.participant_id,
            detail={"tier": draw.tier, "value_cents": draw.value_cents},
        )
    db.session.commit()
    return draw


@dataclass(frozen=True)
class Waiting:
    """A participant the Today board lists: draws to make, prizes to hand out."""

    participant: Participant
    draws: int
    prizes: int


def waiting(actor: Actor) -> list[Waiting]:
    """The actor's clinic's participants with draws waiting or prizes won and not
    handed out, by code: three queries whatever the clinic's size."""
    actor.require("admin", "staff", "auditor")
    draws = dict(
        db.session.execute(
            select(LedgerEntry.participant_id, func.sum(LedgerEntry.amount))
            .where(
                LedgerEntry.clinic_id == actor.clinic_id,
                LedgerEntry.account == "draws",
            )
            .group_by(LedgerEntry.participant_id)
            .having(func.sum(LedgerEntry.amount) > 0)
        ).all()
    )
    prizes = _prizes_to_hand_out(actor.clinic_id)
    ids = set(draws) | set(prizes)
    if not ids:
        return []
    people = db.session.scalars(
        select(Participant).where(Participant.id.in_(ids)).order_by(Participant.code)
    )
    return [Waiting(p, int(draws.get(p.id, 0)), prizes.get(p.id, 0)) for p in people]


def _prizes_to_hand_out(clinic_id: int | None) -> dict[int, int]:
    """participant -> prizes won and not handed out; none for no clinic (the
    system actor's)."""
    rows = db.session.execute(
        select(Draw.participant_id, func.count(Draw.id))
        .outerjoin(StockMovement, StockMovement.draw_id == Draw.id)
        .where(
            Draw.clinic_id == clinic_id,
            Draw.value_cents > 0,
            StockMovement.id.is_(None),
        )
        .group_by(Draw.participant_id)
    )
    return {pid: int(n) for pid, n in rows}
