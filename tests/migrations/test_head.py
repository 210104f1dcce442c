from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import upgrade
from sqlalchemy import text

from cm_service import create_app
from cm_service.extensions import db
from tests.support.config import TEST_CONFIG

FIRST = "836172a188df"  # create the CM schema


def test_migration_head_equals_the_models(app):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        diff = compare_metadata(context, db.metadata)

    assert diff == []


def test_each_migration_upgrades_a_database_holding_data(empty_db_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url})
    with app.app_context():
        upgrade(revision=FIRST)
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO clinic (id, name, timezone, maker_checker, "
                    "created_at) VALUES (1, 'Old', 'UTC', false, "
                    "'2026-01-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO participant (id, clinic_id, code, status, created_at) "
                    "VALUES (1, 1, 'P-0001', 'active', '2026-01-01 00:00:00+00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            row = conn.execute(text("SELECT code, language FROM participant")).one()
            safe = conn.execute(text("SELECT safe_mode FROM clinic")).scalar_one()
        db.engine.dispose()

    assert tuple(row) == ("P-0001", "en")
    assert not safe
