"""per-day PII data keys (crypto-shredding): each wrapped by HOTLINE_PII_KEY and the day's
ratchet step; the retention purge deletes expired days' rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'data_keys',
        sa.Column('period', sa.String(length=8), nullable=False),
        sa.Column('wrapped', sa.String(length=128), nullable=False),
        sa.Column('kek_id', sa.String(length=8), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('period', name=op.f('pk_data_keys')),
    )


def downgrade() -> None:
    op.drop_table('data_keys')
