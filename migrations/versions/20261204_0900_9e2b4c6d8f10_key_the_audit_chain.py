"""key the audit chain; make protocol versions and their pins immutable

The audit digest was plain SHA-256, so anyone with write access to the database
could drop the trigger, edit a row and recompute the chain. Rows are now
HMAC-SHA256 with AUDIT_KEY, which lives in configuration, never in the database;
`audit_log.keyed` marks them. Rows already written stay as they were (the log is
append-only); on a database that has any, a keyed `audit_chain_keyed` row is
appended now, so the old rows are covered by a keyed successor at once.

A protocol version (what every amount is reproduced from) and an enrollment's pin
to it could be rewritten in SQL: triggers now refuse UPDATE and DELETE of
`protocol` and a change of `enrollment.protocol_id`, on SQLite and PostgreSQL.

Revision ID: 9e2b4c6d8f10
Revises: 7c4d2e9a1b60
Create Date: 2026-12-04 09:00:00.000000

"""
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9e2b4c6d8f10'
down_revision = '7c4d2e9a1b60'
branch_labels = None
depends_on = None

DEV_AUDIT_KEY = "dev-only-audit-key"


def _audit_key() -> bytes:
    try:
        from flask import current_app

        return str(current_app.config["AUDIT_KEY"]).encode()
    except (RuntimeError, KeyError):  # alembic run outside the app
        return os.environ.get("AUDIT_KEY", DEV_AUDIT_KEY).encode()


def _keyed_digest(key: bytes, prev_hash: str, body: dict) -> str:
    # The digest of services/access/audit.py as it is at this revision.
    payload = prev_hash + json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def _append_marker() -> None:
    bind = op.get_bind()
    head = bind.execute(
        sa.text("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
    ).scalar()
    if head is None:
        return  # an empty log: its first row will be keyed
    at = datetime.now(timezone.utc).replace(microsecond=0)
    detail = {"reason": "AUDIT_KEY introduced; earlier rows are SHA-256"}
    body = {
        "at": at.isoformat(),
        "clinic": None,
        "actor": ["system", None, "system"],
        "action": "audit_chain_keyed",
        "object": ["audit_log", None],
        "participant": None,
        "detail": detail,
    }
    bind.execute(
        sa.text(
            "INSERT INTO audit_log (at, clinic_id, actor_type, actor_id, actor_role, "
            "action, object_type, object_id, participant_id, detail, prev_hash, hash, "
            "keyed) VALUES (:at, NULL, 'system', NULL, 'system', 'audit_chain_keyed', "
            "'audit_log', NULL, NULL, :detail, :prev, :hash, :keyed)"
        ),
        {
            "at": at if bind.dialect.name == "postgresql" else at.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "detail": json.dumps(detail),
            "prev": head,
            "hash": _keyed_digest(_audit_key(), head, body),
            "keyed": True,
        },
    )


def _create_immutability_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION refuse_protocol_change() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            "RAISE EXCEPTION 'protocol versions are immutable: add a version' "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        )
        op.execute(
            "CREATE TRIGGER protocol_immutable BEFORE UPDATE OR DELETE ON protocol "
            "FOR EACH ROW EXECUTE FUNCTION refuse_protocol_change()"
        )
        op.execute(
            "CREATE TRIGGER enrollment_pin_immutable BEFORE UPDATE OF protocol_id "
            "ON enrollment FOR EACH ROW WHEN (NEW.protocol_id IS DISTINCT FROM "
            "OLD.protocol_id) EXECUTE FUNCTION refuse_protocol_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER protocol_no_{verb.lower()} BEFORE {verb} ON protocol "
            "BEGIN SELECT RAISE(ABORT, 'protocol versions are immutable: add a "
            "version'); END"
        )
    op.execute(
        "CREATE TRIGGER enrollment_pin_immutable BEFORE UPDATE OF protocol_id ON "
        "enrollment WHEN NEW.protocol_id IS NOT OLD.protocol_id BEGIN SELECT "
        "RAISE(ABORT, 'an enrollment''s protocol is immutable'); END"
    )


def upgrade():
    # In place (no table rebuild, which on SQLite would drop the append-only triggers).
    op.add_column(
        'audit_log', sa.Column('keyed', sa.Boolean(), nullable=False, server_default='0')
    )
    _append_marker()
    _create_immutability_triggers()


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS enrollment_pin_immutable ON enrollment")
        op.execute("DROP TRIGGER IF EXISTS protocol_immutable ON protocol")
        op.execute("DROP FUNCTION IF EXISTS refuse_protocol_change()")
    else:
        op.execute("DROP TRIGGER IF EXISTS enrollment_pin_immutable")
        op.execute("DROP TRIGGER IF EXISTS protocol_no_update")
        op.execute("DROP TRIGGER IF EXISTS protocol_no_delete")
    # audit_log.keyed stays: the log is append-only, and dropping a column would
    # rebuild the table on SQLite.
