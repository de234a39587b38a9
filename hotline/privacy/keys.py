"""Key rotation: rewrite every ciphertext with the current key and recompute phone HMACs.

Run with the new key in HOTLINE_PII_KEY and the old one in HOTLINE_PII_OLD_KEYS, while the app
keeps serving (every process decrypts with both). Works in batches, each committed on its own, so
it can be stopped and run again; rows already on the current key are skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.models import (
    EVENT_TEXT_CONTEXT,
    IncidentEvent,
    Message,
    Report,
    Reporter,
    Responder,
    User,
)
from hotline.privacy.vault import Vault

logger = logging.getLogger(__name__)
BATCH = 500

# (model, column attribute, encryption context)
ENCRYPTED: list[tuple[Any, str, str]] = [
    (Reporter, "phone_enc", "reporter.phone"),
    (Responder, "phone_enc", "responder"),
    (Message, "counterpart_enc", "message.counterpart"),
    (Message, "body_enc", "message.body"),
    (Report, "text_enc", "report.text"),
    (User, "totp_secret_enc", "user.totp"),
]


@dataclass
class RotationReport:
    """What a rotation rewrote."""

    reencrypted: int = 0
    rehashed: int = 0
    merged_reporters: int = 0


def _batches(session: Session, model: Any, column: str) -> Iterator[list[Any]]:  # noqa: ANN401
    last = 0
    attr = getattr(model, column)
    while True:
        rows = session.scalars(select(model).where(model.id > last, attr.is_not(None))
                               .order_by(model.id).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def rotate(session: Session, vault: Vault) -> RotationReport:
    """Re-encrypt with the current key and re-key the HMACs; commits per batch."""
    report = RotationReport()
    for model, column, context in ENCRYPTED:
        for rows in _batches(session, model, column):
            for row in rows:
                token = getattr(row, column)
                if vault.needs_rotation(token):
                    setattr(row, column, vault.encrypt(vault.decrypt(token, context), context))
                    report.reencrypted += 1
            session.commit()
    for rows in _batches(session, IncidentEvent, "data"):
        for event in rows:
            token = (event.data or {}).get("text_enc")
            if token and vault.needs_rotation(token):
                context = EVENT_TEXT_CONTEXT.get(event.kind, "event.note")
                event.data = {**event.data,
                              "text_enc": vault.encrypt(vault.decrypt(token, context), context)}
                report.reencrypted += 1
        session.commit()
    report.rehashed += _rehash_responders(session, vault)
    rehashed, merged = _rehash_reporters(session, vault)
    report.rehashed += rehashed
    report.merged_reporters += merged
    report.rehashed += _rehash_messages(session, vault)
    logger.info("key rotation: %d re-encrypted, %d re-hashed, %d reporters merged",
                report.reencrypted, report.rehashed, report.merged_reporters)
    return report


def _rehash_responders(session: Session, vault: Vault) -> int:
    changed = 0
    for rows in _batches(session, Responder, "phone_enc"):
        for responder in rows:
            wanted = vault.phone_hmac(vault.decrypt(responder.phone_enc, "responder"))
            if responder.phone_hmac != wanted:
                responder.phone_hmac = wanted
                changed += 1
        session.commit()
    return changed


def _rehash_reporters(session: Session, vault: Vault) -> tuple[int, int]:
    """New HMACs for reporters whose number is still held. A reporter who wrote again during the
    rotation already has a row under the new HMAC: the two are merged into the older one."""
    changed = merged = 0
    for rows in _batches(session, Reporter, "phone_enc"):
        for reporter in rows:
            wanted = vault.phone_hmac(vault.decrypt(reporter.phone_enc, "reporter.phone"))
            if reporter.phone_hmac == wanted:
                continue
            twin = session.scalar(select(Reporter).where(Reporter.phone_hmac == wanted))
            if twin is not None:
                _merge_reporters(session, keep=reporter, drop=twin)
                merged += 1
            reporter.phone_hmac = wanted
            changed += 1
        session.commit()
    return changed, merged


def _merge_reporters(session: Session, keep: Reporter, drop: Reporter) -> None:
    for model in (Message, Report):
        session.execute(update(model).where(model.reporter_id == drop.id)
                        .values(reporter_id=keep.id))
    keep.confirmed_count += drop.confirmed_count
    keep.false_alarm_count += drop.false_alarm_count
    keep.opted_out = keep.opted_out or drop.opted_out
    keep.blocked = keep.blocked or drop.blocked
    keep.consent_contact = keep.consent_contact or drop.consent_contact
    keep.language = drop.language or keep.language
    keep.last_seen_at = max(keep.last_seen_at, drop.last_seen_at)
    session.delete(drop)
    session.flush()


def _rehash_messages(session: Session, vault: Vault) -> int:
    changed = 0
    for rows in _batches(session, Message, "counterpart_enc"):
        for message in rows:
            wanted = vault.phone_hmac(vault.decrypt(message.counterpart_enc,
                                                    "message.counterpart"))
            if message.counterpart_hmac != wanted:
                message.counterpart_hmac = wanted
                changed += 1
        session.commit()
    return changed
