"""attendance verdicts: signals, correction note and author, resolution time; programs' answer window

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 21:00:00

Existing ``occurrences.attendance`` values (unknown|met|missed|rescheduled) are rewritten as
verdicts (unknown|held|missed|moved); ``scheduler.core.attendance.verdict_of`` reads both.
"""
from alembic import op
import sqlalchemy as sa
import adapters.storage.types

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

OLD_TO_NEW = {'met': 'held', 'rescheduled': 'moved'}


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_window_days', sa.Integer(), nullable=False, server_default='3'))
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attendance_signals', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('attendance_note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('attendance_set_by', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('attendance_resolved_at', adapters.storage.types.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_occurrences_attendance_end', ['attendance', 'end'], unique=False)
    occurrences = sa.table('occurrences', sa.column('attendance', sa.String))
    for old, new in OLD_TO_NEW.items():
        op.execute(occurrences.update().where(occurrences.c.attendance == old).values(attendance=new))


def downgrade() -> None:
    occurrences = sa.table('occurrences', sa.column('attendance', sa.String))
    for old, new in OLD_TO_NEW.items():
        op.execute(occurrences.update().where(occurrences.c.attendance == new).values(attendance=old))
    op.execute(occurrences.update().where(occurrences.c.attendance.in_(('cancelled', 'disputed')))
               .values(attendance='unknown'))
    with op.batch_alter_table('occurrences', schema=None) as batch_op:
        batch_op.drop_index('ix_occurrences_attendance_end')
        batch_op.drop_column('attendance_resolved_at')
        batch_op.drop_column('attendance_set_by')
        batch_op.drop_column('attendance_note')
        batch_op.drop_column('attendance_signals')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('attendance_window_days')
