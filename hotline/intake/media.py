"""The media of inbound MMS and WhatsApp messages, kept as evidence.

After the webhook has committed a message, its triage job (before anything else) fetches each
`MediaUrlN` from Twilio with the account's credentials, checks the bytes against the allow-list
and `HOTLINE_MEDIA_MAX_BYTES`, seals them under the day's data key (like bodies, so retention
and the destruction of a day's key remove them), records their SHA-256 for the chain of custody,
keeps an EXIF-free copy and a thumbnail of a photo for people to look at, and then deletes the
media at Twilio. What is refused is recorded (type, size, reason) and deleted at Twilio too.
A fetch that fails for a passing reason is tried again by the `fetch_media` job; a deletion
that fails, by the same job and by the retention purge.

`collect` commits between steps: no transaction stays open while Twilio is asked.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.settings import Settings
from hotline.core.twilio_client import MediaUnavailable, delete_media, fetch_media, media_sids
from hotline.jobs import outbox
from hotline.models import MediaItem, Message, Report, utcnow
from hotline.privacy.vault import DecryptionError, Vault
from hotline.triage import photos

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12  # backoff 30 s, 1 min, ... then hourly: about 5 hours of a Twilio outage
FETCH_DEADLINE = 90.0  # seconds one download may take in all (a trickle is given up, retried)
_DECLARED = re.compile(r"[^A-Za-z0-9.+/;= _-]")  # a content type as stored: no NUL, no markup
BUDGET_SECONDS = 20.0  # what the triage job spends fetching before it triages anyway
STALE_PHOTO = timedelta(hours=24)  # a photo taken longer ago says nothing of where it is now
CLAIM_LAPSES = timedelta(minutes=3)  # longer than any fetch (HOTLINE_TWILIO_TIMEOUT <= 120 s)


def reachable(settings: Settings) -> bool:
    """Whether there is a Twilio (or a stand-in of it) to fetch from: never in the embedded
    demo without one."""
    return bool(settings.twilio_api_base_url) or not settings.embedded


def to_collect(message: Message) -> bool:
    """Whether a message has media still to fetch (or never looked at): an MMS or WhatsApp
    message's, never a call's recording."""
    return message.channel != "voice" and any(
        isinstance(ref, dict) and ("url" in ref or ref.get("status") == "pending")
        for ref in message.media or [])


def register(session: Session, message: Message) -> list[MediaItem]:
    """The media rows of a message, made from its `media` references the first time (flushes;
    `collect` then points the references at the rows, so no Twilio URL is kept). A URL that
    is not this account's Twilio media is recorded as refused, never fetched."""
    existing = {item.position: item for item in session.scalars(
        select(MediaItem).where(MediaItem.message_id == message.id))}
    settings: Settings = current_app.config["SETTINGS"]
    for position, ref in enumerate(message.media or []):
        if position in existing or not isinstance(ref, dict) or "url" not in ref:
            continue
        sids = media_sids(settings, str(ref.get("url") or ""))
        item = MediaItem(message_id=message.id, position=position,
                         message_sid=sids[0] if sids else message.twilio_sid[:34],
                         media_sid=sids[1] if sids else None,
                         declared_type=_DECLARED.sub("", str(ref.get("content_type") or ""))
                         [:100],
                         status="pending" if sids else "refused",
                         reason=None if sids else "not a Twilio media URL of this account")
        session.add(item)
        existing[position] = item
    session.flush()
    return sorted(existing.values(), key=lambda i: i.position)


def references(item: MediaItem) -> dict[str, Any]:
    """What a message and its report keep of a media item: the row, never Twilio's URL."""
    return {"media_id": item.id, "content_type": item.content_type or item.declared_type,
            "kind": item.kind, "status": item.status}


@dataclass
class _Fetched:
    content_type: str = ""
    data: bytes = b""
    problem: MediaUnavailable | None = None


def collect(session: Session, message_id: int, budget: float = BUDGET_SECONDS) -> None:
    """Fetch, check, seal and delete at Twilio every pending media item of a message. Commits
    (before each request to Twilio and after each result); what is left when `budget`
    seconds are spent, or failed for a passing reason, is handed to the `fetch_media` job."""
    settings: Settings = current_app.config["SETTINGS"]
    vault: Vault = current_app.extensions["hotline_vault"]
    message = session.get(Message, message_id)
    if message is None or not message.media or message.channel == "voice":
        return  # a call's recording is Twilio's Recording, fetched when played
    items = register(session, message)
    session.commit()
    started = time.monotonic()
    retry = False
    for item in items:
        if item.status == "pending":
            if time.monotonic() - started > budget or not reachable(settings):
                retry = retry or reachable(settings)
                continue
            if not _claim(session, item):
                retry = True  # another job holds it: look again once its claim lapses
                continue
            try:
                retry = _record(session, vault, settings, item, _fetch(settings, item)) or retry
            except Exception as exc:  # noqa: BLE001 - never lose the item to a surprise
                session.rollback()
                session.refresh(item)
                item.reason, item.claimed_at = f"attempt {item.attempts}: " \
                    f"{type(exc).__name__}", None
                logger.exception("media %s of message %s: unexpected error; tried again later",
                                 item.id, item.message_id)
                retry = True
            session.commit()
        if item.status in ("stored", "refused") and item.deleted_at_twilio is None and \
                item.media_sid:
            retry = not _delete(session, settings, item) or retry
    message = session.get(Message, message_id)
    fresh = {ref["media_id"]: ref for ref in (references(item) for item in session.scalars(
        select(MediaItem).where(MediaItem.message_id == message_id)
        .order_by(MediaItem.position)))}
    message.media = list(fresh.values())
    report = session.get(Report, message.report_id) if message.report_id else None
    if report is not None and report.media:  # fetched after its report was made
        report.media = [fresh.get(ref.get("media_id"), ref) if isinstance(ref, dict) else ref
                        for ref in report.media]
    if retry:
        attempts = max(item.attempts for item in items)
        run_at = utcnow() + timedelta(seconds=min(3600, 15 * 2 ** attempts))
        # one per run (two runs at once may both ask: the claims keep it to one fetch)
        outbox.defer(session, "fetch_media", message_id, run_at=run_at)
    session.commit()


def _claim(session: Session, item: MediaItem) -> bool:
    """Take the item for one attempt, unless another job holds it (its claim lapses after
    CLAIM_LAPSES, so a job killed mid-fetch leaves it to the next). Commits, so nothing is
    held while Twilio answers."""
    table = MediaItem.__table__
    now = utcnow()
    claimed = session.execute(table.update().where(
        table.c.id == item.id, table.c.status == "pending",
        (table.c.claimed_at.is_(None)) | (table.c.claimed_at < now - CLAIM_LAPSES))
        .values(attempts=table.c.attempts + 1, claimed_at=now)).rowcount == 1
    session.commit()
    session.refresh(item)  # the session keeps objects across commits: read the claim back
    return claimed


def _fetch(settings: Settings, item: MediaItem) -> _Fetched:
    try:
        content_type, data = fetch_media(settings, item.message_sid, item.media_sid or "",
                                         settings.media_max_bytes, FETCH_DEADLINE)
    except MediaUnavailable as exc:
        return _Fetched(problem=exc)
    return _Fetched(content_type, data)


def _record(session: Session, vault: Vault, settings: Settings, item: MediaItem,
            fetched: _Fetched) -> bool:
    """Store what was fetched, or why not (flushes); True when it must be tried again."""
    now = utcnow()
    if fetched.problem is not None:
        reason = str(fetched.problem)
        if reason.startswith("too large"):
            item.status, item.reason = "refused", \
                f"{reason} (the maximum is {settings.media_max_bytes} bytes)"
        elif fetched.problem.final or item.attempts >= MAX_ATTEMPTS:
            item.status, item.reason = "failed", f"Twilio did not give it: {reason}"
        else:
            item.reason, item.claimed_at = f"attempt {item.attempts}: {reason}", None
            logger.warning("media %s of message %s not fetched yet (%s)", item.id,
                           item.message_id, reason)
            return True
        logger.warning("media %s of message %s %s (%s)", item.id, item.message_id,
                       item.status, reason)
        return False
    data = fetched.data
    item.size, item.sha256, item.fetched_at = len(data), hashlib.sha256(data).hexdigest(), now
    try:
        content_type, kind = photos.check(data, fetched.content_type or item.declared_type)
    except photos.RefusedMedia as exc:
        item.status, item.reason = "refused", str(exc)[:200]
        logger.warning("media %s of message %s refused (%s)", item.id, item.message_id,
                       item.reason)
        return False
    display = thumb = None
    meta: dict[str, Any] = {}
    problem = None
    if kind == "image":
        try:
            meta = photos.facts(data).public()
            display, meta["display_type"] = photos.without_metadata(data)
            thumb = photos.thumbnail(data)
        except photos.RefusedMedia as exc:
            # a damaged photo is still evidence: kept as received, with no copy to show
            display = thumb = None
            problem = f"kept as received, no preview: {exc}"[:200]
    item.content_type, item.kind, item.status, item.reason = content_type, kind, "stored", problem
    item.data_enc = vault.seal_bytes(data, "media.data")
    item.display_enc = vault.seal_bytes(display, "media.data") if display else None
    item.thumb_enc = vault.seal_bytes(thumb, "media.data") if thumb else None
    item.meta_enc = vault.encrypt(json.dumps(meta), "media.meta") if meta else None
    logger.info("media %s of message %s stored (%s, %d bytes)", item.id, item.message_id,
                content_type, len(data))
    return False


def _delete(session: Session, settings: Settings, item: MediaItem) -> bool:
    """Delete the item at Twilio; True once Twilio has none. Commits the outcome."""
    item_id = item.id
    message_sid, media_sid = item.message_sid, item.media_sid or ""
    session.commit()
    deleted = delete_media(settings, message_sid, media_sid)
    item = session.get(MediaItem, item_id)
    if deleted:
        item.deleted_at_twilio = utcnow()
    session.commit()
    return deleted


def delete_leftovers(session: Session, settings: Settings, limit: int = 500) -> int:
    """Delete at Twilio whatever media Hotline is done with but Twilio still holds (a
    deletion that failed, an item purged); the daily maintenance job runs it. An item Twilio
    never gave is left there (it may be the only copy) until retention deletes its message
    at Twilio.
    Returns how many were deleted."""
    rows = session.scalars(select(MediaItem).where(
        MediaItem.deleted_at_twilio.is_(None), MediaItem.media_sid.is_not(None),
        MediaItem.status.in_(("stored", "refused", "purged")))
        .order_by(MediaItem.id).limit(limit)).all()
    return sum(1 for item in rows if _delete(session, settings, item))


@dataclass(frozen=True)
class PhotoPoint:
    """Where a message's photo was taken (its EXIF GPS)."""

    lat: float
    lon: float
    media_id: int


def photo_point(session: Session, vault: Vault, message: Message) -> PhotoPoint | None:
    """The GPS position of the first photo of a message that has one, unless the photo was
    taken more than a day before it was sent (an old photo says nothing of now)."""
    for item in session.scalars(select(MediaItem).where(
            MediaItem.message_id == message.id, MediaItem.kind == "image",
            MediaItem.status == "stored", MediaItem.meta_enc.is_not(None))
            .order_by(MediaItem.position)):
        try:
            meta = json.loads(vault.decrypt(item.meta_enc, "media.meta") or "{}")
        except (DecryptionError, ValueError):
            continue
        if meta.get("lat") is None or meta.get("lon") is None:
            continue
        taken = meta.get("taken_at")
        if taken and datetime.fromisoformat(taken) < message.received_at - STALE_PHOTO:
            logger.info("photo %s of message %s was taken over a day earlier: its place is "
                        "not used", item.id, message.id)
            continue
        return PhotoPoint(float(meta["lat"]), float(meta["lon"]), item.id)
    return None


def media_of_report(session: Session, report_id: int) -> list[MediaItem]:
    """The media items of a report's messages, in order."""
    return list(session.scalars(select(MediaItem).join(
        Message, Message.id == MediaItem.message_id).where(Message.report_id == report_id)
        .order_by(MediaItem.message_id, MediaItem.position)))
