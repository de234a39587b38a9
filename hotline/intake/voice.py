"""Voice reports: a recorded message (up to 2 minutes), transcribed by Twilio in the caller's
language, triaged like SMS.

English is transcribed by the recording's own transcription (`<Record transcribe>`, an English
engine). Every other language with an engine is transcribed live (`<Start><Transcription
languageCode=...>`): its final utterances arrive as events while the caller speaks, are kept
(encrypted) in `voice_transcripts`, and join the recording's message once both the recording is
stored and the transcription has ended. A language with no engine keeps the recording as a
report marked "needs listening". A caller who hangs up before speaking leaves nothing. If the
transcript never comes, the recording still becomes a report when its grace period ends (with
whatever utterances did arrive): nothing is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.core.phones import normalize_phone
from hotline.incidents import reports
from hotline.intake import store
from hotline.jobs import outbox
from hotline.models import Message, Report, VoiceTranscript, utcnow
from hotline.privacy.vault import Vault, reference

logger = logging.getLogger(__name__)
MAX_SECONDS = 120
TRANSCRIPT_GRACE = timedelta(minutes=3)
STOPPED, RECORDED = -1, -2  # the markers of voice_transcripts
MAX_UTTERANCES = 500


def record_recording(session: Session, vault: Vault, form: Mapping[str, str], language: str,
                     region: str = "US", transcription: str = "recording") -> Message | None:
    """Store a finished recording as an inbound voice message (idempotent on RecordingSid).

    Returns None when there is nothing to keep (hung up before speaking)."""
    recording_sid = (form.get("RecordingSid") or "").strip()
    url = (form.get("RecordingUrl") or "").strip()
    try:
        duration = int(form.get("RecordingDuration") or 0)
    except ValueError:
        duration = 0
    if not recording_sid or not url or duration < 1:
        return None
    if not store.SID.match(recording_sid):
        raise store.BadWebhook("RecordingSid malformed")
    sender = (form.get("From") or form.get("Caller") or "").strip()
    if len(sender) > store.MAX_FROM:
        raise store.BadWebhook(f"From longer than {store.MAX_FROM} characters")
    if not sender:
        raise store.BadWebhook("From missing")
    try:
        e164 = normalize_phone(sender, region)
    except ValueError:
        e164 = sender
    existing = session.scalar(select(Message).where(Message.twilio_sid == recording_sid))
    if existing is not None:
        return existing
    reporter = store.upsert_reporter(session, vault, e164, language)
    message = Message(
        twilio_sid=recording_sid, direction="inbound", channel="voice", reporter_id=reporter.id,
        counterpart_hmac=reporter.phone_hmac,
        counterpart_enc=vault.encrypt(e164, "message.counterpart"), body_enc=None,
        media=[{"url": url, "content_type": "audio/mpeg", "duration": duration,
                "call_sid": form.get("CallSid", "")}],
        language=language, status="recorded",
        flags={**({"awaiting_transcript": True, "transcription": transcription}
                  if transcription != "none" else {"needs_listening": True}),
               # the hotline number called: which jurisdiction's line (not personal data)
               **({"to": to} if (to := (form.get("To") or "").strip()).startswith("+")
                  and len(to) <= 16 else {})},
        received_at=utcnow())
    session.add(message)
    session.flush()
    if transcription == "none":
        # no engine speaks this language: a report now, with the recording to listen to
        outbox.defer(session, "triage_message", message.id, dedupe_key=f"voice:{message.id}")
    else:
        # if no transcript arrives in time, triage the recording anyway
        outbox.defer(session, "triage_message", message.id, run_at=utcnow() + TRANSCRIPT_GRACE,
                     dedupe_key=f"voice:{message.id}")
    if transcription == "live":
        call_sid = (form.get("CallSid") or "").strip()
        if store.SID.match(call_sid):
            session.add(VoiceTranscript(call_sid=call_sid, sequence=RECORDED,
                                        message_id=message.id))
            session.flush()
            _join_if_ended(session, vault, call_sid)
    logger.info("voice recording %s stored as message %s reporter %s (%ss)", recording_sid,
                message.id, reference(reporter.phone_hmac), duration)
    return message


def apply_transcript(session: Session, vault: Vault, form: Mapping[str, str]) -> Message | None:
    """Twilio's transcription: it becomes the message's text and is triaged now."""
    recording_sid = (form.get("RecordingSid") or "").strip()
    message = session.scalars(select(Message).where(Message.twilio_sid == recording_sid)
                              .with_for_update()).one_or_none()
    if message is None:
        return None
    status = (form.get("TranscriptionStatus") or "").lower()
    text = form.get("TranscriptionText") or ""
    flags = dict(message.flags or {})
    flags.pop("awaiting_transcript", None)
    flags["transcription"] = status or "completed"
    message.flags = flags
    if status == "failed" or not text.strip():
        return message  # the grace timer triages the recording without text
    give_text(session, vault, message, text)
    return message


def give_text(session: Session, vault: Vault, message: Message, text: str) -> None:
    """The transcript becomes the message's text: triaged now, or its report's text if the
    grace timer already made one."""
    message.body_enc = vault.encrypt(text, "message.body")
    if message.processed_at is None:
        outbox.defer(session, "triage_message", message.id)
    elif message.report_id:
        # the grace timer already made a report without text: give it the transcript now
        report = session.get(Report, message.report_id)
        if report is not None:
            reports.refresh_report_text(session, report, text,
                                        remember=not reports.written_by_us(message))


def apply_transcription_event(session: Session, vault: Vault, form: Mapping[str, str]) -> None:
    """One event of a live transcription (`TranscriptionEvent`: transcription-started,
    -content, -stopped, -error). Final utterances are kept; at the end they join the recording.
    Idempotent on (CallSid, SequenceId): Twilio may send an event twice."""
    call_sid = (form.get("CallSid") or "").strip()
    if not store.SID.match(call_sid) or not call_sid.startswith("CA"):
        raise store.BadWebhook("CallSid missing or malformed")
    event = (form.get("TranscriptionEvent") or "").strip()
    if event == "transcription-content":
        if (form.get("Final") or "").lower() != "true" or \
                (form.get("Track") or "inbound_track") != "inbound_track":
            return  # partial results, or the hotline's own prompts
        try:
            sequence = int(form.get("SequenceId") or "")
            data = json.loads(form.get("TranscriptionData") or "{}")
        except ValueError:
            raise store.BadWebhook("SequenceId or TranscriptionData malformed") from None
        text = str(data.get("transcript") or "").strip() if isinstance(data, dict) else ""
        if not text or not 0 <= sequence < 10**9:
            return
        _keep(session, call_sid, sequence, vault.encrypt(text, "voice.transcript"))
    elif event in ("transcription-stopped", "transcription-error"):
        _keep(session, call_sid, STOPPED, None)
        _join_if_ended(session, vault, call_sid)


def _keep(session: Session, call_sid: str, sequence: int, text_enc: str | None) -> None:
    exists = session.scalar(select(VoiceTranscript.id).where(
        VoiceTranscript.call_sid == call_sid, VoiceTranscript.sequence == sequence))
    count = session.scalar(select(func.count(VoiceTranscript.id)).where(
        VoiceTranscript.call_sid == call_sid))
    if exists is None and (count or 0) < MAX_UTTERANCES:
        try:
            with session.begin_nested():  # the same event twice at once: the second is a no-op
                session.add(VoiceTranscript(call_sid=call_sid, sequence=sequence,
                                            text_enc=text_enc))
        except IntegrityError:
            pass


def _join_if_ended(session: Session, vault: Vault, call_sid: str) -> None:
    rows = session.scalars(select(VoiceTranscript).where(VoiceTranscript.call_sid == call_sid)
                           ).all()
    markers = {row.sequence: row for row in rows if row.sequence < 0}
    if STOPPED in markers and RECORDED in markers and markers[RECORDED].message_id:
        message = session.scalars(select(Message).where(
            Message.id == markers[RECORDED].message_id).with_for_update()).one_or_none()
        if message is not None:
            collect_transcript(session, vault, message, call_sid)


def collect_transcript(session: Session, vault: Vault, message: Message,
                       call_sid: str | None = None) -> str:
    """Join the utterances kept for a voice message's call into its text (once) and return it;
    "" when there are none. Also run by the triage job, so a transcription whose end was never
    seen still gives the report what it heard."""
    call_sid = call_sid or _call_of(message)
    if not call_sid:
        return ""
    rows = session.scalars(select(VoiceTranscript).where(
        VoiceTranscript.call_sid == call_sid, VoiceTranscript.sequence >= 0)
        .order_by(VoiceTranscript.sequence)).all()
    text = " ".join(t for t in (vault.decrypt(r.text_enc, "voice.transcript") or ""
                                for r in rows) if t)
    session.execute(delete(VoiceTranscript).where(VoiceTranscript.call_sid == call_sid))
    flags = dict(message.flags or {})
    flags.pop("awaiting_transcript", None)
    if text:
        flags["transcription"] = "completed"
        message.flags = flags
        give_text(session, vault, message, text)
    else:
        message.flags = flags
    return text


def _call_of(message: Message) -> str:
    media = message.media or []
    return str(media[0].get("call_sid") or "") if media and isinstance(media[0], dict) else ""


def listened(session: Session, vault: Vault, message: Message, text: str) -> None:
    """Someone listened to a recording nobody could transcribe and wrote down what it says:
    the report gets that text and is triaged again."""
    flags = dict(message.flags or {})
    flags.pop("needs_listening", None)
    flags["transcription"] = "listened"
    message.flags = flags
    give_text(session, vault, message, text)
