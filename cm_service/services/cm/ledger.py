"""The append-only ledger: settle, balances, redemptions and prize draws.

Each kind of write has one function here: `post_entry` makes every ledger row,
`move_stock` changes a reward's stock and `record_custody` writes its custody row.

`settle` is the one way points and draw credits are awarded. It posts only the
difference between what the protocol prescribes (by stable award key) and what the
ledger already holds, so running it again posts nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult

from ... import rules
from ...extensions import db
from ...models import Draw, Enrollment, LedgerEntry, Participant, Reward, StockMovement
from ...rules.draws import draw_msg
from ...rules.messages import N_, Msg, english, msg, to_json
from ...rules.spec import CAP_SCOPES
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..errors import Conflict, InvalidInput, NotFound
from . import checkpoints, standings
from .evaluation import Fold, fold_enrollments, shown
from .timeline import (
    Timeline,
    chunks,
    clinic_today,
    ledger_rows,
    posted_by_keys,
    spec_of,
)

if TYPE_CHECKING:
    from .pricing import Price

ONE_DAY = timedelta(days=1)
# All of one item in stock: far below the INTEGER column, which many deliveries
# (services/cm/rewards.py MAX_RECEIVED) must never reach.
MAX_STOCK = 1_000_000


@dataclass(frozen=True)
class Balance:
    points: int
    cents: int
    draws: int


def lock_row(model: type[Any], row_id: int) -> object:
    """Load a row for update: a row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE
    already made this transaction the only writer."""
    return db.session.scalars(
        select(model).where(model.id == row_id).with_for_update()
    ).one()


def balance_of(participant_id: int) -> Balance:
    rows = db.session.execute(
        select(
            LedgerEntry.account,
            func.sum(LedgerEntry.amount),
            func.sum(LedgerEntry.cents),
        )
        .where(LedgerEntry.participant_id == participant_id)
        .group_by(LedgerEntry.account)
    )
    sums = {account: (int(amount), int(cents)) for account, amount, cents in rows}
    points, cents = sums.get("points", (0, 0))
    return Balance(points=points, cents=cents, draws=sums.get("draws", (0, 0))[0])


@dataclass(frozen=True)
class Settled:
    """What one settle posted, and the awards it withheld to offset an earlier
    overpayment (no ledger row: a withheld award pays nothing). `evaluation` is
    where the enrollment stands after this settle, as pages show it (the standing
    it kept): a check-in's answer, without folding again."""

    entries: list[LedgerEntry]
    withheld: list[rules.Withheld]
    evaluation: rules.Standing | None = None


def settle(
    enrollment: Enrollment, *, now: datetime, actor_id: int | None = None
) -> list[LedgerEntry]:
    """Settle one enrollment inside the caller's transaction (see settle_many)."""
    return settle_many([enrollment], now=now, actor_id=actor_id)


def settle_explained(
    enrollment: Enrollment, *, now: datetime, actor_id: int | None = None
) -> Settled:
    """Settle one enrollment and say what was withheld and where it now stands
    (see settle_many; `Settled.evaluation`)."""
    settled, kept = settle_standing([enrollment], now=now, actor_id=actor_id)
    return replace(settled[enrollment.id], evaluation=kept[enrollment.id])


def settle_standing(
    enrollments: Sequence[Enrollment],
    *,
    now: datetime,
    actor_id: int | None = None,
    resume: bool = True,
) -> tuple[dict[int, Settled], dict[int, rules.Standing]]:
    """Settle (see settle_many), then keep where each enrollment now stands for
    today (services/cm/standings.py) in the same transaction, so pages read it.
    Returns what was settled and the standings kept."""
    settled, folds = _settle(
        enrollments, now=now, actor_id=actor_id, resume=resume, answer=True
    )
    today = {e.id: clinic_today(e.clinic, now) for e in enrollments}
    kept = {i: rules.standing_of(ev, today[i]) for i, ev in shown(folds).items()}
    standings.write(kept, now=now)
    return settled, kept


def settle_many(
    enrollments: Sequence[Enrollment],
    *,
    now: datetime,
    actor_id: int | None = None,
    resume: bool = True,
) -> list[LedgerEntry]:
    """Post what the protocol's correction rule prescribes; return what was posted.

    The fold of the current history is compared with the ledger by award key
    (rules.settle_awards): under `clawback` the signed difference is posted; under
    `no_clawback` nothing is taken back and an overpayment is withheld from the next
    awards; caps are held on what the ledger holds. The fold resumes from each
    enrollment's checkpoint while it can be trusted and the ledger agrees with it up
    to there (`resume=False` folds every day, as reconciliation must), and leaves a
    new one at yesterday. Runs inside the caller's transaction and does not commit.
    """
    settled, _ = _settle(
        enrollments, now=now, actor_id=actor_id, resume=resume, answer=False
    )
    return [entry for s in settled.values() for entry in s.entries]


def _settle(
    enrollments: Sequence[Enrollment],
    *,
    now: datetime,
    actor_id: int | None,
    resume: bool,
    answer: bool,
) -> tuple[dict[int, Settled], dict[int, Fold]]:
    if not enrollments:
        return {}, {}
    ids = sorted(e.id for e in enrollments)
    for part in chunks(ids):
        # Serialise settles of the same enrollment on PostgreSQL; SQLite's
        # BEGIN IMMEDIATE already made this transaction the only writer.
        db.session.execute(
            select(Enrollment.id).where(Enrollment.id.in_(part)).with_for_update()
        ).all()
    today = {e.id: clinic_today(e.clinic, now) for e in enrollments}
    # The fold resumes from yesterday's checkpoint while the ledger agrees with
    # it, and leaves a new one at yesterday; with `answer`, it also says where
    # each enrollment stands (Settled.evaluation).
    folds = fold_enrollments(
        enrollments, today, trust=resume, settling=True, answer=answer
    )
    posted = posted_by_keys(
        ids, checkpoints.resume_dates({i: f.plan for i, f in folds.items()})
    )
    owed = {}
    for enrollment in enrollments:
        timeline = folds[enrollment.id].timeline
        awards = folds[enrollment.id].awards
        held = posted.get(enrollment.id, {})
        settlement = rules.settle_awards(
            timeline.spec,
            awards,
            held,
            used=_ledger_used(timeline, awards, held),
            programs=timeline.facts.programs,
        )
        owed[enrollment.id] = (enrollment, timeline.spec, settlement)
    settled: dict[int, Settled] = {}
    for enrollment_id, (enrollment, spec, settlement) in owed.items():
        entries = [
            _entry(enrollment, spec, posting, now=now, actor_id=actor_id)
            for posting in settlement.postings
        ]
        settled[enrollment_id] = Settled(entries, list(settlement.withheld))
    entries = [entry for s in settled.values() for entry in s.entries]
    db.session.flush()
    if entries:
        # Imported here: reminders reads appointments, which settles through here.
        from ..integrations import reminders

        # "You earned ...", in the outbox in this same transaction (opted in only).
        reminders.queue_awards(entries, now=now)
    return settled, folds


def _ledger_used(
    timeline: Timeline, awards: Sequence[rules.Award], held: Mapping[str, rules.Held]
) -> dict[Hashable, Fraction] | None:
    """Money the ledger holds per cap window, read only when a capped protocol has
    something to pay."""
    spec = timeline.spec
    caps = spec.caps
    capped = any(getattr(caps, scope) is not None for scope in CAP_SCOPES)
    capped = capped or bool(timeline.facts.programs)
    owed = [a for a in awards if a.amount > getattr(held.get(a.key), "amount", 0)]
    if not capped or not owed:
        return None
    # Every window an owed award falls in starts after this: its calendar year,
    # or its ISO week, which can begin in the December before.
    first = min(a.on for a in owed)
    since = min(date(first.year, 1, 1), first - timedelta(days=first.weekday()))
    rows, total = ledger_rows(timeline.enrollment.id, since)
    enrollment_cents = Fraction(
        sum(
            (
                amount * (rules.unit_value(spec, account) or 0)
                for account, amount in total.items()
            ),
            Fraction(0),
        )
    )
    return rules.ledger_windows(
        spec,
        rows,
        enrollment_cents=enrollment_cents,
        year_paid_elsewhere=timeline.facts.year_paid_cents,
        programs=timeline.facts.programs,
        program_paid_elsewhere=cast(
            "Mapping[Hashable, int]", timeline.facts.program_paid_cents
        ),
    )


def post_entry(
    *,
    clinic_id: int,
    participant_id: int,
    enrollment_id: int | None,
    account: str,
    kind: str,
    amount: int,
    cents: int,
    idempotency_key: str,
    on: date | None,
    why: Msg,
    posted_at: datetime,
    posted_by_id: int | None,
    award_key: str | None = None,
    event_id: int | None = None,
    memo: str | None = None,
) -> LedgerEntry:
    """Post one ledger row: the only place one is made (settlements, redemptions,
    draws, manual adjustments). `why` is kept as a message and, in English, as its
    rule. Added to the session in the caller's transaction; the caller flushes when
    it needs the id. The unique `idempotency_key` makes a repeat collide, not pay."""
    entry = LedgerEntry(
        clinic_id=clinic_id,
        participant_id=participant_id,
        enrollment_id=enrollment_id,
        account=account,
        kind=kind,
        amount=amount,
        cents=cents,
        award_key=award_key,
        idempotency_key=idempotency_key,
        event_id=event_id,
        on=on,
        rule=english(why),
        why=to_json(why),
        memo=memo,
        posted_at=posted_at,
        posted_by_id=posted_by_id,
    )
    db.session.add(entry)
    return entry


def _entry(
    enrollment: Enrollment,
    spec: rules.ProtocolSpec,
    posting: rules.Posting,
    *,
    now: datetime,
    actor_id: int | None,
) -> LedgerEntry:
    unit = spec.unit_cents if posting.account == "points" else 0
    return post_entry(
        clinic_id=enrollment.clinic_id,
        participant_id=enrollment.participant_id,
        enrollment_id=enrollment.id,
        account=posting.account,
        kind=posting.kind,
        amount=posting.amount,
        cents=posting.amount * unit,
        award_key=posting.key,
        # The n-th entry for a key: two racing settles collide here instead of
        # both paying.
        idempotency_key=f"enrollment:{enrollment.id}:{posting.key}:{posting.nth}",
        event_id=posting.event_id,
        on=posting.on,
        why=posting.why,
        posted_at=now,
        posted_by_id=actor_id,
    )


def settle_enrollment(
    actor: Actor, enrollment_id: int, *, now: datetime
) -> list[LedgerEntry]:
    """Settle one enrollment as its own use case (CLI, reconciliation) and commit."""
    enrollment = db.session.get(Enrollment, enrollment_id)
    if enrollment is None or not actor.may_see_clinic(enrollment.clinic_id):
        raise NotFound("No such enrollment.", "enrollment")
    entries = settle(enrollment, now=now, actor_id=actor.user_id)
    if entries:
        audit.append(
            actor,
            "settle",
            "enrollment",
            enrollment.id,
            now=now,
            clinic_id=enrollment.clinic_id,
            participant_id=enrollment.participant_id,
            detail={"entries": [e.id for e in entries]},
        )
    db.session.commit()
    return entries


def redeem_points(
    actor: Actor,
    participant_id: int,
    points: int | None,
    *,
    now: datetime,
    reward_id: int | None = None,
    nonce: str | None = None,
    memo: str | None = None,
) -> LedgerEntry:
    """Debit points for a reward. Never below zero, also when requests race.

    A repeated `nonce` (a form's or an API client's idempotency key) returns the first
    redemption instead of debiting twice. Raises Conflict("insufficient_balance").
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    reward = _reward_in_scope(actor, participant.clinic_id, reward_id)
    if reward is not None:
        # A non-cash funder (SAMHSA) refuses cash and gift cards; a funder's
        # per-award cap refuses a dearer item.
        from .funding import refuse_reward

        refuse_reward(participant, reward, clinic_today(participant.clinic, now))
    points, price = _redemption_points(participant, points, reward)
    key = f"redemption:{participant.id}:{nonce or uuid.uuid4().hex}"
    lock_row(Participant, participant.id)
    existing = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.idempotency_key == key)
    ).first()
    if existing is not None:
        return existing
    balance = balance_of(participant.id)
    if points > balance.points:
        raise Conflict(
            "insufficient_balance",
            f"The balance is {balance.points} points; {points} cannot be redeemed.",
            "points",
        )
    if reward is not None:
        move_stock(reward, -1)
    if price and reward:
        why = price.rule_msg(reward.name)
    elif reward:
        why = msg(
            N_("Redeemed %(points)s points for %(reward)s"),
            points=points,
            reward=reward.name,
        )
    else:
        why = msg(N_("Redeemed %(points)s points"), points=points)
    entry = post_entry(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        enrollment_id=None,
        account="points",
        kind="redemption",
        amount=-points,
        cents=-_redeemed_cents(points, balance),
        idempotency_key=key,
        on=clinic_today(participant.clinic, now),
        why=why,
        memo=memo,
        posted_at=now,
        posted_by_id=actor.user_id,
    )
    db.session.flush()
    if reward is not None:
        # Custody in the same transaction as the debit: stock, ledger and the
        # custody log can never disagree, whichever door (form or API) it came by.
        record_custody(
            reward,
            -1,
            at=now,
            by_id=actor.user_id,
            participant_id=participant.id,
            entry=entry,
        )
    audit.append(
        actor,
        "redeem",
        "ledger_entry",
        entry.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={
            "points": points,
            "reward": reward.id if reward else None,
            "cost_cents": price.cents if price else None,
            "unit_cents": price.unit_cents if price else None,
        },
    )
    db.session.commit()
    return entry


def _redemption_points(
    participant: Participant, points: int | None, reward: Reward | None
) -> tuple[int, Price | None]:
    """The points to debit and, for an item priced in money, its price in the
    participant's points (their protocol's unit, rounded up)."""
    from .pricing import price_for

    if reward is not None and reward.cost_cents is not None:
        price = price_for(participant, reward.cost_cents)
        if points is not None and points != price.points:
            raise InvalidInput(
                "points",
                f"{reward.name} costs {price.describe()} for {participant.code}; "
                "leave out points or send that many.",
            )
        return price.points, price
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise InvalidInput("points", "Enter a whole number of points above zero.")
    return points, None


def _redeemed_cents(points: int, balance: Balance) -> int:
    # Points from protocols with different point values can share a balance; debit
    # money in proportion, and exactly all of it when the whole balance is redeemed.
    if points == balance.points:
        return balance.cents
    return points * balance.cents // balance.points


def _reward_in_scope(
    actor: Actor, clinic_id: int, reward_id: int | None
) -> Reward | None:
    if reward_id is None:
        return None
    reward = db.session.get(Reward, reward_id)
    if reward is None or reward.clinic_id != clinic_id or not reward.active:
        raise InvalidInput("reward", "Choose a reward from this clinic's catalogue.")
    return reward


def move_stock(reward: Reward, quantity: int) -> None:
    """The one change of a reward's stock: `quantity` items in (+) or out (-), in
    one guarded UPDATE, so racing requests never take it below zero nor above
    MAX_STOCK. Its custody row is `record_custody`'s, in the same transaction
    (written after the ledger entry or draw it is tied to). Raises
    Conflict("out_of_stock") or InvalidInput("quantity")."""
    if quantity < 0:
        room = Reward.stock >= -quantity
    else:
        room = Reward.stock <= MAX_STOCK - quantity
    # An UPDATE's result is a CursorResult (it has the rowcount); Session.execute
    # is typed as returning any Result.
    moved = cast(
        CursorResult[Any],
        db.session.execute(
            update(Reward)
            .where(Reward.id == reward.id, room)
            .values(stock=Reward.stock + quantity)
        ),
    )
    if moved.rowcount == 1:
        return
    if quantity < 0:
        raise Conflict("out_of_stock", f"{reward.name} is out of stock.", "reward")
    raise InvalidInput("quantity", f"The stock can be at most {MAX_STOCK:,}.")


def record_custody(
    reward: Reward,
    quantity: int,
    *,
    at: datetime,
    by_id: int | None,
    note: str | None = None,
    participant_id: int | None = None,
    entry: LedgerEntry | None = None,
    draw: Draw | None = None,
) -> StockMovement:
    """The custody row of a stock change (+ received, - issued), tied to the
    ledger entry or draw that released the item; the only place one is made."""
    movement = StockMovement(
        clinic_id=reward.clinic_id,
        reward_id=reward.id,
        quantity=quantity,
        participant_id=participant_id,
        ledger_entry_id=entry.id if entry else None,
        draw_id=draw.id if draw else None,
        note=note,
        at=at,
        by_id=by_id,
    )
    db.session.add(movement)
    db.session.flush()
    return movement


def draw_prize(
    actor: Actor, participant_id: int, *, now: datetime, secret: bytes
) -> Draw:
    """Make one earned prize draw: debit a draw credit and record the outcome once.

    The tier is HMAC(secret, reference) mapped onto the bowl's slips, so an auditor
    holding the secret can replay every draw and nobody without it can predict one.
    Raises Conflict("no_draws") when no draw is waiting.
    """
    actor.require("admin", "staff")
    participant = get_participant(actor, participant_id)
    lock_row(Participant, participant.id)
    if balance_of(participant.id).draws <= 0:
        raise Conflict("no_draws", "No draws are waiting for this participant.")
    draw = add_draw(actor, participant, now=now, secret=secret)
    db.session.commit()
    return draw


def add_draw(
    actor: Actor,
    participant: Participant,
    *,
    now: datetime,
    secret: bytes,
    key: str | None = None,
) -> Draw:
    """One draw in the caller's transaction, which holds the participant's row lock
    and has checked that a draw is waiting: the debit, the outcome and its audit row.
    `key` is the debit's idempotency key (by default the draw's reference)."""
    enrollment, bowl = _bowl_for(participant.id)
    number = 1 + (
        db.session.scalar(
            select(func.count())
            .select_from(Draw)
            .where(Draw.participant_id == participant.id)
        )
        or 0
    )
    reference = f"participant:{participant.id}:draw:{number}"
    digest = rules.draw_digest(secret, reference)
    tier = rules.pick_tier(bowl, digest)
    drawn = draw_msg(number, tier.tier, tier.value_cents)
    entry = post_entry(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        enrollment_id=enrollment.id,
        account="draws",
        kind="draw",
        amount=-1,
        cents=0,
        idempotency_key=key or reference,
        on=clinic_today(participant.clinic, now),
        why=drawn,
        posted_at=now,
        posted_by_id=actor.user_id,
    )
    db.session.flush()
    draw = Draw(
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        enrollment_id=enrollment.id,
        ledger_entry_id=entry.id,
        reference=reference,
        digest=digest.hex(),
        bowl=[
            {"tier": t.tier, "slips": t.slips, "value_cents": t.value_cents}
            for t in bowl
        ],
        tier=tier.tier,
        value_cents=tier.value_cents,
        drawn_at=now,
        drawn_by_id=actor.user_id,
    )
    db.session.add(draw)
    db.session.flush()
    audit.append(
        actor,
        "draw",
        "draw",
        draw.id,
        now=now,
        clinic_id=participant.clinic_id,
        participant_id=participant.id,
        detail={"tier": tier.tier, "reference": reference},
    )
    return draw


def _bowl_for(participant_id: int) -> tuple[Enrollment, tuple[rules.Tier, ...]]:
    enrollments = db.session.scalars(
        select(Enrollment)
        .where(Enrollment.participant_id == participant_id)
        .order_by(Enrollment.start_on.desc(), Enrollment.id.desc())
    )
    for enrollment in enrollments:
        bowl = rules.bowl_of(spec_of(enrollment.protocol))
        if bowl:
            return enrollment, bowl
    raise Conflict("no_bowl", "None of this participant's protocols has a prize bowl.")
