"""programs.sharing: how a full mentor's weekly cap is shared (fair or first_come, issue 12)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sharing', sa.String(length=16), nullable=False, server_default='fair'))


def downgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('sharing')
