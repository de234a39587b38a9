"""reports found by jurisdiction and time (a new incident's flood check reads the last minutes
of its jurisdiction, not its whole history): ix_reports_jurisdiction_created replaces
ix_reports_jurisdiction_id, whose lookups it serves too

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 01:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_reports_jurisdiction_created', 'reports',
                    ['jurisdiction_id', 'created_at'])
    op.drop_index('ix_reports_jurisdiction_id', table_name='reports')


def downgrade() -> None:
    op.create_index('ix_reports_jurisdiction_id', 'reports', ['jurisdiction_id'])
    op.drop_index('ix_reports_jurisdiction_created', table_name='reports')
