"""Reading what a staff page answered, and counting what it wrote."""

from __future__ import annotations

from sqlalchemy import func, select

from cm_service.extensions import db
from cm_service.models import AuditLog, Event, LedgerEntry


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def history() -> tuple[int, int, int]:
    """Events, ledger entries and audit rows: what 'nothing was written' compares."""
    return count(Event), count(LedgerEntry), count(AuditLog)


def page_of(response) -> str:
    return response.get_data(as_text=True)
