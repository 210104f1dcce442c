"""book sessions and groups

Attendance by appointment (protocol spec `scheduled: true`): staff book a
participant's sessions (appointment), one-off, weekly or as members of a named
recurring group (session_group, group_member). Each booked session ends attended,
late, missed or excused, so event gains `late`, and off-site sessions record how
they were verified (`verification`, `verification_note`). The event columns are
added in place, never by a table rebuild, which on SQLite would drop the
append-only triggers.

Revision ID: 7c4d2e9a1b60
Revises: 5a1e0c3b7d21
Create Date: 2026-12-03 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c4d2e9a1b60'
down_revision = '5a1e0c3b7d21'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'session_group',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('session_type', sa.String(length=40), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=False),
        sa.Column('starts_at', sa.Time(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_session_group_weekday')),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_session_group_clinic_id_clinic')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_session_group')),
        sa.UniqueConstraint('clinic_id', 'name', name=op.f('uq_session_group_clinic_id_name')),
    )
    op.create_index(op.f('ix_session_group_clinic_id'), 'session_group', ['clinic_id'])
    op.create_table(
        'group_member',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('joined_on', sa.Date(), nullable=False),
        sa.Column('left_on', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['group_id'], ['session_group.id'], name=op.f('fk_group_member_group_id_session_group')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_group_member_participant_id_participant')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_member')),
    )
    op.create_index(op.f('ix_group_member_group_id'), 'group_member', ['group_id'])
    op.create_index(op.f('ix_group_member_participant_id'), 'group_member', ['participant_id'])
    op.create_table(
        'appointment',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('clinic_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('enrollment_id', sa.Integer(), nullable=False),
        sa.Column('group_id', sa.Integer(), nullable=True),
        sa.Column('session_type', sa.String(length=40), nullable=False),
        sa.Column('on', sa.Date(), nullable=False),
        sa.Column('starts_at', sa.Time(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
        sa.Column('cancel_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['clinic_id'], ['clinic.id'], name=op.f('fk_appointment_clinic_id_clinic')),
        sa.ForeignKeyConstraint(['participant_id'], ['participant.id'], name=op.f('fk_appointment_participant_id_participant')),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollment.id'], name=op.f('fk_appointment_enrollment_id_enrollment')),
        sa.ForeignKeyConstraint(['group_id'], ['session_group.id'], name=op.f('fk_appointment_group_id_session_group')),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_appointment_created_by_id_user')),
        sa.ForeignKeyConstraint(['cancelled_by_id'], ['user.id'], name=op.f('fk_appointment_cancelled_by_id_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment')),
    )
    op.create_index(op.f('ix_appointment_clinic_id'), 'appointment', ['clinic_id'])
    op.create_index(op.f('ix_appointment_participant_id'), 'appointment', ['participant_id'])
    op.create_index(op.f('ix_appointment_group_id'), 'appointment', ['group_id'])
    op.create_index('ix_appointment_enrollment_on', 'appointment', ['enrollment_id', 'on'])
    # op.add_column, not batch mode: ALTER TABLE ADD COLUMN in place on SQLite too.
    op.add_column('event', sa.Column('late', sa.Boolean(), nullable=False, server_default='0'))
    op.add_column('event', sa.Column('verification', sa.String(length=20), nullable=True))
    op.add_column('event', sa.Column('verification_note', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('event', 'verification_note')
    op.drop_column('event', 'verification')
    op.drop_column('event', 'late')
    op.drop_table('appointment')
    op.drop_table('group_member')
    op.drop_table('session_group')
