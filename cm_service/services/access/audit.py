"""The keyed, hash-chained audit log: append within a use case; verify the chain.

Each row's digest is HMAC-SHA256(AUDIT_KEY, previous digest + the row), so someone who
can write to the database but does not hold the key (it is configuration, never in
the database) cannot edit a row and recompute the chain. Deleting the newest rows
leaves a valid shorter chain, so the operator keeps an anchor outside the database
(`cm audit anchor`: the head's sequence number and digest) and checks against it
(`cm audit verify --anchor SEQ:DIGEST`). Rows written before the key came in are
plain SHA-256 and must all precede the keyed ones; a chain must end keyed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, text

from ...extensions import db
from ...models import AuditLog
from ...transactions import begin_writing
from .actors import Actor

GENESIS = "0" * 64
# Any constant works; it names the one lock that serialises audit appends on PostgreSQL.
_AUDIT_LOCK = 73_411_001


def _digest(prev_hash: str, row: AuditLog, key: bytes | None) -> str:
    body = {
        "at": row.at.isoformat(),
        "clinic": row.clinic_id,
        "actor": [row.actor_type, row.actor_id, row.actor_role],
        "action": row.action,
        "object": [row.object_type, row.object_id],
        "participant": row.participant_id,
        "detail": row.detail,
    }
    payload = prev_hash + json.dumps(body, sort_keys=True, separators=(",", ":"))
    if key is None:  # a row from before the chain was keyed
        return hashlib.sha256(payload.encode()).hexdigest()
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _key() -> bytes:
    return str(current_app.config["AUDIT_KEY"]).encode()


def append(
    actor: Actor,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    now: datetime,
    clinic_id: int | None = None,
    participant_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to the current transaction (the caller commits).

    In a read-only request (a GET's deferred SQLite read) the read is ended first and
    the row goes in a transaction of its own: see transactions.begin_writing."""
    begin_writing()
    if db.session.get_bind().dialect.name == "postgresql":
        # Two transactions reading the same chain head would fork the chain.
        db.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _AUDIT_LOCK})
    prev = db.session.scalar(
        select(AuditLog.hash).order_by(AuditLog.id.desc()).limit(1)
    )
    row = AuditLog(
        at=now.astimezone(UTC),
        clinic_id=clinic_id if clinic_id is not None else actor.clinic_id,
        actor_type=actor.kind,
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        participant_id=participant_id,
        detail=detail or {},
        prev_hash=prev or GENESIS,
        keyed=True,
    )
    row.hash = _digest(row.prev_hash, row, _key())
    db.session.add(row)
    db.session.flush()
    return row


@dataclass(frozen=True)
class Broken:
    """Where the chain fails its check, and why."""

    row_id: int | None
    reason: str


def check(anchor: tuple[int, str] | None = None) -> Broken | None:
    """Walk the chain with the key; with an anchor (sequence number, digest) kept
    outside the database, also require that row to be there unchanged."""
    key, prev, keyed, last = _key(), GENESIS, False, None
    anchored = anchor is None
    for row in db.session.scalars(select(AuditLog).order_by(AuditLog.id)):
        if keyed and not row.keyed:
            return Broken(row.id, f"Audit chain broken at row {row.id}.")
        keyed = keyed or row.keyed
        digest = _digest(prev, row, key if row.keyed else None)
        if row.prev_hash != prev or digest != row.hash:
            return Broken(row.id, f"Audit chain broken at row {row.id}.")
        if anchor is not None and row.id == anchor[0]:
            if row.hash != anchor[1]:
                return Broken(
                    row.id, f"Audit chain: row {row.id} differs from the anchor."
                )
            anchored = True
        prev, last = row.hash, row
    if last is not None and not last.keyed:
        return Broken(last.id, "Audit chain is not keyed: its newest row has no HMAC.")
    if not anchored:
        return Broken(
            anchor[0] if anchor else None,
            f"Audit chain: row {anchor[0] if anchor else '?'} of the anchor is missing "
            "(rows were deleted).",
        )
    return None


def verify() -> int | None:
    """The id of the first row that does not match, or None (see `check`)."""
    broken = check()
    return None if broken is None else broken.row_id


def anchor() -> tuple[int, str] | None:
    """The chain's head: its sequence number and digest, to keep outside."""
    row = db.session.scalars(select(AuditLog).order_by(AuditLog.id.desc())).first()
    return None if row is None else (row.id, row.hash)
