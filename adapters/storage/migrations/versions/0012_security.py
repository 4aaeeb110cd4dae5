"""memberships.consent: someone already in Tandem accepts a new program first (issue 15)

Revision ID: 0012
Revises: 0006
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

import adapters.storage.types

revision = '0012'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=16), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('consent_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent')
