"""price rewards in cents instead of points

A point is worth different money on different protocols (25 cents on Higgins, 50 on
California's Recovery Incentives), so a reward priced in points cost participants
different money. Rewards now cost cents (`reward.cost_cents`) and each participant
pays the price in their own protocol's points, rounded up.

Existing point-priced items keep the money they cost where that is unambiguous:
cost_cents = cost_points x the unit_cents of the points-paying protocol the item's
clinic uses, i.e. the protocols of the clinic's enrollments that pay points (a
prize-draws-only protocol pays no points and is left out). Where that is ambiguous -
the clinic's enrollments are on protocols with different unit_cents, or the clinic
has no enrollment on a protocol that pays points - the item is priced at 25 cents a
point, the Higgins (1994) convention, and staff should check its price on the
catalogue page. Prize-bowl items (a tier, no point cost) get no price. Then
cost_points is dropped.

The downgrade restores cost_points the same way: cost_cents over the clinic's unit,
rounded up, so a participant never pays less than the price.

Revision ID: 112b0e29ed10
Revises: 0de09fe690b4
Create Date: 2026-12-01 09:00:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '112b0e29ed10'
down_revision = '0de09fe690b4'
branch_labels = None
depends_on = None

HIGGINS_UNIT_CENTS = 25  # used when a clinic's point value is ambiguous


def _pays_points(spec: dict) -> bool:
    """Whether a protocol document has a schedule that pays points (any
    schedule that is not prize draws), read from the JSON without the app's code."""
    for phase in spec.get("phases") or []:
        for name in ("specimen", "attendance"):
            schedule = phase.get(name)
            if schedule and schedule.get("type") != "prize_draws":
                return True
    return False


def _clinic_units(conn) -> dict[int, int]:
    """clinic id -> the unit_cents of its points-paying protocols, where only one
    value is in use; clinics missing here are ambiguous."""
    rows = conn.execute(
        sa.text(
            "SELECT p.clinic_id, p.spec FROM protocol p WHERE EXISTS "
            "(SELECT 1 FROM enrollment e WHERE e.protocol_id = p.id)"
        )
    )
    units: dict[int, set[int]] = {}
    for clinic_id, spec in rows:
        document = json.loads(spec) if isinstance(spec, str) else spec
        if _pays_points(document):
            units.setdefault(clinic_id, set()).add(int(document.get("unit_cents", 1)))
    return {clinic: next(iter(found)) for clinic, found in units.items() if len(found) == 1}


def _priced_rewards(conn, column: str):
    return conn.execute(
        sa.text(f"SELECT id, clinic_id, {column} FROM reward WHERE {column} IS NOT NULL")
    ).all()


def upgrade():
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_cents', sa.Integer(), nullable=True))

    conn = op.get_bind()
    units = _clinic_units(conn)
    for reward_id, clinic_id, points in _priced_rewards(conn, "cost_points"):
        unit = units.get(clinic_id, HIGGINS_UNIT_CENTS)
        conn.execute(
            sa.text("UPDATE reward SET cost_cents = :cents WHERE id = :id"),
            {"cents": points * unit, "id": reward_id},
        )

    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.drop_column('cost_points')


def downgrade():
    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.add_column(sa.Column('cost_points', sa.Integer(), nullable=True))

    conn = op.get_bind()
    units = _clinic_units(conn)
    for reward_id, clinic_id, cents in _priced_rewards(conn, "cost_cents"):
        unit = units.get(clinic_id, HIGGINS_UNIT_CENTS)
        conn.execute(
            sa.text("UPDATE reward SET cost_points = :points WHERE id = :id"),
            {"points": -(-cents // unit), "id": reward_id},
        )

    with op.batch_alter_table('reward', schema=None) as batch_op:
        batch_op.drop_column('cost_cents')
