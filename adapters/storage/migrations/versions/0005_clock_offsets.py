"""clock_offsets: the sandbox clock's offset from the real one (one row, "sandbox"; app.demo only)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 21:45:00
"""
from alembic import op
import sqlalchemy as sa
import adapters.storage.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'clock_offsets',
        sa.Column('name', sa.String(length=16), nullable=False),
        sa.Column('offset_seconds', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_clock_offsets')),
    )


def downgrade() -> None:
    op.drop_table('clock_offsets')
