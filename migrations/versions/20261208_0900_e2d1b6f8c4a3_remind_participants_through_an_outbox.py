"""remind participants through an outbox

(Placeholder: filled in by the change that adds these tables.)

Revision ID: e2d1b6f8c4a3
Revises: d1c0a5e7b3f2
Create Date: 2026-12-08 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e2d1b6f8c4a3'
down_revision = 'd1c0a5e7b3f2'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
