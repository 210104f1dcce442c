"""The hash-chained audit log: append within a use case; verify the chain."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text

from ..extensions import begin_writing, db
from ..models import AuditLog
from .actors import Actor

GENESIS = "0" * 64
# Any constant works; it names the one lock that serialises audit appends on PostgreSQL.
_AUDIT_LOCK = 73_411_001


def _digest(prev_hash: str, row: AuditLog) -> str:
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
    return hashlib.sha256(payload.encode()).hexdigest()


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
    the row goes in a transaction of its own: see extensions.begin_writing."""
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
    )
    row.hash = _digest(row.prev_hash, row)
    db.session.add(row)
    db.session.flush()
    return row


def verify() -> int | None:
    """Walk the chain; return the id of the first row that does not match, or None."""
    prev = GENESIS
    for row in db.session.scalars(select(AuditLog).order_by(AuditLog.id)):
        if row.prev_hash != prev or _digest(prev, row) != row.hash:
            return row.id
        prev = row.hash
    return None
