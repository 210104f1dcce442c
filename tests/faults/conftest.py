"""Fault-injection fixtures: a real server, in a separate process, on the test's
database (the clinic it serves: `enrol_clinic` in tests/support/faults.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cm_service.extensions import db
from tests.faults.server import Server


@pytest.fixture
def server(app, db_url: str, tmp_path: Path) -> Iterator[Server]:
    """A stopped server on the test's database; stopped again after the test."""
    db.session.remove()
    srv = Server(db_url, tmp_path / "server.log")
    try:
        yield srv
    finally:
        srv.stop()
