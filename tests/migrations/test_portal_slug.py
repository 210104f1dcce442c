"""The migration giving each clinic its portal link: filled in place for clinics that
exist, then NOT NULL and unique; the clinic table keeps its rows and ids."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from cm_service import create_app
from cm_service.extensions import db
from tests.support.config import TEST_CONFIG

WHEN = datetime(2026, 1, 1, tzinfo=UTC)
BEFORE = "9e2b4c6d8f10"  # key the audit chain: the last revision without the slug
CLINIC = sa.table(
    "clinic",
    *(sa.column(c) for c in ("id", "name", "timezone", "maker_checker")),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
TRIGGERS = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'trigger'",
    "postgresql": "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal",
}
ROWS = [(1, "Riverside Recovery"), (2, "Riverside Recovery"), (5, "Clínica Río")]


def triggers(conn) -> set[str]:
    return set(conn.execute(sa.text(TRIGGERS[conn.dialect.name])).scalars())


def test_existing_clinics_get_distinct_slugs_that_stay_unique(empty_db_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            conn.execute(
                sa.insert(CLINIC),
                [
                    dict(
                        id=i,
                        name=n,
                        timezone="UTC",
                        maker_checker=False,
                        created_at=WHEN,
                    )
                    for i, n in ROWS
                ],
            )
            before = triggers(conn)
        upgrade()
        with db.engine.connect() as conn:
            after = triggers(conn)
            slugs = dict(
                conn.execute(sa.text("SELECT id, portal_slug FROM clinic")).all()
            )
            column = next(
                c
                for c in sa.inspect(conn).get_columns("clinic")
                if c["name"] == "portal_slug"
            )
        with pytest.raises(sa.exc.IntegrityError), db.engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE clinic SET portal_slug = :s WHERE id = 2"),
                {"s": slugs[1]},
            )
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            names = {c["name"] for c in sa.inspect(conn).get_columns("clinic")}
            kept = dict(conn.execute(sa.text("SELECT id, name FROM clinic")).all())
        db.engine.dispose()

    assert re.fullmatch(r"riverside-recovery-[a-z0-9]{6}", slugs[1])
    assert re.fullmatch(r"riverside-recovery-[a-z0-9]{6}", slugs[2])
    assert re.fullmatch(r"clinica-rio-[a-z0-9]{6}", slugs[5])
    assert len(set(slugs.values())) == 3
    assert column["nullable"] is False
    assert after >= before  # no table was rebuilt (later tables add their own)
    assert "portal_slug" not in names
    assert kept == dict(ROWS)
