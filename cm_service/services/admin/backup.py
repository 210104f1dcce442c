"""Online backup of the embedded SQLite database, for `flask cm backup`.

sqlite3's backup API copies one consistent snapshot while the app keeps serving: in
WAL mode the copy is a reader, so it neither waits for a writer nor blocks one.
PostgreSQL is backed up with pg_dump, which this module refuses to imitate.
A backup discloses every participant's record, so each one writes an audit row.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from ...extensions import db
from ..access import audit
from ..access.actors import Actor
from ..errors import CMError, InvalidInput


class BackupUnsupported(CMError):
    """The database is not an SQLite file (PostgreSQL, or in memory)."""

    code = "backup_unsupported"


def default_path(instance_path: Path, now: datetime) -> Path:
    """instance/backups/cm-YYYYmmddTHHMMSSZ.sqlite3, named by the UTC time."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return instance_path / "backups" / f"cm-{stamp}.sqlite3"


def backup_database(
    actor: Actor, *, now: datetime, instance_path: Path, to: Path | None = None
) -> Path:
    """Copy the app's SQLite database to `to` (or the default path) and audit it.

    Returns the new file, mode 0600. Raises BackupUnsupported on PostgreSQL or an
    in-memory database, InvalidInput(field="to") if the target exists. No backup is
    left without its audit row: if the row cannot be written, the file is removed.
    """
    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        raise BackupUnsupported(
            f"cm backup copies the embedded SQLite database; this one is "
            f"{url.get_backend_name()}. Back PostgreSQL up with pg_dump, e.g. "
            '`pg_dump --format=custom --file=cm.dump "$DATABASE_URL"`, and test '
            "restoring it with pg_restore."
        )
    if not url.database or url.database == ":memory:":
        raise BackupUnsupported("an in-memory database has no file to back up")
    target = to or default_path(instance_path, now)
    if target.exists():
        raise InvalidInput("to", f"{target} already exists; choose a new path")
    size = copy_sqlite(Path(url.database), target)
    try:
        audit.append(
            actor,
            "backup_database",
            "database",
            None,
            now=now,
            detail={"path": str(target), "bytes": size},
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        target.unlink(missing_ok=True)
        raise
    return target


def copy_sqlite(source: Path, target: Path) -> int:
    """Copy a consistent snapshot of the SQLite file `source` into the new file
    `target` (mode 0600, journal mode DELETE so it is one self-contained file).

    Returns its size in bytes. Raises FileExistsError if `target` exists.
    """
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    partial = target.with_name(target.name + ".partial")
    # Created 0600 before SQLite opens it: never readable by others, not even briefly.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with (
            closing(sqlite3.connect(source, timeout=15)) as src,
            closing(sqlite3.connect(partial)) as dst,
        ):
            # pages=-1: the whole database in one step, under one read snapshot.
            src.backup(dst)
            # The copied header says WAL; a backup should not need a -wal file.
            dst.execute("PRAGMA journal_mode=DELETE")
            (check,) = dst.execute("PRAGMA quick_check").fetchone()
        if check != "ok":
            raise RuntimeError(f"the backup copy failed its integrity check: {check}")
        # A hard link refuses an existing target, where a rename would replace it.
        os.link(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target.stat().st_size
