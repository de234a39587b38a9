"""incident state out of `incidents.flags` into typed columns, one owner each: places
(clustering), verify_round (verification), reputation_applied (credibility), relay_responder_id
and relay_at (the relayed conversation); `flags` keeps only the markers dispatchers see;
reports found by state (the board's "awaiting location" count)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:40:00
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

MOVED = ("places", "verify_round", "reputation_applied", "relay")


def _flags(raw: object) -> dict:
    if isinstance(raw, str):
        return json.loads(raw)
    return dict(raw or {})


def _incidents() -> sa.TableClause:
    return sa.table('incidents', sa.column('id', sa.Integer), sa.column('flags', sa.JSON),
                    sa.column('places', sa.JSON), sa.column('verify_round', sa.Integer),
                    sa.column('reputation_applied', sa.Boolean),
                    sa.column('relay_responder_id', sa.Integer),
                    sa.column('relay_at', sa.DateTime(timezone=True)))


def upgrade() -> None:
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('places', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('verify_round', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reputation_applied', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('relay_responder_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('relay_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_incidents_relay_responder_id_responders'),
                                    'responders', ['relay_responder_id'], ['id'])
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_state_jurisdiction', ['state', 'jurisdiction_id'],
                              unique=False)
    incidents = _incidents()
    bind = op.get_bind()
    rows = bind.execute(sa.select(incidents.c.id, incidents.c.flags)).all()
    for row in rows:
        flags = _flags(row.flags)
        if not any(key in flags for key in MOVED):
            continue
        relay = flags.pop("relay", None) or {}
        values = {key: flags.pop(key, None)
                  for key in ("places", "verify_round", "reputation_applied")}
        at = datetime.fromisoformat(relay["at"]).astimezone(UTC) if relay.get("at") else None
        if at is not None and bind.dialect.name == "sqlite":
            at = at.replace(tzinfo=None)  # as the models' UTC column stores it there
        bind.execute(incidents.update().where(incidents.c.id == row.id).values(
            flags=flags, relay_responder_id=relay.get("responder_id"), relay_at=at, **values))


def downgrade() -> None:
    incidents = _incidents()
    bind = op.get_bind()
    for row in bind.execute(sa.select(incidents)).all():
        flags = _flags(row.flags)
        for key in ("places", "verify_round", "reputation_applied"):
            if getattr(row, key) is not None:
                flags[key] = getattr(row, key)
        if row.relay_responder_id is not None:
            at = row.relay_at
            flags["relay"] = {"responder_id": row.relay_responder_id,
                              "at": at.isoformat() if isinstance(at, datetime) else at}
        bind.execute(incidents.update().where(incidents.c.id == row.id).values(flags=flags))
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_state_jurisdiction')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_incidents_relay_responder_id_responders'),
                                 type_='foreignkey')
        batch_op.drop_column('relay_at')
        batch_op.drop_column('relay_responder_id')
        batch_op.drop_column('reputation_applied')
        batch_op.drop_column('verify_round')
        batch_op.drop_column('places')
