"""record consents and disclosures

(Placeholder: filled in by the change that adds these tables.)

Revision ID: d1c0a5e7b3f2
Revises: c9d4e6f8a2b1
Create Date: 2026-12-07 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd1c0a5e7b3f2'
down_revision = 'c9d4e6f8a2b1'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
