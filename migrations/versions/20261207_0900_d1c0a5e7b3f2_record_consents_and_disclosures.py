"""record consents and disclosures

42 CFR Part 2: `consent` holds a participant's written consent to share (recipient
or class of recipients, purposes, what may be shared, signed on, expires on) and
its revocation; `disclosure` logs each participant's records sent out under one,
append-only (refused by triggers, like the ledger). `api_token` gains the outside
recipient it was issued to, that recipient's class and the purpose of its reads.
Columns are added in place: a table rebuild would drop the append-only triggers on
SQLite (none live on `api_token`, but the habit holds).

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


def _disclosure_append_only():
    if op.get_bind().dialect.name == "postgresql":
        # refuse_history_change() comes from the first migration.
        op.execute(
            "CREATE TRIGGER disclosure_append_only BEFORE UPDATE OR DELETE "
            "ON disclosure FOR EACH ROW EXECUTE FUNCTION refuse_history_change()"
        )
        op.execute(
            "CREATE TRIGGER disclosure_no_truncate BEFORE TRUNCATE "
            "ON disclosure FOR EACH STATEMENT EXECUTE FUNCTION refuse_history_change()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER disclosure_no_{verb.lower()} BEFORE {verb} "
            "ON disclosure BEGIN SELECT "
            "RAISE(ABORT, 'disclosure is append-only: post a correction'); END"
        )


def upgrade():
    op.add_column('api_token', sa.Column('recipient', sa.String(length=200), nullable=True))
    op.add_column('api_token', sa.Column('recipient_class', sa.String(length=200), nullable=True))
    op.add_column('api_token', sa.Column('purpose', sa.String(length=16), nullable=True))
    op.create_table(
        'consent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('recipient_kind', sa.String(length=8), nullable=False),
        sa.Column('purposes', sa.JSON(), nullable=False),
        sa.Column('purpose_note', sa.Text(), nullable=True),
        sa.Column('shares', sa.JSON(), nullable=False),
        sa.Column('signed_on', sa.Date(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_on', sa.Date(), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by_id', sa.Integer(), nullable=True),
        sa.Column('revocation_note', sa.Text(), nullable=True),
        sa.CheckConstraint("recipient_kind IN ('named', 'class')", name=op.f('ck_consent_recipient_kind')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_consent_clinic_id_clinic')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_consent_participant_id_participant')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user.id'], name=op.f('fk_consent_recorded_by_id_user')),
        sa.ForeignKeyConstraint(['revoked_by_id'], ['user.id'], name=op.f('fk_consent_revoked_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_consent')),
    )
    op.create_index(op.f('ix_consent_clinic_id'), 'consent', ['clinic_id'])
    op.create_index(op.f('ix_consent_participant_id'), 'consent', ['participant_id'])
    op.create_table(
        'disclosure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('consent_id', sa.Integer(), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('shared', sa.JSON(), nullable=False),
        sa.Column('route', sa.String(length=200), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by_user_id', sa.Integer(), nullable=True),
        sa.Column('by_token_id', sa.Integer(), nullable=True),
        sa.Column('audit_log_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['audit_log_id'], ['audit_log.id'], name=op.f('fk_disclosure_audit_log_id_audit_log')),
        sa.ForeignKeyConstraint(['by_token_id'], ['api_token.id'], name=op.f('fk_disclosure_by_token_id_api_token')),
        sa.ForeignKeyConstraint(['by_user_id'], ['user.id'], name=op.f('fk_disclosure_by_user_id_user')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_disclosure_clinic_id_clinic')),
        sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_disclosure_consent_id_consent')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_disclosure_participant_id_participant')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosure')),
    )
    op.create_index(op.f('ix_disclosure_clinic_id'), 'disclosure', ['clinic_id'])
    op.create_index(op.f('ix_disclosure_consent_id'), 'disclosure', ['consent_id'])
    op.create_index(op.f('ix_disclosure_participant_id'), 'disclosure', ['participant_id'])
    _disclosure_append_only()


def downgrade():
    # Dropping the table drops its triggers on both databases.
    op.drop_index(op.f('ix_disclosure_participant_id'), table_name='disclosure')
    op.drop_index(op.f('ix_disclosure_consent_id'), table_name='disclosure')
    op.drop_index(op.f('ix_disclosure_clinic_id'), table_name='disclosure')
    op.drop_table('disclosure')
    op.drop_index(op.f('ix_consent_participant_id'), table_name='consent')
    op.drop_index(op.f('ix_consent_clinic_id'), table_name='consent')
    op.drop_table('consent')
    # In place on SQLite too (ALTER TABLE DROP COLUMN, SQLite 3.35 and later).
    op.drop_column('api_token', 'purpose')
    op.drop_column('api_token', 'recipient_class')
    op.drop_column('api_token', 'recipient')
