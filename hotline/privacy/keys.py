"""Key rotation: re-wrap the day data keys, recompute phone HMACs, and rewrite what is sealed
directly under HOTLINE_PII_KEY (v1: responders, TOTP secrets, data from before data keys).

Values under a day's data key (v2) are not rewritten: re-wrapping their key is enough, so a
rotation costs one row per day plus the few v1 values, not one write per message.

Run with the new key in HOTLINE_PII_KEY and the old one in HOTLINE_PII_OLD_KEYS, while the app
keeps serving (every process decrypts with both). HMACs come first: until a responder's is
recomputed, their texts are read as a stranger's. Every column the models declare as encrypted
(`models.encrypted_columns`) is rewritten, and timeline texts. Works in batches, each committed on
its own, so it can be stopped and run again; rows already on the current key are skipped. A value
that no key opens is counted and left as it is, never a reason to stop half-way.
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
    encrypted_columns,
)
from hotline.privacy.vault import DecryptionError, Vault

logger = logging.getLogger(__name__)
BATCH = 500



@dataclass
class RotationReport:
    """What a rotation rewrote."""

    reencrypted: int = 0
    rewrapped: int = 0  # day data keys now wrapped by the current HOTLINE_PII_KEY
    rehashed: int = 0
    merged_reporters: int = 0
    unreadable: int = 0  # values no key opens (tampered, or a key that was dropped)


def _batches(session: Session, model: Any, column: str) -> Iterator[list[Any]]:  # noqa: ANN401
    last = 0
    attr = getattr(model, column)
    size = BATCH if not getattr(model, "LARGE_VALUES", False) else 4  # photos, videos
    while True:
        rows = session.scalars(select(model).where(model.id > last, attr.is_not(None))
                               .order_by(model.id).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id


def rotate(session: Session, vault: Vault) -> RotationReport:
    """Re-key the HMACs, then re-encrypt with the current key; commits per batch."""
    report = RotationReport()
    if vault.keyring is not None:
        report.rewrapped, unreadable = vault.keyring.rewrap(session)
        report.unreadable += unreadable
    report.rehashed += _rehash_responders(session, vault)
    rehashed, merged = _rehash_reporters(session, vault)
    report.rehashed += rehashed
    report.merged_reporters += merged
    report.rehashed += _rehash_messages(session, vault)
    for model, column, context in encrypted_columns():
        for rows in _batches(session, model, column):
            for row in rows:
                fresh = _reencrypt(vault, getattr(row, column), context, report)
                if fresh is not None:
                    setattr(row, column, fresh)
            session.commit()
    for rows in _batches(session, IncidentEvent, "data"):
        for event in rows:
            context = EVENT_TEXT_CONTEXT.get(event.kind, "event.note")
            fresh = _reencrypt(vault, (event.data or {}).get("text_enc"), context, report)
            if fresh is not None:
                event.data = {**event.data, "text_enc": fresh}
        session.commit()
    log = logger.warning if report.unreadable else logger.info
    log("key rotation: %d data keys re-wrapped, %d re-encrypted, %d re-hashed, "
        "%d reporters merged, %d unreadable", report.rewrapped, report.reencrypted,
        report.rehashed, report.merged_reporters, report.unreadable)
    return report


def _reencrypt(vault: Vault, token: str | bytes | None, context: str,
               report: RotationReport) -> str | bytes | None:
    """The token (text, or sealed bytes) under the current key, or None when it needs nothing
    (or cannot be read)."""
    if not token or not vault.needs_rotation(token):
        return None
    binary = isinstance(token, bytes)
    try:
        plain = vault.open_bytes(token, context) if binary else vault.decrypt(token, context)
    except DecryptionError:
        report.unreadable += 1
        return None
    report.reencrypted += 1
    return vault.seal_bytes(plain, context) if binary else vault.encrypt(plain, context)


def _hmac_of(vault: Vault, token: str | None, context: str) -> str | None:
    """The current-key HMAC of the number in `token`, or None when no key opens it."""
    try:
        phone = vault.decrypt(token, context)
    except DecryptionError:
        return None
    return vault.phone_hmac(phone) if phone is not None else None


def _rehash_responders(session: Session, vault: Vault) -> int:
    changed = 0
    for rows in _batches(session, Responder, "phone_enc"):
        for responder in rows:
            wanted = _hmac_of(vault, responder.phone_enc, "responder")
            if wanted is not None and responder.phone_hmac != wanted:
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
            wanted = _hmac_of(vault, reporter.phone_enc, "reporter.phone")
            if wanted is None or reporter.phone_hmac == wanted:
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
    if drop.last_seen_at > keep.last_seen_at and drop.phone_enc is not None:
        # the newer contact's number is sealed under a newer day's key: it lives as long as
        # the merged row's last_seen_at
        keep.phone_enc = drop.phone_enc
    keep.last_seen_at = max(keep.last_seen_at, drop.last_seen_at)
    session.delete(drop)
    session.flush()


def _rehash_messages(session: Session, vault: Vault) -> int:
    changed = 0
    for rows in _batches(session, Message, "counterpart_enc"):
        for message in rows:
            wanted = _hmac_of(vault, message.counterpart_enc, "message.counterpart")
            if wanted is not None and message.counterpart_hmac != wanted:
                message.counterpart_hmac = wanted
                changed += 1
        session.commit()
    return changed
