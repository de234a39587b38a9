"""Calls answered live: call rosters (volunteers on shifts), calls and the volunteers' legs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 10:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'call_rosters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('network_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('serves', sa.JSON(), nullable=False),
        sa.Column('ring_seconds', sa.Integer(), nullable=False),
        sa.Column('call_limit', sa.Integer(), nullable=False),
        sa.Column('call_limit_minutes', sa.Integer(), nullable=False),
        sa.Column('shifts', sa.JSON(), nullable=False),
        sa.Column('overrides', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['legal_networks.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('network_id', 'name'),
    )
    op.create_table(
        'calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=34), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=True),
        sa.Column('jurisdiction_id', sa.Integer(), nullable=True),
        sa.Column('roster_id', sa.Integer(), nullable=True),
        sa.Column('hotline_number', sa.String(length=16), nullable=True),
        sa.Column('language', sa.String(length=16), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('report_id', sa.Integer(), nullable=True),
        sa.Column('flags', sa.JSON(), nullable=False),
        sa.Column('started_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('ended_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('duration', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['reporter_id'], ['reporters.id']),
        sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id']),
        sa.ForeignKeyConstraint(['roster_id'], ['call_rosters.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['answered_by_id'], ['responders.id']),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid'),
    )
    op.create_index('ix_calls_reporter_id', 'calls', ['reporter_id'])
    op.create_index('ix_calls_state_started', 'calls', ['state', 'started_at'])
    op.create_table(
        'call_legs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('responder_id', sa.Integer(), nullable=False),
        sa.Column('leg_sid', sa.String(length=34), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('accepted', sa.Boolean(), nullable=False),
        sa.Column('duration', sa.Integer(), nullable=True),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['calls.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['responder_id'], ['responders.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('leg_sid'),
    )
    op.create_index('ix_call_legs_call_id', 'call_legs', ['call_id'])


def downgrade() -> None:
    op.drop_index('ix_call_legs_call_id', table_name='call_legs')
    op.drop_table('call_legs')
    op.drop_index('ix_calls_state_started', table_name='calls')
    op.drop_index('ix_calls_reporter_id', table_name='calls')
    op.drop_table('calls')
    op.drop_table('call_rosters')
