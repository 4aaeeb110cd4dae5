"""memberships.consent (someone already in Tandem accepts a new program first) and web_sessions
(server-side sessions: sign out ends them, sign out everywhere) (issue 15)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa

import adapters.storage.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consent', sa.String(length=16), nullable=False, server_default='accepted'))
        batch_op.add_column(sa.Column('consent_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True))
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.String(length=64), nullable=False),
        sa.Column('person_id', sa.String(length=32), nullable=False),
        sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['person_id'], ['people.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_person_id'), ['person_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_person_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
    op.drop_table('web_sessions')
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('consent_at')
        batch_op.drop_column('consent')
