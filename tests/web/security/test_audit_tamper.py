"""`flask cm audit verify` catches a row changed or deleted behind the application's
back: the test removes the database's own append-only guard in its throw-away
database, as an attacker with database access could, and edits the chain."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from cm_service.extensions import db
from cm_service.models import AppendOnlyViolation, AuditLog
from tests.web.helpers import csrf_token, log_in


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
