"""Draining the outbox: claim a message, send it, mark it sent (docs/reminders.md).

Each step is its own transaction. `claim` moves a due row from pending to
"sending" (attempts + 1, claimed_at) and commits before anything leaves, so the
state is visible; the send carries the row's id as its idempotency key (the
e-mail's Message-ID, the text message's key); `mark` records sent. A failure
puts the row back to pending after a backoff, or on the dead-letter list after
the last attempt (or at once, for an address the provider refuses). A process
that dies between send and mark leaves the row in "sending": after
SENDING_TIMEOUT it is claimed again and, unless the provider shows it already
accepted it, sent again with the same key. So delivery is at least once on the
wire and exactly once per key: a receiver that deduplicates by the key (a mail
store by Message-ID, a provider honouring the key) shows one message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import CursorResult

from ... import clock
from ...extensions import db
from ...models import Clinic, OutboxMessage, Participant, ReminderSetting
from ..access import audit
from ..access.actors import Actor
from ..access.scope import get_participant
from ..cm.timeline import clinic_today
from ..errors import Conflict, NotFound
from . import reminders
from .delivery import Backend, DeliveryError, Outgoing, backend_for

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BACKOFF = timedelta(minutes=1)  # 1, 4, 16, 64 minutes between attempts
SENDING_TIMEOUT = timedelta(minutes=10)
BATCH = 100


@dataclass
class Drained:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    cancelled: int = 0
    deferred: int = 0


def _config() -> Mapping[str, Any]:
    """The app's settings (each read converts its value); none outside an app."""
    return current_app.config if current_app else {}


def max_attempts() -> int:
    return int(_config().get("REMINDER_MAX_ATTEMPTS", MAX_ATTEMPTS))


def sending_timeout() -> timedelta:
    minutes = _config().get("REMINDER_SENDING_TIMEOUT_MINUTES")
    return SENDING_TIMEOUT if minutes is None else timedelta(minutes=float(minutes))


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: 1, 4, 16, 64 minutes."""
    factor: int = 4 ** max(attempts - 1, 0)  # int ** int is typed Any (a float if < 0)
    return BACKOFF * factor


def due(now: datetime, limit: int = BATCH) -> list[int]:
    """Pending rows whose time has come, and rows stuck in "sending" (their
    sender died between send and mark), oldest first."""
    stuck = now - sending_timeout()
    return list(
        db.session.scalars(
            select(OutboxMessage.id)
            .where(
                or_(
                    and_(
                        OutboxMessage.status == "pending",
                        OutboxMessage.not_before <= now,
                    ),
                    and_(
                        OutboxMessage.status == "sending",
                        OutboxMessage.claimed_at <= stuck,
                    ),
                )
            )
            .order_by(OutboxMessage.not_before, OutboxMessage.id)
            .limit(limit)
        )
    )


def claim(
    message_id: int, now: datetime, counts: Drained | None = None
) -> Outgoing | None:
    """Claim one due row for this process (commits). None when another process
    has it, or it is no longer to be sent (opted out, expired: cancelled; quiet
    hours began since it was queued: deferred)."""
    counts = counts or Drained()
    stuck = now - sending_timeout()
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if db.session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = db.session.scalars(query).first()
    if row is None or not (
        (row.status == "pending" and row.not_before <= now)
        or (row.status == "sending" and row.claimed_at and row.claimed_at <= stuck)
    ):
        db.session.rollback()
        return None
    participant = db.session.get(Participant, row.participant_id)
    clinic = db.session.get_one(Clinic, row.clinic_id)
    today = clinic_today(clinic, now)
    if row.expires_at is not None and now >= row.expires_at:
        row.status, row.last_error = "cancelled", "expired before it could be sent"
        counts.cancelled += 1
        db.session.commit()
        return None
    if participant is None or not reminders.still_wanted(row, today):
        row.status, row.last_error = "cancelled", "opted out since it was queued"
        counts.cancelled += 1
        db.session.commit()
        return None
    setting = db.session.get(ReminderSetting, row.participant_id)
    later = reminders.send_after(
        now, setting or reminders.default_setting(row.participant_id), clinic
    )
    if later > now and row.status == "pending":
        row.not_before = later
        counts.deferred += 1
        db.session.commit()
        return None
    previous = row.claimed_at if row.status == "sending" else None
    row.status, row.claimed_at, row.attempts = "sending", now, row.attempts + 1
    outgoing = Outgoing(
        id=row.id,
        channel=row.channel,
        address=row.address,
        subject=row.subject,
        body=row.body,
        language=row.language,
        claimed_at=previous,
    )
    db.session.commit()
    return outgoing


def mark_sent(outgoing: Outgoing, reference: str, now: datetime) -> bool:
    """Record the send (commits); False when the row is no longer this claim's."""
    # An UPDATE's result is a CursorResult (it has the rowcount); Session.execute
    # is typed as returning any Result.
    done = cast(
        CursorResult[Any],
        db.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outgoing.id, OutboxMessage.status == "sending")
            .values(
                status="sent",
                sent_at=now,
                provider_ref=reference[:200],
                last_error=None,
            )
        ),
    ).rowcount
    db.session.commit()
    return bool(done)


def mark_failed(outgoing: Outgoing, error: DeliveryError, now: datetime) -> str:
    """Back to pending after a backoff, or dead (commits); returns the status."""
    row = db.session.get(OutboxMessage, outgoing.id)
    if row is None or row.status != "sending":
        db.session.rollback()
        return "gone"
    row.last_error = str(error)[:2000]
    if error.permanent or row.attempts >= max_attempts():
        row.status = "dead"
    else:
        row.status, row.not_before = "pending", now + backoff(row.attempts)
    db.session.commit()
    return row.status


def deliver(outgoing: Outgoing, backend: Backend, now: datetime) -> str:
    """Send a claimed message and record what happened; returns its status."""
    try:
        reference = None
        if outgoing.claimed_at is not None:  # a resend after a crash: ask first
            reference = backend.already_sent(outgoing)
        if reference is None:
            reference = backend.send(outgoing)
    except DeliveryError as error:
        log.warning("outbox %s: %s", outgoing.id, error)
        return mark_failed(outgoing, error, now)
    mark_sent(outgoing, reference, now)
    return "sent"


def drain(
    now: datetime | None = None,
    *,
    backends: dict[str, Backend] | None = None,
    limit: int = BATCH,
) -> Drained:
    """The scheduler's job: send every due message once (see the module's
    docstring for the contract)."""
    counts = Drained()
    config = current_app.config
    chosen = dict(backends or {})
    for message_id in due(now or clock.now(), limit):
        at = now or clock.now()
        outgoing = claim(message_id, at, counts)
        if outgoing is None:
            continue
        backend = chosen.get(outgoing.channel)
        if backend is None:
            try:
                backend = chosen[outgoing.channel] = backend_for(
                    outgoing.channel, config
                )
            except (KeyError, ValueError) as error:  # misconfigured: retried, shown
                status = mark_failed(outgoing, DeliveryError(f"backend: {error!r}"), at)
                counts.dead += status == "dead"
                counts.failed += status != "dead"
                continue
        status = deliver(outgoing, backend, now or clock.now())
        if status == "sent":
            counts.sent += 1
        elif status == "dead":
            counts.dead += 1
        else:
            counts.failed += 1
    return counts


# -- the operations page -------------------------------------------------------------


def dead_letters(actor: Actor, limit: int = 50) -> list[OutboxMessage]:
    """The clinic's messages that could not be sent, newest first."""
    actor.require("admin", "staff", "auditor")
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(
                OutboxMessage.clinic_id == actor.clinic_id,
                OutboxMessage.status == "dead",
            )
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def counts_of(actor: Actor) -> dict[str, int]:
    """How many of the clinic's messages are in each state."""
    actor.require("admin", "staff", "auditor")
    rows = db.session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.clinic_id == actor.clinic_id)
        .group_by(OutboxMessage.status)
    ).all()
    return {status: int(n) for status, n in rows}


def messages_of(
    actor: Actor, participant_id: int, limit: int = 20
) -> list[OutboxMessage]:
    """A participant's latest messages, whatever their state, for staff."""
    actor.require("admin", "staff", "auditor")
    get_participant(actor, participant_id)
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.participant_id == participant_id)
            .order_by(OutboxMessage.id.desc())
            .limit(limit)
        )
    )


def retry(actor: Actor, message_id: int, *, now: datetime) -> OutboxMessage:
    """Put a dead message back in the queue, with its attempts reset (it is
    still sent only if the participant's channel is on)."""
    actor.require("admin", "staff")
    row = db.session.get(OutboxMessage, message_id)
    if row is None or row.clinic_id != actor.clinic_id:
        raise NotFound("No such message.", "message")
    if row.status != "dead":
        raise Conflict(
            "not_dead", "Only a message that could not be sent can be retried."
        )
    row.status, row.attempts, row.not_before = "pending", 0, now
    audit.append(
        actor,
        "outbox_retry",
        "outbox",
        row.id,
        now=now,
        participant_id=row.participant_id,
        detail={"channel": row.channel, "kind": row.kind},
    )
    db.session.commit()
    return row
