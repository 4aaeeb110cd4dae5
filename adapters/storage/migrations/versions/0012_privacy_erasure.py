"""people.erasure_requested_at and people.erased_at: a person's data erased on request

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

import adapters.storage.types

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erasure_requested_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erased_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
        batch_op.drop_column('erasure_requested_at')
