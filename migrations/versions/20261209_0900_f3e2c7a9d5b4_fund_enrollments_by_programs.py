"""fund enrollments by programs

`funding_program` holds a clinic's funders and their caps (per award, calendar
month, calendar year; docs/funding.md); `enrollment_funding` the periods an
enrollment is funded by one. `reward` gains its `kind` (goods, gift_card, cash):
every existing item becomes goods, the kind a non-cash program allows, so that
staff mark gift cards and cash themselves before a non-cash program refuses
them. Columns are added in place: a table rebuild would drop the append-only
triggers on SQLite.

Revision ID: f3e2c7a9d5b4
Revises: e2d1b6f8c4a3
Create Date: 2026-12-09 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3e2c7a9d5b4'
down_revision = 'e2d1b6f8c4a3'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'reward',
        sa.Column('kind', sa.String(length=16), server_default='goods', nullable=False),
    )
    op.create_table(
        'funding_program',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('per_award_cents', sa.Integer(), nullable=True),
        sa.Column('per_month_cents', sa.Integer(), nullable=True),
        sa.Column('per_year_cents', sa.Integer(), nullable=True),
        sa.Column('non_cash_only', sa.Boolean(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('preset', sa.String(length=40), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_funding_program_clinic_id_clinic')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_funding_program')),
        sa.UniqueConstraint('clinic_id', 'name', name=op.f('uq_funding_program_clinic_id_name')),
    )
    op.create_index(op.f('ix_funding_program_clinic_id'), 'funding_program', ['clinic_id'])
    op.create_table(
        'enrollment_funding',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('program_id', sa.Integer(), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_enrollment_funding_enrollment_id_enrollment')),
        sa.ForeignKeyConstraint(['program_id'], ['funding_program.id'], name=op.f('fk_enrollment_funding_program_id_funding_program')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_enrollment_funding_created_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_enrollment_funding')),
    )
    op.create_index(op.f('ix_enrollment_funding_enrollment_id'), 'enrollment_funding', ['enrollment_id'])
    op.create_index(op.f('ix_enrollment_funding_program_id'), 'enrollment_funding', ['program_id'])


def downgrade():
    op.drop_index(op.f('ix_enrollment_funding_program_id'), table_name='enrollment_funding')
    op.drop_index(op.f('ix_enrollment_funding_enrollment_id'), table_name='enrollment_funding')
    op.drop_table('enrollment_funding')
    op.drop_index(op.f('ix_funding_program_clinic_id'), table_name='funding_program')
    op.drop_table('funding_program')
    # In place (SQLite 3.35+ drops a plain column without a rebuild).
    op.drop_column('reward', 'kind')
