"""pair_summaries: each pair's attendance facts kept for the dashboard's pairs table (filtered,
sorted and paged in SQL); chart_counts: the dashboard charts' counts kept per program; indexes on
pairs (program_id, status) for the state filter and counts, and on occurrences (verdict, start)
for reports of one verdict over a date range

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 23:30:00
"""
from alembic import op
import sqlalchemy as sa

import adapters.storage.types

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'pair_summaries',
        sa.Column('pair_id', sa.String(length=32), nullable=False),
        sa.Column('program_id', sa.String(length=32), nullable=False),
        sa.Column('first_start', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_held', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('next_start', adapters.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column('misses_in_a_row', sa.Integer(), nullable=False),
        sa.Column('unanswered_in_a_row', sa.Integer(), nullable=False),
        sa.Column('computed_at', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['pair_id'], ['pairs.id'], name=op.f('fk_pair_summaries_pair_id_pairs'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_pair_summaries_program_id_programs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('pair_id', name=op.f('pk_pair_summaries')),
    )
    op.create_index('ix_pair_summaries_program_next', 'pair_summaries', ['program_id', 'next_start'])
    op.create_table(
        'chart_counts',
        sa.Column('program_id', sa.String(length=32), nullable=False),
        sa.Column('key', sa.String(length=400), nullable=False),
        sa.Column('until', adapters.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_chart_counts_program_id_programs'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('program_id', 'key', name=op.f('pk_chart_counts')),
    )
    op.create_index('ix_pairs_program_status', 'pairs', ['program_id', 'status'])
    op.create_index('ix_occurrences_verdict_start', 'occurrences', ['attendance_verdict', 'start'])


def downgrade() -> None:
    op.drop_index('ix_occurrences_verdict_start', table_name='occurrences')
    op.drop_index('ix_pairs_program_status', table_name='pairs')
    op.drop_table('chart_counts')
    op.drop_index('ix_pair_summaries_program_next', table_name='pair_summaries')
    op.drop_table('pair_summaries')
