"""attendance verdicts: verdict, signals, correction note and author, resolution time; programs' answer window

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:00:00

``occurrences.attendance`` keeps its column and its meaning (what the follow-up answers said:
unknown|met|missed|rescheduled). The new ``attendance_verdict`` starts from it, mapped onto the
verdicts (met -> held, rescheduled -> moved); ``scheduler.core.attendance.verdict_of`` reads both
vocabularies.
"""
from alembic import op
import sqlalchemy as sa
import adapters.storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_TO_VERDICT = {'met': 'held', 'missed': 'missed', 'rescheduled': 'moved'}


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_window_days', sa.Integer(), nullable=False, server_default='3'))
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_verdict', sa.String(length=16), nullable=False,
                                      server_default='unknown'))
        batch_op.add_column(sa.Column('attendance_signals', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('attendance_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attendance_set_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('attendance_resolved_at', adapters.storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_occurrences_attendance_verdict', ['attendance_verdict', 'end'], unique=False)
    occurrences = sa.table('occurrences', sa.column('attendance', sa.String), sa.column('attendance_verdict', sa.String))
    for old, verdict in OLD_TO_VERDICT.items():
        op.execute(occurrences.update().where(occurrences.c.attendance == old).values(attendance_verdict=verdict))


def downgrade() -> None:
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_occurrences_attendance_verdict')
        batch_op.drop_column('attendance_resolved_at')
        batch_op.drop_column('attendance_set_by')
        batch_op.drop_column('attendance_note')
        batch_op.drop_column('attendance_signals')
        batch_op.drop_column('attendance_verdict')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('attendance_window_days')
