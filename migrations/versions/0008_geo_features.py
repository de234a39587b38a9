"""geo_features: places imported from OpenStreetMap per jurisdiction (streets, corners,
addresses, named places, neighbourhoods)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'geo_features',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('label', sa.String(length=300), nullable=False),
        sa.Column('lat', sa.Double(), nullable=False),
        sa.Column('lon', sa.Double(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['jurisdiction_id'], ['jurisdictions.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_geo_features_jurisdiction_kind', 'geo_features',
                    ['jurisdiction_id', 'kind'])
    op.create_index('ix_geo_features_kind_key', 'geo_features', ['kind', 'key'])


def downgrade() -> None:
    op.drop_index('ix_geo_features_kind_key', table_name='geo_features')
    op.drop_index('ix_geo_features_jurisdiction_kind', table_name='geo_features')
    op.drop_table('geo_features')
