"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25 20:02:55.350953
"""
from alembic import op
import sqlalchemy as sa
import adapters.storage.types


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('outbox',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('subject_id', sa.String(length=32), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('locked_until', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('due_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('enqueued_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('done_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbox_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'due_at'], unique=False)

    op.create_table('people',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=True),
    sa.Column('working_hours', sa.JSON(), nullable=True),
    sa.Column('preferences', sa.JSON(), nullable=True),
    sa.Column('is_admin', sa.Boolean(), nullable=False),
    sa.Column('onboarded_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('email', name=op.f('uq_people_email'))
    )
    op.create_table('programs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('cadence', sa.String(length=16), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('session_count', sa.Integer(), nullable=False),
    sa.Column('horizon_weeks', sa.Integer(), nullable=False),
    sa.Column('mentor_max_sessions_per_week', sa.Integer(), nullable=True),
    sa.Column('reminder_offsets_min', sa.JSON(), nullable=False),
    sa.Column('repair_policy', sa.String(length=16), nullable=False),
    sa.Column('allow_pair_cadence', sa.Boolean(), nullable=False),
    sa.Column('is_sandbox', sa.Boolean(), nullable=False),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs'))
    )
    op.create_table('agenda_templates',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=32), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_agenda_templates_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agenda_templates'))
    )
    op.create_table('calendar_connections',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('provider', sa.String(length=16), nullable=False),
    sa.Column('account_email', sa.String(length=320), nullable=False),
    sa.Column('calendar_id', sa.String(length=500), nullable=False),
    sa.Column('token_blob', sa.LargeBinary(), nullable=True),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('sync_cursor', sa.Text(), nullable=True),
    sa.Column('watch', sa.JSON(), nullable=True),
    sa.Column('last_checked_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_calendar_connections_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_connections'))
    )
    with op.batch_alter_table('calendar_connections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_calendar_connections_person_id'), ['person_id'], unique=False)

    op.create_table('memberships',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_memberships_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_memberships_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memberships')),
    sa.UniqueConstraint('program_id', 'person_id', 'role', name=op.f('uq_memberships_program_id'))
    )
    op.create_table('pairs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('program_id', sa.String(length=32), nullable=False),
    sa.Column('mentor_id', sa.String(length=32), nullable=False),
    sa.Column('mentee_id', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('cadence', sa.String(length=16), nullable=True),
    sa.Column('duration_min', sa.Integer(), nullable=True),
    sa.Column('organizer_role', sa.String(length=8), nullable=False),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mentee_id'], ['people.id'], name=op.f('fk_pairs_mentee_id_people')),
    sa.ForeignKeyConstraint(['mentor_id'], ['people.id'], name=op.f('fk_pairs_mentor_id_people')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_pairs_program_id_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pairs')),
    sa.UniqueConstraint('program_id', 'mentor_id', 'mentee_id', name=op.f('uq_pairs_program_id'))
    )
    with op.batch_alter_table('pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pairs_program_id'), ['program_id'], unique=False)

    op.create_table('goals',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('pair_id', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_goals_pair_id_pairs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_goals'))
    )
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_goals_pair_id'), ['pair_id'], unique=False)

    op.create_table('series',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('pair_id', sa.String(length=32), nullable=False),
    sa.Column('rrule', sa.String(length=200), nullable=False),
    sa.Column('dtstart_local', sa.String(length=19), nullable=False),
    sa.Column('tz', sa.String(length=64), nullable=False),
    sa.Column('duration_min', sa.Integer(), nullable=False),
    sa.Column('organizer_connection_id', sa.String(length=32), nullable=True),
    sa.Column('provider_event_id', sa.String(length=1024), nullable=True),
    sa.Column('video_url', sa.String(length=1000), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organizer_connection_id'], ['calendar_connections.id'], name=op.f('fk_series_organizer_connection_id_calendar_connections'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_series_pair_id_pairs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_series')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_series_idempotency_key'))
    )
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_series_pair_id'), ['pair_id'], unique=False)

    op.create_table('occurrences',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('series_id', sa.String(length=32), nullable=False),
    sa.Column('original_start', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('start', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('end', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attendance', sa.String(length=16), nullable=False),
    sa.Column('agenda', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_occurrences_series_id_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_occurrences')),
    sa.UniqueConstraint('series_id', 'original_start', name=op.f('uq_occurrences_series_id'))
    )
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_occurrences_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_occurrences_start', ['start'], unique=False)

    op.create_table('feedback',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('occurrence_id', sa.String(length=32), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('answer', sa.String(length=16), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'], name=op.f('fk_feedback_occurrence_id_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_feedback_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback')),
    sa.UniqueConstraint('occurrence_id', 'person_id', name=op.f('uq_feedback_occurrence_id'))
    )
    op.create_table('notifications',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('person_id', sa.String(length=32), nullable=False),
    sa.Column('pair_id', sa.String(length=32), nullable=True),
    sa.Column('occurrence_id', sa.String(length=32), nullable=True),
    sa.Column('due_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('sent_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['occurrence_id'], ['occurrences.id'], name=op.f('fk_notifications_occurrence_id_occurrences'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_notifications_pair_id_pairs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_notifications_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_notifications_idempotency_key'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_due', ['status', 'due_at'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_due')

    op.drop_table('notifications')
    op.drop_table('feedback')
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_occurrences_start')
        batch_op.drop_index(batch_op.f('ix_occurrences_series_id'))

    op.drop_table('occurrences')
    with op.batch_alter_table('series', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_series_pair_id'))

    op.drop_table('series')
    with op.batch_alter_table('goals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_goals_pair_id'))

    op.drop_table('goals')
    with op.batch_alter_table('pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pairs_program_id'))

    op.drop_table('pairs')
    op.drop_table('memberships')
    with op.batch_alter_table('calendar_connections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_calendar_connections_person_id'))

    op.drop_table('calendar_connections')
    op.drop_table('agenda_templates')
    op.drop_table('programs')
    op.drop_table('people')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')

