"""Transactions: how each one begins and ends, on SQLite and PostgreSQL.

Services commit their writes, once per use case. This module owns everything else
about transactions: a writer begins `BEGIN IMMEDIATE` on SQLite, a GET reads in a
deferred transaction that may not write (`begin_writing` ends it for a page's audit
row), `reading()` reads after a use case's commit, and the end of a request ends
its read (it wrote nothing: `_no_writes_in_deferred_reads` makes sure) or rolls
back whatever an exception left.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from .extensions import db


def init_app(app: Flask) -> None:
    app.before_request(_defer_reads)
    app.teardown_request(_end_deferred_reads)


# SQLite: how the next transaction begins. Writers need BEGIN IMMEDIATE (below); a
# GET only reads (its audit row is written apart: see `begin_writing`), and holding
# the one write lock for a whole page made every page wait on every other.
_reads_deferred: ContextVar[bool] = ContextVar("sqlite_reads_deferred", default=False)
_writing_next: ContextVar[bool] = ContextVar("sqlite_writing_next", default=False)
_reading_next: ContextVar[bool] = ContextVar("sqlite_reading_next", default=False)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _defer_reads() -> None:
    reading = request.method in SAFE_METHODS
    _reads_deferred.set(reading)
    # A GET writes only audit rows, which change nothing it loaded: committing one
    # must not expire what the page shows, or it would reload each row it lists.
    db.session().expire_on_commit = not reading


def _end_deferred_reads(exc: BaseException | None) -> None:
    # End the read here, not at the app context's end: the next request on this
    # session (a test client's, within one app context) must begin its own.
    try:
        if exc is None and _in_deferred_read():
            _end_read()
        elif exc is not None:
            db.session.rollback()
    except SQLAlchemyError:
        # A view left the transaction failed: nothing of it may be kept.
        db.session.rollback()
    finally:
        db.session().expire_on_commit = True
        _reads_deferred.set(False)
        _writing_next.set(False)
        _reading_next.set(False)


@contextmanager
def reading() -> Iterator[None]:
    """Read in a transaction of its own that takes no SQLite write lock (for what a
    use case shows after its commit), ended on leaving, keeping what it loaded."""
    _reading_next.set(True)
    try:
        yield
    finally:
        _reading_next.set(False)
        session = db.session()
        if session.in_transaction():
            keep, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = keep


def _end_read() -> None:
    # Committing a read that wrote nothing (the guard below refuses any write)
    # keeps what the page loaded, where a rollback would expire it all.
    db.session.commit()


def _in_deferred_read() -> bool:
    session = db.session()
    return session.in_transaction() and bool(
        session.connection().info.get("sqlite_deferred")
    )


def begin_writing() -> None:
    """Make the session's next transaction a writer, ending a deferred SQLite read.

    A deferred transaction that has read cannot safely start writing (SQLITE_BUSY
    once another writer committed since its snapshot), so the read is committed
    (it wrote nothing) and the next transaction begins IMMEDIATE. Elsewhere, and
    on PostgreSQL, it does nothing."""
    if not _reads_deferred.get() or db.session.get_bind().dialect.name != "sqlite":
        return
    if _in_deferred_read():
        db.session.commit()
    elif db.session().in_transaction():
        return  # already writing
    _writing_next.set(True)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, _record) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (below) instead of pysqlite's deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin_immediate(conn) -> None:
    # A deferred SQLite transaction that reads a balance and then writes cannot upgrade
    # its lock under contention (SQLITE_BUSY), and with_for_update() compiles to
    # nothing on SQLite. BEGIN IMMEDIATE makes every transaction a single writer,
    # which is what keeps racing redemptions from overdrawing (measured). Reads in
    # a GET begin deferred, so pages read side by side under WAL.
    if conn.dialect.name != "sqlite":
        return
    if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return  # no transaction asked for (nothing would ever commit it)
    deferred = (
        _reads_deferred.get() or _reading_next.get()
    ) and not _writing_next.get()
    _writing_next.set(False)
    _reading_next.set(False)
    conn.info["sqlite_deferred"] = deferred
    conn.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")


@event.listens_for(Session, "before_flush")
def _no_writes_in_deferred_reads(session, _context, _instances) -> None:
    # A write that slipped into a GET's read would fail only under load; fail always.
    if not (session.new or session.dirty or session.deleted):
        return
    if session.connection().info.get("sqlite_deferred"):
        raise RuntimeError(
            "A GET request wrote outside begin_writing(): writes in a deferred "
            "SQLite read fail under contention."
        )
