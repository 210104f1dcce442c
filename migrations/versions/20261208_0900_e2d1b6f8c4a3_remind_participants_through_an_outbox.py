"""remind participants through an outbox

`reminder_setting` holds a participant's quiet hours, time zone and wording;
`reminder_channel` each opt-in to text messages or e-mail (address, the consent
for "reminders" it rests on, who recorded it and when, who ended it and when);
`outbox` the messages to send, each written in the transaction of its cause with a
unique dedupe key, drained by the scheduler (docs/reminders.md). New tables only:
no table is rebuilt, so SQLite's append-only triggers stay.

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
    op.create_table(
        'reminder_setting',
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=True),
        sa.Column('quiet_from', sa.Time(), nullable=False),
        sa.Column('quiet_until', sa.Time(), nullable=False),
        sa.Column('explicit', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_reminder_setting_participant_id_participant')),
        sa.PrimaryKeyConstraint('participant_id', name=op.f('pk_reminder_setting')),
    )
    op.create_table(
        'reminder_channel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('consent_id', sa.Integer(), nullable=False),
        sa.Column('opted_in_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('opted_in_by_type', sa.String(length=16), nullable=False),
        sa.Column('opted_in_by_id', sa.Integer(), nullable=True),
        sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('opted_out_by_type', sa.String(length=16), nullable=True),
        sa.Column('opted_out_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_reminder_channel_channel')),
        sa.ForeignKeyConstraint(['consent_id'], ['consent.id'], name=op.f('fk_reminder_channel_consent_id_consent')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_reminder_channel_participant_id_participant')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_channel')),
        sa.UniqueConstraint('participant_id', 'channel', name=op.f('uq_reminder_channel_participant_id_channel')),
    )
    op.create_index(op.f('ix_reminder_channel_consent_id'), 'reminder_channel', ['consent_id'])
    op.create_index('ix_reminder_channel_channel_address', 'reminder_channel', ['channel', 'address'])
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('address', sa.String(length=254), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('dedupe_key', sa.String(length=200), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('provider_ref', sa.String(length=200), nullable=True),
        sa.CheckConstraint("channel IN ('sms', 'email')", name=op.f('ck_outbox_channel')),
        sa.CheckConstraint("kind IN ('evening', 'award', 'missed')", name=op.f('ck_outbox_kind')),
        sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'dead', 'cancelled')", name=op.f('ck_outbox_status')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_outbox_clinic_id_clinic')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_outbox_participant_id_participant')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
        sa.UniqueConstraint('dedupe_key', name=op.f('uq_outbox_dedupe_key')),
    )
    op.create_index(op.f('ix_outbox_clinic_id'), 'outbox', ['clinic_id'])
    op.create_index(op.f('ix_outbox_participant_id'), 'outbox', ['participant_id'])
    op.create_index('ix_outbox_status_not_before', 'outbox', ['status', 'not_before'])


def downgrade():
    op.drop_index('ix_outbox_status_not_before', table_name='outbox')
    op.drop_index(op.f('ix_outbox_participant_id'), table_name='outbox')
    op.drop_index(op.f('ix_outbox_clinic_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_reminder_channel_channel_address', table_name='reminder_channel')
    op.drop_index(op.f('ix_reminder_channel_consent_id'), table_name='reminder_channel')
    op.drop_table('reminder_channel')
    op.drop_table('reminder_setting')
