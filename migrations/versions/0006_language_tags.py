"""Language tags with a script ("zh-Hant") for reporters and messages: the language replies use

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('reporters', 'messages'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('language', type_=sa.String(length=16),
                               existing_type=sa.String(length=2), existing_nullable=True)


def downgrade() -> None:
    for table in ('reporters', 'messages'):
        op.execute(sa.text(f"UPDATE {table} SET language = substr(language, 1, 2)"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('language', type_=sa.String(length=2),
                               existing_type=sa.String(length=16), existing_nullable=True)
