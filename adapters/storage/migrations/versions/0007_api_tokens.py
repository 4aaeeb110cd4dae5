"""api_tokens: bearer tokens of the JSON API (hash only), with their per-minute request window

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

import adapters.storage.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('program_id', sa.String(length=32), nullable=True),
        sa.Column('created_by', sa.String(length=32), nullable=True),
        sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('window_start', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('window_count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_api_tokens_created_by_people'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_api_tokens_program_id_programs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash')),
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_program_id'), ['program_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_program_id'))
    op.drop_table('api_tokens')
