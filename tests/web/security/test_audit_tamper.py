"""`flask cm audit verify` catches a row changed or deleted behind the application's
back: the test removes the database's own append-only guard in its throw-away
database, as an attacker with database access could, and edits the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cm_service.extensions import db
from cm_service.models import AppendOnlyViolation, AuditLog, Enrollment
from tests.support.web import csrf_token, log_in


@pytest.fixture
def chain(app, staff, clinic):
    """A few audit rows from real sign-ins: ids in order."""
    client = app.test_client()
    for _ in range(3):
        log_in(client, "tech")
        client.post(
            "/staff/logout", data={"csrf_token": csrf_token(client, "/staff/today")}
        )
    ids = list(db.session.scalars(select(AuditLog.id).order_by(AuditLog.id)))
    assert len(ids) >= 6
    return ids


def without_append_only_guard(verb: str) -> None:
    """Drop (SQLite) or disable (PostgreSQL) the trigger that refuses `verb`."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(
            text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
        )
    else:
        db.session.execute(text(f"DROP TRIGGER audit_log_no_{verb}"))


def verify(runner):
    db.session.remove()  # the command reads what is committed, like a new process
    return runner.invoke(args=["cm", "audit", "verify"])


def test_an_intact_chain_verifies(runner, chain):
    result = verify(runner)

    assert result.exit_code == 0
    assert "Audit chain intact." in result.output


def test_the_guards_refuse_an_update_through_the_orm_and_in_sql(chain):
    row = db.session.get(AuditLog, chain[2])
    row.action = "nothing_happened"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(
            text("UPDATE audit_log SET action = 'x' WHERE id = :id"), {"id": chain[2]}
        )
    db.session.rollback()


def test_a_row_changed_in_the_database_is_reported(runner, chain):
    target = chain[len(chain) // 2]
    without_append_only_guard("update")
    db.session.execute(
        text("UPDATE audit_log SET action = 'login_failed' WHERE id = :id"),
        {"id": target},
    )
    db.session.commit()

    result = verify(runner)

    assert result.exit_code == 1
    assert f"Audit chain broken at row {target}." in result.output


def test_a_row_deleted_from_the_middle_is_caught(runner, chain):
    target = chain[len(chain) // 2]
    without_append_only_guard("delete")
    db.session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": target})
    db.session.commit()

    result = verify(runner)

    assert result.exit_code == 1
    # The row after the gap no longer points at its predecessor's hash.
    following = chain[chain.index(target) + 1]
    assert f"Audit chain broken at row {following}." in result.output


def plain_digest(prev_hash: str, row) -> str:
    """The chain's digest as anyone can compute it without the key (SHA-256)."""
    import hashlib
    import json

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


def test_a_chain_rewritten_and_rehashed_without_the_key_is_caught(runner, chain):
    # Issue 15, defect 5: with a plain SHA-256 chain, dropping the trigger, editing a
    # row and recomputing every later digest made `verify` report an intact chain.
    target = chain[len(chain) // 2]
    without_append_only_guard("update")
    db.session.execute(
        text("UPDATE audit_log SET action = 'login_failed' WHERE id = :id"),
        {"id": target},
    )
    db.session.commit()
    db.session.expire_all()
    rows = list(db.session.scalars(select(AuditLog).order_by(AuditLog.id)))
    prev = rows[chain.index(target) - 1].hash
    for row in rows[chain.index(target) :]:
        digest = plain_digest(prev, row)
        db.session.execute(
            text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE id = :id"),
            {"p": prev, "h": digest, "id": row.id},
        )
        prev = digest
    db.session.commit()

    result = verify(runner)

    assert result.exit_code == 1
    assert f"Audit chain broken at row {target}." in result.output


def test_a_deleted_tail_is_caught_against_an_anchor_kept_outside(runner, chain):
    anchor = runner.invoke(args=["cm", "audit", "anchor"])
    head = anchor.output.strip().splitlines()[-1]
    without_append_only_guard("delete")
    db.session.execute(text("DELETE FROM audit_log WHERE id >= :id"), {"id": chain[-2]})
    db.session.commit()
    db.session.remove()

    alone = runner.invoke(args=["cm", "audit", "verify"])
    anchored = runner.invoke(args=["cm", "audit", "verify", "--anchor", head])

    assert anchor.exit_code == 0
    assert head.startswith(f"{chain[-1]}:")
    assert alone.exit_code == 0  # what is left is a valid chain on its own
    assert anchored.exit_code == 1
    assert f"row {chain[-1]} of the anchor is missing" in anchored.output


def test_a_malformed_anchor_is_a_usage_error(runner, chain):
    result = runner.invoke(args=["cm", "audit", "verify", "--anchor", "12-abc"])

    assert result.exit_code == 2
    assert "SEQ:DIGEST" in result.output


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE protocol SET spec = '{}' WHERE id = :protocol",
        "UPDATE protocol SET key = 'other' WHERE id = :protocol",
        "DELETE FROM protocol WHERE id = :protocol",
        "UPDATE enrollment SET protocol_id = :other WHERE id = :enrollment",
    ],
)
def test_a_pinned_protocol_version_cannot_be_rewritten_in_sql(staff, clinic, statement):
    from cm_service.models import Protocol
    from tests.support.factories import make_enrolled

    _, enrollment = make_enrolled(staff, clinic)
    other = db.session.scalars(
        select(Protocol.id).where(Protocol.id != enrollment.protocol_id)
    ).first()

    values = {
        "protocol": enrollment.protocol_id,
        "other": other,
        "enrollment": enrollment.id,
    }

    with pytest.raises(Exception, match="immutable"):
        db.session.execute(text(statement), values)
    db.session.rollback()


def test_an_enrollment_still_ends_and_changes_status(staff, clinic):
    from tests.support.factories import make_enrolled

    _, enrollment = make_enrolled(staff, clinic)

    db.session.execute(
        text("UPDATE enrollment SET status = 'discharged' WHERE id = :id"),
        {"id": enrollment.id},
    )
    db.session.commit()

    assert db.session.get(Enrollment, enrollment.id).status == "discharged"
