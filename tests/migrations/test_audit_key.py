"""Keying the audit chain on a database that already holds plain SHA-256 rows."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import AuditLog
from cm_service.services.access import audit
from tests.support.config import TEST_CONFIG

BEFORE = "7c4d2e9a1b60"  # the revision before the chain was keyed
# audit_log as it was then, without the `keyed` column.
OLD_AUDIT_LOG = sa.table(
    "audit_log",
    *(sa.column(c.name, c.type) for c in AuditLog.__table__.c if c.name != "keyed"),
)


def _legacy_rows(count: int) -> None:
    """Rows as the service wrote them before: a plain SHA-256 chain."""
    prev = audit.GENESIS
    for n in range(count):
        at = datetime(2026, 1, 5, 9, n, tzinfo=UTC)
        body = {
            "at": at.isoformat(),
            "clinic": None,
            "actor": ["system", None, "system"],
            "action": f"legacy_{n}",
            "object": ["clinic", None],
            "participant": None,
            "detail": {},
        }
        payload = prev + json.dumps(body, sort_keys=True, separators=(",", ":"))
        digest = hashlib.sha256(payload.encode()).hexdigest()
        db.session.execute(
            OLD_AUDIT_LOG.insert().values(
                at=at,
                actor_type="system",
                actor_role="system",
                action=f"legacy_{n}",
                object_type="clinic",
                detail={},
                prev_hash=prev,
                hash=digest,
            )
        )
        prev = digest
    db.session.commit()


def test_an_upgraded_chain_ends_keyed_and_verifies(empty_db_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url})
    with app.app_context():
        upgrade(revision=BEFORE)
        _legacy_rows(3)
        upgrade()
        db.session.remove()

        rows = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))
        intact = audit.check()
        db.session.remove()
        db.engine.dispose()

    assert [r.keyed for r in rows] == [False, False, False, True]
    assert rows[-1].action == "audit_chain_keyed"
    assert intact is None
