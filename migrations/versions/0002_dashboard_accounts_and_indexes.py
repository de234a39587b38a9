"""dashboard accounts (lawyer's responder, TOTP replay guard, forced password change) and the
indexes the board, the incident list, live updates and login rate limiting need at scale

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:24:52.043436
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action_ip_at', ['action', 'ip', 'at'], unique=False)

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index('ix_incidents_jurisdiction_last_seen', ['jurisdiction_id', 'last_seen_at'], unique=False)
        batch_op.create_index('ix_incidents_status_last_seen', ['status', 'last_seen_at'], unique=False)
        batch_op.create_index('ix_incidents_updated_at', ['updated_at'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('responder_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('responder_key')

    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index('ix_incidents_updated_at')
        batch_op.drop_index('ix_incidents_status_last_seen')
        batch_op.drop_index('ix_incidents_jurisdiction_last_seen')

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_action_ip_at')
