"""revoke portal sessions on the server

A participant's portal session was only the signed cookie's contents, so a cookie
copied before /me/logout still opened the record afterwards. Each portal session now
carries participant.session_version, bumped when a session ends; a session with an
older version is refused (as staff sessions are with user.session_version).

Revision ID: 5a1e0c3b7d21
Revises: 112b0e29ed10
Create Date: 2026-12-02 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5a1e0c3b7d21'
down_revision = '112b0e29ed10'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('participant', schema=None) as batch_op:
        batch_op.drop_column('session_version')
