"""Language tags with a script ("zh-Hant") for reporters and messages (the language replies
use); voice_transcripts, a call's real-time transcription in the caller's language until its
recording is stored

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from hotline.models.base import UTCDateTime

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ('reporters', 'messages'):
        with op.batch_alter_table(table) as batch:
            batch.alter_column('language', type_=sa.String(length=16),
                               existing_type=sa.String(length=2), existing_nullable=True)
    op.create_table(
        'voice_transcripts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_sid', sa.String(length=34), nullable=False),
        sa.Column('sequence', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('text_enc', sa.Text(), nullable=True),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('call_sid', 'sequence'),
    )
    op.create_index('ix_voice_transcripts_call_sid', 'voice_transcripts', ['call_sid'])


def downgrade() -> None:
    op.drop_index('ix_voice_transcripts_call_sid', table_name='voice_transcripts')
    op.drop_table('voice_transcripts')
    for table in ('reporters', 'messages'):
        op.execute(sa.text(f"UPDATE {table} SET language = substr(language, 1, 2)"))
        with op.batch_alter_table(table) as batch:
            batch.alter_column('language', type_=sa.String(length=2),
                               existing_type=sa.String(length=16), existing_nullable=True)
