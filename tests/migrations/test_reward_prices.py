"""The migration to money prices: point-priced items keep the money they cost."""

from __future__ import annotations

from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from cm_service import create_app
from cm_service.extensions import db
from cm_service.rules import load_preset
from tests.support.config import TEST_CONFIG

BEFORE = "0de09fe690b4"  # the last revision with reward.cost_points
WHEN = datetime(2026, 1, 1, tzinfo=UTC)

CLINIC = sa.table(
    "clinic",
    *(sa.column(c) for c in ("id", "name", "timezone", "maker_checker")),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
PROTOCOL = sa.table(
    "protocol",
    *(sa.column(c) for c in ("id", "clinic_id", "key", "version", "name")),
    sa.column("spec", sa.JSON),
    sa.column("is_preset", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
PARTICIPANT = sa.table(
    "participant",
    *(sa.column(c) for c in ("id", "clinic_id", "code", "status")),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
ENROLLMENT = sa.table(
    "enrollment",
    *(sa.column(c) for c in ("id", "clinic_id", "participant_id", "protocol_id")),
    sa.column("start_on", sa.Date),
    sa.column("status"),
    sa.column("testing_days", sa.JSON),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
REWARD = sa.table(
    "reward",
    *(sa.column(c) for c in ("id", "clinic_id", "name", "tier", "cost_points")),
    *(sa.column(c) for c in ("value_cents", "stock")),
    sa.column("active", sa.Boolean),
)
MOVEMENT = sa.table(
    "stock_movement",
    *(sa.column(c) for c in ("id", "clinic_id", "reward_id", "quantity", "note")),
    sa.column("at", sa.DateTime(timezone=True)),
)

# clinic id -> (name, the presets its participants are enrolled on)
CLINICS = {
    # VA's prize draws pay no points, so the clinic's point is California's 50 cents.
    1: ("California", ["ca-recovery-incentives", "va-prize-2014"]),
    2: ("Mixed", ["higgins-1994", "ca-recovery-incentives"]),  # ambiguous: 25 cents
    3: ("New", []),  # no enrollment yet: 25 cents
}
# reward id -> (clinic id, name, tier, cost_points)
REWARDS = {
    1: (1, "Bus pass", None, 40),
    2: (1, "Small prize", "small", None),
    3: (2, "Bus pass", None, 40),
    4: (3, "Coffee", None, 8),
}


def _old_data(conn) -> None:
    conn.execute(
        sa.insert(CLINIC),
        [
            dict(id=i, name=n, timezone="UTC", maker_checker=False, created_at=WHEN)
            for i, (n, _) in CLINICS.items()
        ],
    )
    protocols, people, enrollments = [], [], []
    for clinic_id, (_, keys) in CLINICS.items():
        for key in keys:
            n = len(protocols) + 1
            protocols.append(
                dict(
                    id=n,
                    clinic_id=clinic_id,
                    key=key,
                    version=1,
                    name=key,
                    spec=load_preset(key),
                    is_preset=True,
                    created_at=WHEN,
                )
            )
            people.append(
                dict(
                    id=n,
                    clinic_id=clinic_id,
                    code=f"P-{n:04d}",
                    status="active",
                    created_at=WHEN,
                )
            )
            enrollments.append(
                dict(
                    id=n,
                    clinic_id=clinic_id,
                    participant_id=n,
                    protocol_id=n,
                    start_on=date(2026, 1, 5),
                    status="active",
                    testing_days={},
                    created_at=WHEN,
                )
            )
    conn.execute(sa.insert(PROTOCOL), protocols)
    conn.execute(sa.insert(PARTICIPANT), people)
    conn.execute(sa.insert(ENROLLMENT), enrollments)
    conn.execute(
        sa.insert(REWARD),
        [
            dict(
                id=i,
                clinic_id=c,
                name=n,
                tier=t,
                cost_points=p,
                value_cents=0,
                stock=3,
                active=True,
            )
            for i, (c, n, t, p) in REWARDS.items()
        ],
    )
    conn.execute(
        sa.insert(MOVEMENT),
        [dict(id=1, clinic_id=1, reward_id=1, quantity=3, note="opening", at=WHEN)],
    )


def test_point_prices_become_the_money_they_cost(empty_db_url):
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_db_url})
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            _old_data(conn)
        upgrade()
        with db.engine.connect() as conn:
            prices = dict(
                conn.execute(sa.text("SELECT id, cost_cents FROM reward")).all()
            )
            columns = {c["name"] for c in sa.inspect(conn).get_columns("reward")}
            movement = conn.execute(
                sa.text("SELECT reward_id FROM stock_movement")
            ).scalar_one()
        downgrade(revision=BEFORE)
        with db.engine.connect() as conn:
            points = dict(
                conn.execute(sa.text("SELECT id, cost_points FROM reward")).all()
            )
        db.engine.dispose()

    # 40 points at California's 50 cents; at 25 cents (Higgins) where ambiguous.
    assert prices == {1: 2000, 2: None, 3: 1000, 4: 200}
    assert "cost_points" not in columns
    assert movement == 1  # custody rows still point at their item
    assert points == {i: p for i, (_, _, _, p) in REWARDS.items()}
