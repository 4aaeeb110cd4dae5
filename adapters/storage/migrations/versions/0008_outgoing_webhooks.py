"""outgoing webhooks: webhook_endpoints, webhook_deliveries, pair_risk_marks

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 23:00:00
"""
from alembic import op
import sqlalchemy as sa
import adapters.storage.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('program_id', sa.String(length=32), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('secret_blob', sa.LargeBinary(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('created_by', sa.String(length=32), nullable=True),
        sa.Column('last_status', sa.String(length=200), nullable=True),
        sa.Column('last_attempt_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_delivered_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_webhook_endpoints_program_id_programs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_webhook_endpoints_created_by_people'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_program_id'), ['program_id'], unique=False)
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('endpoint_id', sa.String(length=32), nullable=False),
        sa.Column('program_id', sa.String(length=32), nullable=False),
        sa.Column('pair_id', sa.String(length=32), nullable=True),
        sa.Column('event_id', sa.String(length=40), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.JSON(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_status', sa.String(length=200), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('delivered_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'],
                                name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_webhook_deliveries_program_id_programs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_webhook_deliveries_pair_id_pairs'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        sa.UniqueConstraint('endpoint_id', 'event_id', name=op.f('uq_webhook_deliveries_endpoint_id')),
    )
    op.create_table(
        'pair_risk_marks',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('pair_id', sa.String(length=32), nullable=False),
        sa.Column('program_id', sa.String(length=32), nullable=False),
        sa.Column('since', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('rules', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_pair_risk_marks_pair_id_pairs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_pair_risk_marks_program_id_programs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pair_risk_marks')),
        sa.UniqueConstraint('pair_id', name=op.f('uq_pair_risk_marks_pair_id')),
    )
    with op.batch_alter_table('pair_risk_marks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pair_risk_marks_program_id'), ['program_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pair_risk_marks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pair_risk_marks_program_id'))
    op.drop_table('pair_risk_marks')
    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_program_id'))
    op.drop_table('webhook_endpoints')
