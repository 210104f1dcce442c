"""keep each enrollment's standing; index draw balances by clinic

`enrollment_standing` holds, per enrollment, where it stands on one clinic day
(rules.Standing as JSON) so that pages read it instead of folding. A cache: it
starts empty and pages fold until settle or the nightly job writes a row.
`ix_ledger_entry_clinic_account_participant` lets the Today board sum one clinic's
draw balances without reading the whole ledger.

Revision ID: a4f3d8b0e6c5
Revises: f3e2c7a9d5b4
Create Date: 2026-12-10 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a4f3d8b0e6c5'
down_revision = 'f3e2c7a9d5b4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'enrollment_standing',
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('as_of', sa.Date(), nullable=False),
        sa.Column('engine', sa.String(length=64), nullable=False),
        sa.Column('state', sa.JSON(), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['enrollment_id'],
            ['enrollment.id'],
            name=op.f('fk_enrollment_standing_enrollment_id_enrollment'),
        ),
        sa.PrimaryKeyConstraint('enrollment_id', name=op.f('pk_enrollment_standing')),
    )
    op.create_index(
        'ix_ledger_entry_clinic_account_participant',
        'ledger_entry',
        ['clinic_id', 'account', 'participant_id'],
    )


def downgrade():
    op.drop_index('ix_ledger_entry_clinic_account_participant', 'ledger_entry')
    op.drop_table('enrollment_standing')
