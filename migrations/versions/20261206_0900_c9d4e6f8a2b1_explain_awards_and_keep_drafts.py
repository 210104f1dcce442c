"""explain awards in any language; keep forms across an expired session

ledger_entry.why holds an award's rule as structured messages (a message id and its
numbers) so staff and portal pages render it through the translation catalogue;
`rule` keeps the English text. The column is added in place: a table rebuild would
drop the append-only triggers on SQLite.

form_draft keeps a staff form that was posted after the session expired, tied to
the staff member and short-lived, until they sign in again and see it filled in.

Revision ID: c9d4e6f8a2b1
Revises: b3f1a7c9d2e4
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c9d4e6f8a2b1'
down_revision = 'b3f1a7c9d2e4'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('ledger_entry', sa.Column('why', sa.JSON(), nullable=True))
    op.create_table(
        'form_draft',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=512), nullable=False),
        sa.Column('fields', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_form_draft_user_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_form_draft')),
        sa.UniqueConstraint('token', name=op.f('uq_form_draft_token')),
    )
    op.create_index(op.f('ix_form_draft_user_id'), 'form_draft', ['user_id'])


def downgrade():
    op.drop_index(op.f('ix_form_draft_user_id'), table_name='form_draft')
    op.drop_table('form_draft')
    # In place on SQLite too (ALTER TABLE DROP COLUMN, SQLite 3.35 and later).
    op.drop_column('ledger_entry', 'why')
