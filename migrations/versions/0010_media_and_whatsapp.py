"""media kept as evidence (fetched from Twilio, sealed, hashed); responders' preferred channel

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'media_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('message_sid', sa.String(length=34), nullable=False),
        sa.Column('media_sid', sa.String(length=34), nullable=True),
        sa.Column('declared_type', sa.String(length=100), nullable=False),
        sa.Column('content_type', sa.String(length=40), nullable=True),
        sa.Column('kind', sa.String(length=8), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('size', sa.Integer(), nullable=True),
        sa.Column('sha256', sa.String(length=64), nullable=True),
        sa.Column('data_enc', sa.LargeBinary(), nullable=True),
        sa.Column('display_enc', sa.LargeBinary(), nullable=True),
        sa.Column('thumb_enc', sa.LargeBinary(), nullable=True),
        sa.Column('meta_enc', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('claimed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('fetched_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('deleted_at_twilio', UTCDateTime(timezone=True), nullable=True),
        sa.Column('purged_at', UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'position'),
    )
    op.create_index('ix_media_items_message_id', 'media_items', ['message_id'])
    with op.batch_alter_table('responders') as batch:
        batch.add_column(sa.Column('channel', sa.String(length=8), nullable=False,
                                   server_default='sms'))


def downgrade() -> None:
    with op.batch_alter_table('responders') as batch:
        batch.drop_column('channel')
    op.drop_index('ix_media_items_message_id', table_name='media_items')
    op.drop_table('media_items')
