"""The reward catalogue and its custody: items, stock received and issued, prizes
handed out for draws, and redemptions that take an item from stock.

Every change of stock is a StockMovement (+ received, - issued) tied to the ledger
entry or draw that released it, so the monthly reconciliation can say what came in,
what went out, to whom, and what is left. The stock and custody writes themselves
are ledger.move_stock and ledger.record_custody, which redemptions there use too.

The redeem screen shows a participant's standing, so opening it writes the audit
"view_redeem" row; the same reads without the row serve the form re-rendered after
bad input, which is not a second view. The draw screen is services/cm/draws.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from ...extensions import db
from ...models import (
    CASH_EQUIVALENT,
    REWARD_KINDS,
    Clinic,
    Draw,
    LedgerEntry,
    Participant,
    Reward,
    StockMovement,
)
from ...rules.money import format_cents
from ..access import audit
from ..access.actors import Actor
from ..errors import Conflict, InvalidInput, NotFound
from ..reads import board
from ..validation import INT_MAX, check_int, check_text, in_range
from . import funding, ledger, pricing
from .timeline import clinic_today

LOW_STOCK = 3  # at or below this many left, the catalogue warns
TIERS = ("small", "large", "jumbo")
NAME_MAX = 120  # Reward.name's width
NOTE_MAX = 200  # a supplier and a receipt number
# One delivery (or an opening stock): a clinic's shelf holds dozens; 10,000 at once
# is a mistyped quantity.
MAX_RECEIVED = 10_000


def catalogue(actor: Actor, *, active_only: bool = False) -> list[Reward]:
    """The actor's clinic's rewards, by tier then name."""
    actor.require("admin", "staff", "auditor")
    query = select(Reward).where(Reward.clinic_id == actor.clinic_id)
    if active_only:
        query = query.where(Reward.active.is_(True))
    return list(db.session.scalars(query.order_by(Reward.tier, Reward.name)))


def add_reward(
    actor: Actor,
    name: str,
    *,
    tier: str | None,
    cost_cents: int | None,
    value_cents: int,
    stock: int,
    now: datetime,
    kind: str = "goods",
) -> Reward:
    """Add a catalogue item: a bowl tier's prize or an item priced in cents, which
    each participant pays in their own protocol's points (services/cm/pricing.py).
    `kind` is goods, gift_card or cash (a non-cash program refuses the last two).

    The opening stock is recorded as a receipt. Raises InvalidInput(field).
    """
    actor.require("admin")
    name = check_text("name", name, max_length=NAME_MAX)
    if not name:
        raise InvalidInput("name", f"Name the reward (up to {NAME_MAX} characters).")
    if tier is not None and tier not in TIERS:
        raise InvalidInput("tier", f"The tier is one of: {', '.join(TIERS)}.")
    if (tier is None) == (cost_cents is None):
        raise InvalidInput("cost_cents", "Give either a bowl tier or a price.")
    if cost_cents is not None:
        _check_price(cost_cents)
    _check_count("value_cents", value_cents, pricing.MAX_PRICE_CENTS, "value")
    _check_count("stock", stock, MAX_RECEIVED, "stock")
    if kind not in REWARD_KINDS:
        raise InvalidInput("kind", "The kind is goods, a gift card or cash.")
    reward = Reward(
        kind=kind,
        clinic_id=actor.clinic_id,
        name=name,
        tier=tier,
        cost_cents=cost_cents,
        value_cents=value_cents,
        stock=stock,
    )
    db.session.add(reward)
    db.session.flush()
    if stock:
        ledger.record_custody(
            reward, stock, at=now, by_id=actor.user_id, note="opening stock"
        )
    audit.append(
        actor,
        "add_reward",
        "reward",
        reward.id,
        now=now,
        detail={"name": name, "tier": tier, "cost_cents": cost_cents, "kind": kind},
    )
    db.session.commit()
    return reward


def _check_price(cost_cents: object) -> None:
    if isinstance(cost_cents, bool) or not isinstance(cost_cents, int):
        raise InvalidInput("cost_cents", "The price is a whole number of cents.")
    if cost_cents <= 0:
        raise InvalidInput("cost_cents", "The price must be above zero.")
    if cost_cents > pricing.MAX_PRICE_CENTS:
        limit = format_cents(pricing.MAX_PRICE_CENTS)
        raise InvalidInput("cost_cents", f"The price can be at most {limit}.")


def _check_count(field: str, value: object, maximum: int, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        raise InvalidInput(field, f"The {what} cannot be negative.")
    check_int(field, value, minimum=0, maximum=maximum)


def receive_stock(
    actor: Actor, reward_id: int, quantity: int, note: str, *, now: datetime
) -> StockMovement:
    """Record stock received (+quantity). Raises NotFound, InvalidInput."""
    actor.require("admin", "staff")
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.clinic_id != actor.clinic_id:
        raise NotFound("No such reward.", "reward")
    check_int(
        "quantity",
        quantity,
        minimum=1,
        maximum=MAX_RECEIVED,
        message=f"Enter how many arrived, 1 to {MAX_RECEIVED}.",
    )
    text = check_text("note", note, max_length=NOTE_MAX, multiline=True) or None
    ledger.move_stock(reward, quantity)
    movement = ledger.record_custody(
        reward, quantity, at=now, by_id=actor.user_id, note=text
    )
    audit.append(
        actor,
        "receive_stock",
        "reward",
        reward.id,
        now=now,
        detail={"quantity": quantity},
    )
    db.session.commit()
    return movement


def redeem(
    actor: Actor, participant_id: int, reward_id: int, nonce: str, *, now: datetime
) -> LedgerEntry:
    """Redeem a catalogue item for its price in the participant's points: debit,
    take one from stock, record custody.

    Double-submit safe: a repeated nonce returns the first redemption. Raises
    InvalidInput("reward"), Conflict("insufficient_balance" | "out_of_stock" |
    "no_points").
    """
    actor.require("admin", "staff")
    # The form's nonce, or a client's key: it becomes part of the ledger's key.
    nonce = check_text("nonce", nonce, max_length=64, required=True)
    reward = _reward(actor, reward_id, field="reward")
    if reward.cost_cents is None:
        raise InvalidInput(
            "reward", "That is a prize-bowl item; choose one with a cost."
        )
    return ledger.redeem_points(
        actor, participant_id, None, now=now, reward_id=reward.id, nonce=nonce
    )


@dataclass(frozen=True)
class RedeemScreen:
    standing: board.Standing
    # What one of the participant's points is worth; None: no protocol pays points.
    unit_cents: int | None
    # Active catalogue items with a price, each with its price for the participant
    # (None when unit_cents is None).
    items: list[tuple[Reward, pricing.Price | None]]
    # The non-cash funding program that keeps gift cards and cash off the list
    # today (docs/funding.md), if one funds the participant.
    non_cash: str | None = None
    # (program, its per-award cap) keeping dearer items off the list today.
    item_cap: tuple[str, int] | None = None


def redeem_screen(actor: Actor, participant_id: int, *, now: datetime) -> RedeemScreen:
    """The participant's standing and what their points can buy, without the audit
    row: for the redeem form re-rendered after bad input. Raises NotFound."""
    standing = board.current_standing(actor, participant_id, now=now)
    unit = pricing.unit_cents_of(standing.participant.id)
    participant = standing.participant
    program = funding.funding_on(participant.id, clinic_today(participant.clinic, now))
    non_cash = program.name if program is not None and program.non_cash_only else None
    cap = program.per_award_cents if program is not None else None
    items = [
        (r, None if unit is None else pricing.Price(r.cost_cents, unit))
        for r in catalogue(actor, active_only=True)
        if r.cost_cents is not None
        and not (non_cash and r.kind in CASH_EQUIVALENT)
        and not (cap is not None and r.cost_cents > cap)
    ]
    item_cap = (program.name, cap) if program is not None and cap is not None else None
    return RedeemScreen(standing, unit, items, non_cash, item_cap)


def view_redeem(actor: Actor, participant_id: int, *, now: datetime) -> RedeemScreen:
    """The redeem screen as staff open it: redeem_screen plus the audit
    "view_redeem" row. Raises NotFound outside the actor's clinic."""
    screen = redeem_screen(actor, participant_id, now=now)
    _audit_view(actor, "view_redeem", screen.standing.participant, now)
    db.session.commit()
    return screen


def draw_owner(actor: Actor, draw_id: int) -> int:
    """The participant id of a draw the actor may see; NotFound otherwise."""
    actor.require("admin", "staff", "auditor")
    draw = db.session.get(Draw, draw_id)
    if draw is None or not actor.may_see_clinic(draw.clinic_id):
        raise NotFound("No such draw.", "draw")
    return draw.participant_id


def hand_out_prize(
    actor: Actor, draw_id: int, reward_id: int, *, now: datetime
) -> StockMovement:
    """Record the prize handed out for a draw: one item of the draw's tier leaves
    stock (StockMovement -1 tied to the draw). Raises NotFound, InvalidInput,
    Conflict("already_handed_out" | "out_of_stock")."""
    actor.require("admin", "staff")
    draw = db.session.get(Draw, draw_id)
    if draw is None or not actor.may_see_clinic(draw.clinic_id):
        raise NotFound("No such draw.", "draw")
    reward = _reward(actor, reward_id, field="reward")
    if reward.tier != draw.tier:
        raise InvalidInput("reward", f"Choose a prize from the {draw.tier} tier.")
    participant = db.session.get_one(Participant, draw.participant_id)
    clinic = db.session.get_one(Clinic, draw.clinic_id)
    # A non-cash funder (SAMHSA) refuses cash and gift cards as prizes too, and a
    # funder's per-award cap a dearer prize.
    funding.refuse_reward(participant, reward, clinic_today(clinic, draw.drawn_at))
    ledger.lock_row(Draw, draw.id)
    if db.session.scalar(
        select(StockMovement.id).where(StockMovement.draw_id == draw.id)
    ):
        raise Conflict("already_handed_out", "A prize was already handed out.")
    ledger.move_stock(reward, -1)
    movement = ledger.record_custody(
        reward,
        -1,
        at=now,
        by_id=actor.user_id,
        participant_id=draw.participant_id,
        draw=draw,
    )
    audit.append(
        actor,
        "hand_out_prize",
        "draw",
        draw.id,
        now=now,
        participant_id=draw.participant_id,
        detail={"reward": reward.id, "tier": draw.tier},
    )
    db.session.commit()
    return movement


@dataclass(frozen=True)
class Reconciliation:
    month: date
    rows: list[tuple[Reward, int, int, int, int]]  # reward, opening, in, out, closing
    movements: list[tuple[StockMovement, Reward, Participant | None]]


def reconcile_month(actor: Actor, month: date) -> Reconciliation:
    """Per reward: stock at the start of `month`, received, issued, left at its end;
    and every movement in the month with who received the item. Months are the
    clinic's: a movement falls on its clinic-local day."""
    actor.require("admin", "staff", "auditor")
    if not isinstance(month, date) or not in_range(month):
        raise InvalidInput("month", "Enter a month from 1970-01 to 2100-12.")
    start = month.replace(day=1)
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    moves = db.session.execute(
        select(StockMovement, Reward, Participant)
        .join(Reward, Reward.id == StockMovement.reward_id)
        .outerjoin(Participant, Participant.id == StockMovement.participant_id)
        .where(StockMovement.clinic_id == actor.clinic_id)
        .order_by(StockMovement.at, StockMovement.id)
    ).all()
    clinic = db.session.get_one(Clinic, actor.clinic_id)
    tally: dict[int, list[int]] = {}
    inside: list[tuple[StockMovement, Reward, Participant | None]] = []
    for move, reward, person in moves:
        counts = tally.setdefault(reward.id, [0, 0, 0])
        day = clinic_today(clinic, move.at)
        if day < start:
            counts[0] += move.quantity
        elif day < end:
            counts[1 if move.quantity > 0 else 2] += abs(move.quantity)
            inside.append((move, reward, person))
    rows = []
    for reward in catalogue(actor):
        opening, received, issued = tally.get(reward.id, (0, 0, 0))
        rows.append((reward, opening, received, issued, opening + received - issued))
    return Reconciliation(start, rows, inside)


def _audit_view(
    actor: Actor, action: str, participant: Participant, now: datetime
) -> None:
    audit.append(
        actor,
        action,
        "participant",
        participant.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
    )


def _reward(actor: Actor, reward_id: int, field: str = "reward") -> Reward:
    # An id past the INTEGER column cannot even be looked up (PostgreSQL refuses it).
    known = isinstance(reward_id, int) and 0 < reward_id <= INT_MAX
    reward = db.session.get(Reward, reward_id) if known else None
    if reward is None or reward.clinic_id != actor.clinic_id:
        raise InvalidInput(field, "Choose a reward from this clinic's catalogue.")
    return reward
