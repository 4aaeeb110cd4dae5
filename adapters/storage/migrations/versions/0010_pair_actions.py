"""pairs.history (what happened to a pair, for its timeline); programs.at_risk_alerts (immediate
at-risk alerts, off by default) and programs.at_risk_alerted (the pairs alerted in this episode)

Revision ID: 0010
Revises: 0008
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('at_risk_alerts', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('at_risk_alerted', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('pairs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('history', sa.JSON(), nullable=False, server_default='[]'))


def downgrade() -> None:
    with op.batch_alter_table('pairs', schema=None) as batch_op:
        batch_op.drop_column('history')
    with op.batch_alter_table('programs', schema=None) as batch_op:
        batch_op.drop_column('at_risk_alerted')
        batch_op.drop_column('at_risk_alerts')
