"""dispatch operations: overrides made on the on-call page, responders' OFF by text, the
incident a message is about when no report or alert says so, and each user's dashboard language

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'schedule_overrides',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('network_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('schedule', sa.String(length=100), nullable=False),
        sa.Column('responder', sa.String(length=64), nullable=False),
        sa.Column('start_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('end_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['network_id'], ['legal_networks.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_schedule_overrides_network_end', 'schedule_overrides',
                    ['network_id', 'end_at'])
    with op.batch_alter_table('responders') as batch:
        batch.add_column(sa.Column('away_until', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('ui_language', sa.String(length=8), nullable=True))
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('incident_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_messages_incident_id', 'incidents', ['incident_id'], ['id'])
        batch.create_index('ix_messages_incident_id', ['incident_id'])


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_index('ix_messages_incident_id')
        batch.drop_constraint('fk_messages_incident_id', type_='foreignkey')
        batch.drop_column('incident_id')
    with op.batch_alter_table('users') as batch:
        batch.drop_column('ui_language')
    with op.batch_alter_table('responders') as batch:
        batch.drop_column('away_until')
    op.drop_index('ix_schedule_overrides_network_end', table_name='schedule_overrides')
    op.drop_table('schedule_overrides')
