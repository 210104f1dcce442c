"""fund enrollments by programs

(Placeholder: filled in by the change that adds these tables.)

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
    pass


def downgrade():
    pass
