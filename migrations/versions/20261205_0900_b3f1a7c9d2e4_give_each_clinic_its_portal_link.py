"""give each clinic its portal link

/me/login listed every clinic's name to anyone, which tells who is treated where (a
disclosure under 42 CFR Part 2). Each clinic now has its own login link,
/me/<portal_slug>/login, printed on participants' cards: clinic.portal_slug is the
name as a slug and six random lowercase letters or digits, unique and never empty.

The column is added in place (no table rebuild) and each existing clinic gets a
slug. PostgreSQL then makes it NOT NULL. SQLite can only add a NOT NULL column with
a default, so there it carries DEFAULT '' (the app always sets a slug; the unique
index lets at most one row ever hold ''). The uniqueness is a unique index on both.
No trigger lives on `clinic` (they are on the append-only tables, `protocol` and
`enrollment`), and none is touched.

Revision ID: b3f1a7c9d2e4
Revises: 9e2b4c6d8f10
Create Date: 2026-12-05 09:00:00.000000

"""
import re
import secrets
import string
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3f1a7c9d2e4'
down_revision = '9e2b4c6d8f10'
branch_labels = None
depends_on = None

INDEX = 'ix_clinic_portal_slug'


def _new_slug(name: str) -> str:
    # services/access/portal_links.new_slug as it is at this revision.
    plain = unicodedata.normalize("NFKD", name or "")
    plain = plain.encode("ascii", "ignore").decode().lower()
    words = re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:40].rstrip("-")
    alphabet = string.ascii_lowercase + string.digits
    suffix = "".join(secrets.choice(alphabet) for _ in range(6))
    return f"{words or 'clinic'}-{suffix}"


def _fill_slugs() -> None:
    bind = op.get_bind()
    taken = set()
    for clinic_id, name in bind.execute(sa.text("SELECT id, name FROM clinic")).all():
        slug = _new_slug(name)
        while slug in taken:
            slug = _new_slug(name)
        taken.add(slug)
        bind.execute(
            sa.text("UPDATE clinic SET portal_slug = :slug WHERE id = :id"),
            {"slug": slug, "id": clinic_id},
        )


def upgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        'clinic',
        sa.Column(
            'portal_slug',
            sa.String(length=64),
            nullable=not sqlite,
            server_default='' if sqlite else None,
        ),
    )
    _fill_slugs()
    if not sqlite:
        op.alter_column('clinic', 'portal_slug', nullable=False)
    op.create_index(INDEX, 'clinic', ['portal_slug'], unique=True)


def downgrade():
    op.drop_index(INDEX, table_name='clinic')
    # In place on SQLite too (ALTER TABLE DROP COLUMN, SQLite 3.35 and later).
    op.drop_column('clinic', 'portal_slug')
