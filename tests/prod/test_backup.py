from __future__ import annotations

import re
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import select

from cm_service import create_app
from cm_service.extensions import db
from cm_service.models import AuditLog, Clinic
from cm_service.services.access import audit
from cm_service.services.admin import backup
from tests.support.config import TEST_CONFIG

on_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def _source() -> Path:
    db.session.remove()
    return Path(db.engine.url.database)


def _rows(path: Path, sql: str) -> list[tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _backup_rows() -> list[AuditLog]:
    return list(
        db.session.scalars(select(AuditLog).where(AuditLog.action == "backup_database"))
    )


@on_sqlite
def test_backup_copies_committed_data_while_a_writer_holds_its_transaction(
    app, clinic, tmp_path
):
    source, target = _source(), tmp_path / "copy.sqlite3"
    writer = sqlite3.connect(source, isolation_level=None, timeout=1)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("CREATE TABLE uncommitted (x)")
    writer.execute("INSERT INTO uncommitted VALUES (1)")
    started = time.monotonic()
    try:
        backup.copy_sqlite(source, target)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()

    # A WAL reader: it neither waited for the writer nor saw its uncommitted rows.
    assert elapsed < 5
    assert _rows(target, "SELECT name FROM clinic") == [("Test Clinic",)]
    assert (
        _rows(target, "SELECT name FROM sqlite_master WHERE name='uncommitted'") == []
    )
    assert _rows(target, "PRAGMA quick_check") == [("ok",)]


@on_sqlite
def test_backups_taken_during_concurrent_writes_are_consistent_snapshots(app, tmp_path):
    source = _source()
    with closing(sqlite3.connect(source, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE tick (n INTEGER PRIMARY KEY)")
    done = threading.Event()
    written: list[int] = []

    def write() -> None:
        with closing(sqlite3.connect(source, isolation_level=None, timeout=15)) as w:
            n = 0
            while not done.is_set():
                n += 1
                # Two statements per transaction: a torn copy would show an odd count.
                w.execute("BEGIN IMMEDIATE")
                w.execute("INSERT INTO tick VALUES (?)", (2 * n - 1,))
                w.execute("INSERT INTO tick VALUES (?)", (2 * n,))
                w.execute("COMMIT")
                written.append(n)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        copies = []
        for i in range(5):
            copies.append(tmp_path / f"copy-{i}.sqlite3")
            backup.copy_sqlite(source, copies[-1])
            time.sleep(0.05)
    finally:
        done.set()
        writer.join(30)

    assert not writer.is_alive()
    counts = []
    for copy in copies:
        ticks = [n for (n,) in _rows(copy, "SELECT n FROM tick ORDER BY n")]
        assert ticks == list(range(1, len(ticks) + 1)), copy
        assert len(ticks) % 2 == 0
        assert _rows(copy, "PRAGMA integrity_check") == [("ok",)]
        counts.append(len(ticks))
    assert counts == sorted(counts)
    assert 2 * len(written) > counts[0]  # the writer really ran during the backups


@on_sqlite
def test_cm_backup_writes_a_private_self_contained_copy_and_audits_it(
    app, runner, clinic, tmp_path
):
    target = tmp_path / "nested" / "cm.sqlite3"

    result = runner.invoke(args=["cm", "backup", "--to", str(target)])

    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(target)
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.read_bytes()[18] == 1  # legacy journal, not WAL: no -wal needed
    assert not Path(f"{target}-wal").exists()
    assert [r.detail["path"] for r in _backup_rows()] == [str(target)]
    assert audit.verify() is None
    copy = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    with copy.app_context():
        assert db.session.scalars(select(Clinic.name)).all() == ["Test Clinic"]
        assert audit.verify() is None
        db.session.remove()
        db.engine.dispose()


@on_sqlite
def test_cm_backup_defaults_to_a_timestamped_file_in_instance_backups(
    app, runner, tmp_path
):
    app.instance_path = str(tmp_path)

    result = runner.invoke(args=["cm", "backup"])

    assert result.exit_code == 0, result.output
    path = Path(result.output.strip().splitlines()[-1])
    assert path.parent == tmp_path / "backups"
    assert re.fullmatch(r"cm-\d{8}T\d{6}Z\.sqlite3", path.name)
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert path.stat().st_mode & 0o777 == 0o600


@on_sqlite
def test_cm_backup_never_overwrites_a_file(app, runner, tmp_path):
    target = tmp_path / "taken.sqlite3"
    target.write_text("keep me")

    result = runner.invoke(args=["cm", "backup", "--to", str(target)])

    assert result.exit_code == 2
    assert "--to:" in result.output
    assert "already exists" in result.output
    assert target.read_text() == "keep me"
    assert _backup_rows() == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_cm_backup_refuses_postgresql_and_points_to_pg_dump(app, runner, tmp_path):
    result = runner.invoke(args=["cm", "backup", "--to", str(tmp_path / "x")])

    assert result.exit_code == 1
    assert "pg_dump" in result.output
    assert list(tmp_path.iterdir()) == []
    assert _backup_rows() == []
