"""Retention: raw PII (bodies, numbers, texts, notes, media, recordings) is purged after the
configured days, in every copy of the data; what remains is the pseudonymous structure (see
docs/seizure.md).

The purge, in this order:
1. blanks the expired rows' ciphertexts: message bodies, numbers and media references, the
   media kept as evidence (photos, audio, video, their EXIF; the hash and size stay), report
   texts, reporters' numbers, and the texts of timeline notes and relayed messages;
2. destroys the data keys of every UTC day before the cutoff day and moves the PII ratchet past
   them (`privacy.datakeys`), so a backup taken before the purge cannot be read either;
3. makes the coming days' data keys;
4. deletes at Twilio the expired messages' records (which deletes their MMS media too) and
   call recordings. A message Twilio is not done with (error 20009) is tried again at the next
   purge; any other failure makes the job fail and retry, after steps 1–3 have held.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioRestException

from hotline.core.settings import Settings
from hotline.core.twilio_client import can_send, make_client
from hotline.models import (
    EVENT_TEXT_CONTEXT,
    BroadcastRecipient,
    Call,
    CallLeg,
    IncidentEvent,
    MediaItem,
    Message,
    Report,
    Reporter,
    Subscriber,
    SubscriberArea,
    VoiceTranscript,
    utcnow,
)
from hotline.privacy.datakeys import Keyring

logger = logging.getLogger(__name__)
BATCH = 500
NOT_FINISHED = 20009  # Twilio: "Cannot delete this resource before it is complete"
TWILIO_DELETED = "twilio_deleted"  # Message.flags marker: the record is gone at Twilio


class TwilioDeletionError(RuntimeError):
    """Some expired records could not be deleted at Twilio (the job retries)."""


def _twilio_resource(client: Any, message: Message) -> Any:  # noqa: ANN401
    """The Twilio resource holding this message's copy: its Message record (with its media) or
    its call recording; None for rows Twilio never had (local stand-ins, calls without one)."""
    sid = message.twilio_sid
    if sid.startswith(("SM", "MM")):
        return client.messages(sid)
    if sid.startswith("RE"):
        return client.recordings(sid)
    return None


def delete_at_twilio(session: Session, settings: Settings, cutoff: datetime) -> dict[str, int]:
    """Delete expired messages' records and recordings at Twilio; marks each one done."""
    counts = {"twilio_messages": 0, "recordings": 0, "twilio_pending": 0}
    rows = [m for m in session.scalars(select(Message).where(
        Message.received_at < cutoff).order_by(Message.id)).all()
        if not (m.flags or {}).get(TWILIO_DELETED) and m.twilio_sid[:2] in ("SM", "MM", "RE")]
    if not rows:
        return counts
    if not can_send(settings):
        logger.warning("%d expired record(s) are held at Twilio but no Twilio is configured to "
                       "delete them", len(rows))
        counts["twilio_pending"] = len(rows)
        return counts
    client = make_client(settings)
    failed = 0
    for message in rows:
        try:
            _twilio_resource(client, message).delete()
        except TwilioRestException as exc:
            if exc.code == NOT_FINISHED:
                counts["twilio_pending"] += 1
                continue
            if exc.status != 404:  # already gone is fine
                failed += 1
                logger.warning("could not delete message %d at Twilio (error %s)",
                               message.id, exc.code)
                continue
        message.flags = {**(message.flags or {}), TWILIO_DELETED: True}
        counts["recordings" if message.twilio_sid.startswith("RE") else "twilio_messages"] += 1
    session.commit()
    if failed:
        raise TwilioDeletionError(f"{failed} expired record(s) could not be deleted at Twilio")
    return counts


def _blank_event_texts(session: Session, cutoff: datetime) -> int:
    """Remove the encrypted text of expired notes and relayed messages (the entry stays)."""
    blanked = 0
    last = 0
    while True:
        rows = session.scalars(select(IncidentEvent).where(
            IncidentEvent.id > last, IncidentEvent.at < cutoff,
            IncidentEvent.kind.in_(sorted(EVENT_TEXT_CONTEXT))).order_by(IncidentEvent.id)
            .limit(BATCH)).all()
        if not rows:
            return blanked
        for event in rows:
            if (event.data or {}).get("text_enc") is not None:
                event.data = {**event.data, "text_enc": None, "purged": True}
                blanked += 1
        session.flush()
        last = rows[-1].id


PENDING_DAYS = 2  # a request for alerts never confirmed is forgotten after this many days


def _purge_subscribers(session: Session, now: datetime, cutoff: datetime) -> int:
    """Subscribers who never confirmed (after PENDING_DAYS) and who stopped before the cutoff
    (their number was erased when they stopped; now the row goes too). A confirmed
    subscriber's number stays as long as the subscription: they asked for the texts."""
    stale = select(Subscriber.id).where(
        ((Subscriber.status == "pending") &
         (Subscriber.updated_at < now - timedelta(days=PENDING_DAYS))) |
        ((Subscriber.status == "stopped") & (Subscriber.stopped_at < cutoff)))
    ids = list(session.scalars(stale))
    if not ids:
        return 0
    session.execute(delete(SubscriberArea).where(SubscriberArea.subscriber_id.in_(ids)))
    session.execute(update(BroadcastRecipient).where(BroadcastRecipient.subscriber_id.in_(ids))
                    .values(subscriber_id=None))
    return int(session.execute(delete(Subscriber).where(Subscriber.id.in_(ids))).rowcount or 0)


def purge_expired(session: Session, days: int, settings: Settings | None = None,
                  keyring: Keyring | None = None) -> dict[str, int]:
    """Blank PII of the UTC days that ended more than `days` ago, destroy those days' data
    keys, then delete the expired records at Twilio. Commits (a destroyed key must not come
    back on rollback)."""
    now = utcnow()
    # whole UTC days: what is blanked is exactly what the destroyed day keys sealed, so no
    # expired value stays readable in a backup until the next purge (PII is kept for `days`
    # to `days` + 1 days)
    cutoff = (now - timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    messages = session.execute(
        update(Message).where(Message.received_at < cutoff, Message.purged_at.is_(None))
        .values(body_enc=None, counterpart_enc=None, media=[], purged_at=now)
    ).rowcount
    reports = session.execute(
        update(Report).where(Report.created_at < cutoff, Report.text_enc.is_not(None))
        .values(text_enc=None, media=[])
    ).rowcount
    # photos, audio and video: the evidence goes with the bodies (its hash and size stay)
    media = session.execute(
        update(MediaItem).where(MediaItem.message_id.in_(
            select(Message.id).where(Message.received_at < cutoff)),
            MediaItem.purged_at.is_(None))
        .values(data_enc=None, display_enc=None, thumb_enc=None, meta_enc=None,
                status="purged", purged_at=now)
    ).rowcount
    reporters = session.execute(
        update(Reporter).where(Reporter.last_seen_at < cutoff, Reporter.phone_enc.is_not(None))
        .values(phone_enc=None)
    ).rowcount
    events = _blank_event_texts(session, cutoff)
    # utterances of a live transcription whose recording never came
    session.execute(delete(VoiceTranscript).where(VoiceTranscript.received_at < cutoff))
    # calls: who called which line when, and which volunteer answered (the voicemail itself is
    # a message, blanked above and deleted at Twilio below)
    old_calls = select(Call.id).where(Call.started_at < cutoff)
    session.execute(delete(CallLeg).where(CallLeg.call_id.in_(old_calls)))
    calls = session.execute(delete(Call).where(Call.started_at < cutoff)).rowcount
    subscribers = _purge_subscribers(session, now, cutoff)
    session.commit()
    counts = {"messages": messages, "reports": reports, "reporters": reporters, "media": media,
              "event_texts": events, "calls": calls, "subscribers": subscribers,
              "data_keys": 0}
    if keyring is not None:
        counts["data_keys"] = keyring.destroy_before(session, cutoff.date())
        keyring.prepare()
    logger.info("retention purge (%d days): %d messages, %d reports, %d reporters, "
                "%d event texts, %d data keys destroyed", days, messages, reports, reporters,
                events, counts["data_keys"])
    twilio = delete_at_twilio(session, settings, cutoff) if settings else {
        "twilio_messages": 0, "recordings": 0, "twilio_pending": 0}
    counts.update(twilio)
    logger.info("retention purge at Twilio: %d message records (with their media), "
                "%d recordings deleted, %d to try again", twilio["twilio_messages"],
                twilio["recordings"], twilio["twilio_pending"])
    return counts
