"""API tokens scoped like dashboard users: jurisdictions (slugs; empty = all) and, for lawyer
tokens, a legal network

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('jurisdictions', sa.JSON(), nullable=False,
                                   server_default='[]'))
        batch.add_column(sa.Column('network_slug', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('network_slug')
        batch.drop_column('jurisdictions')
