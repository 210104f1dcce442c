"""Staff web fixtures: a logged-in test client on a clock frozen at NOW."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, LedgerEntry
from tests.support.clock import freeze
from tests.support.factories import NOW, make_enrolled
from tests.support.web import log_in


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    # NOW is Monday 2026-02-02, 14:00 in Chicago: a Higgins testing day.
    freeze(monkeypatch, lambda: NOW)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def logged_in(client, staff):
    assert log_in(client, "tech").status_code == 302
    return client


@pytest.fixture
def person(staff, clinic):
    participant, _ = make_enrolled(staff, clinic)
    return participant


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def history() -> tuple[int, int, int]:
    """Events, ledger entries and audit rows: what 'nothing was written' compares."""
    return count(Event), count(LedgerEntry), count(AuditLog)


def page_of(response) -> str:
    return response.get_data(as_text=True)
