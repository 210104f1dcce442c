"""The migration that funds enrollments by programs: existing catalogue items become
goods (the kind a non-cash program allows), the append-only triggers survive (the
column is added in place), and it downgrades and upgrades again."""

from __future__ import annotations

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from cm_service import create_app
from cm_service.extensions import db
from tests.support.config import TEST_CONFIG

BEFORE = "e2d1b6f8c4a3"  # the revision before funding programs


def _triggers(conn) -> set[str]:
    if conn.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return {row[0] for row in conn.execute(sa.text(query))}


def test_existing_rewards_become_goods_and_the_triggers_stay(empty_db_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            before = _triggers(conn)
            conn.execute(
                sa.text(
                    "INSERT INTO clinic (id, name, timezone, maker_checker, safe_mode,"
                    " portal_slug, created_at) VALUES (1, 'Old', 'UTC', false, false,"
                    " 'old-abc123', '2026-01-01 00:00:00+00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO reward (clinic_id, name, cost_cents, value_cents,"
                    " stock, active) VALUES (1, 'Bus pass', 500, 500, 3, true)"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            kinds = conn.execute(sa.text("SELECT name, kind FROM reward")).all()
            after = _triggers(conn)
        downgrade(revision=BEFORE)
        upgrade()
        with db.engine.connect() as conn:
            again = conn.execute(sa.text("SELECT kind FROM reward")).scalar_one()
            tables = sa.inspect(conn).get_table_names()
        db.engine.dispose()

    assert [tuple(k) for k in kinds] == [("Bus pass", "goods")]
    assert before
    assert before <= after
    assert again == "goods"
    assert {"funding_program", "enrollment_funding"} <= set(tables)
