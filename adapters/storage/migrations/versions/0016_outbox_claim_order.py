"""outbox: the claim index also orders by id, so a claim reads the first rows in index order and
stops (before, tens of thousands of rows due at the same minute were sorted for every claim of a
hundred)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 02:00:00
"""
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_due', 'outbox', ['status', 'due_at', 'id'])


def downgrade() -> None:
    op.drop_index('ix_outbox_due', table_name='outbox')
    op.create_index('ix_outbox_due', 'outbox', ['status', 'due_at'])
