"""Reports from triage: a message's text becomes a report (language, place, jurisdiction,
SALUTE), is clustered into an incident and sets verification going. A report with no usable
place waits as a report (the board counts it "awaiting location") while its sender is asked
"where?": the answer re-triages it and only then does it join the incident at that place (and
a verifier already asked there is sent the place). If no answer comes within the
jurisdiction's `follow_up_window_min`, it joins an incident as it is: nothing is lost. A late
voice transcript re-triages its report too."""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.core.languages import load_languages
from hotline.core.policy import Policy
from hotline.incidents import abuse, clustering, credibility, lifecycle, verification
from hotline.incidents.geography import current_gazetteer, jurisdiction_id, policy_for
from hotline.jobs import outbox
from hotline.messaging import notify
from hotline.models import Call, Incident, Message, Report, Reporter, utcnow
from hotline.privacy.vault import Vault
from hotline.triage import Triage, triage_text, with_photo

logger = logging.getLogger(__name__)


TRIAGED_CHARACTERS = 1600  # Twilio's limit for one SMS: a longer body is kept whole, read so far


def _triage(session: Session, body: str, sender: str | None,
            reporter: Reporter | None, called: str | None = None,
            remember: bool = True, photo: tuple[float, float] | None = None) -> Triage:
    gazetteer = current_gazetteer(session)
    result = triage_text(body[:TRIAGED_CHARACTERS], gazetteer,
                         from_number=sender,
                         language_hint=reporter.language if reporter else None,
                         languages=load_languages(current_app.config["SETTINGS"].config_dir),
                         called=called)
    if photo is not None:
        result = with_photo(result, photo[0], photo[1], gazetteer)
    if remember and reporter is not None and body.strip() and (
            result.language_clear or (reporter.language is None and result.language_usable)):
        # remembered only when the message says so clearly (an unsure guess, or a short
        # transcript, never switches a reporter who wrote in another language before)
        reporter.language = result.language_tag or result.language
    return result


def _apply_triage(session: Session, report: Report, result: Triage, text: str) -> None:
    vault: Vault = current_app.extensions["hotline_vault"]
    location = result.location
    report.text_enc = vault.encrypt(text, "report.text")
    report.language = result.language
    report.salute = result.salute
    report.location = location.public()
    report.lat, report.lon = location.lat, location.lon
    report.jurisdiction_id = jurisdiction_id(session, result.jurisdiction)
    report.needs_location = result.needs_location
    report.confidence = result.confidence
    report.flags = {**(report.flags or {}), "precision": location.precision}


def create_report(session: Session, message: Message, body: str, sender: str | None,
                  reporter: Reporter | None,
                  photo: tuple[float, float] | None = None) -> Report:
    """Triage a message into a new report, cluster it, and set verification going (`photo`:
    where the message's photo was taken, a clue between the text and the area code)."""
    # the jurisdiction whose hotline number it came in on, kept for a later re-triage
    flags = message.flags or {}
    called = current_gazetteer(session).jurisdiction_for_number(flags.get("to"))
    # a volunteer's words (a call's report, a recording written down) say nothing of the
    # language the caller speaks
    result = _triage(session, body, sender, reporter, called, remember=not written_by_us(message),
                     photo=photo)
    report = Report(reporter_id=message.reporter_id, channel=message.channel,
                    media=list(message.media or []), state="complete",
                    flags={"called": called} if called else {},
                    created_at=message.received_at)
    _apply_triage(session, report, result, body)
    policy = _policy(session, report)
    with session.no_autoflush:  # the message is stored; what is pending here changes no count
        over_limit = abuse.message_over_rate_limit(session, message, policy)
    if over_limit:
        report.flags = {**report.flags, "rate_limited": True}
        message.flags = {**(message.flags or {}), "rate_limited": True}
    if abuse.looks_like_denunciation(body):
        report.flags = {**report.flags, "denunciation": True}
    if result.needs_location and reporter is not None and \
            message.channel != "voice" and not reporter.opted_out and not reporter.blocked \
            and not _asked_lately(session, reporter, message):
        report.state = "awaiting_location"
        report.flags = {**report.flags, "asked_location": True}
    session.add(report)
    # one flush: the report's INSERT, then the message's one UPDATE; a report that joins an
    # incident goes in with it (`clustering.attach_report`), one that waits goes in now
    message.report = report
    _link_call(session, message, report)
    if report.state == "awaiting_location":
        session.flush()
        notify.to_reporter(session, reporter, "ask_location", report_id=report.id)
        outbox.defer(session, "follow_up_timeout", report.id,
                     run_at=utcnow() + timedelta(minutes=policy.follow_up_window_min),
                     dedupe_key=f"follow-up:{report.id}")
        logger.info("message %s triaged into report %s, waiting for its place", message.id,
                    report.id)
        return report
    _cluster(session, report, made_of=(message.id, result.jurisdiction or "none"))
    return report


def _asked_lately(session: Session, reporter: Reporter, message: Message) -> bool:
    """Whether the reporter was asked "where?" in the last 10 minutes (asked once, not again).
    A reporter this very message created was never asked anything."""
    if first_message(reporter, message):
        return False
    return session.scalar(select(Report.id).where(
        Report.reporter_id == reporter.id, Report.flags["asked_location"].as_boolean()
        .is_(True), Report.created_at >= utcnow() - timedelta(minutes=10)).limit(1)) is not None


def first_message(reporter: Reporter | None, message: Message) -> bool:
    """Whether `message` is the first its reporter ever sent: the webhook stores a new reporter
    and its message with one timestamp, and an existing reporter keeps its own."""
    return reporter is not None and reporter.created_at == message.received_at


def _policy(session: Session, report: Report) -> Policy:
    return policy_for(session, report.jurisdiction_id)


def _cluster(session: Session, report: Report,
             made_of: tuple[int, str] | None = None) -> tuple[Incident, bool]:
    """Into an incident (a matching one or a new one), with its markers; verification goes on
    from there. (incident, created). One log line says where the report went (and, given
    `made_of`, the message it was made of and its jurisdiction's slug: a burst writes one line
    per message)."""
    vault: Vault = current_app.extensions["hotline_vault"]
    incident, created = clustering.attach_report(session, report)
    if made_of is not None:
        logger.info("message %s triaged into report %s, which %s incident %s (jurisdiction %s)",
                    made_of[0], report.id, "opened" if created else "joined", incident.code,
                    made_of[1])
    else:
        logger.info("report %s %s incident %s", report.id, "opened" if created else "joined",
                    incident.code)
    new = [*lifecycle.mark(incident, *[flag for flag in ("denunciation", "rate_limited")
                                       if (report.flags or {}).get(flag)])]
    if created:
        signs = abuse.flood_signs(session, vault, report.jurisdiction_id,
                                  _policy(session, report))
        if signs:
            new += lifecycle.mark(incident, "flood", reason="; ".join(signs))
    if new:
        lifecycle.record_event(session, incident, "flagged", flags=sorted(
            k for k in ("denunciation", "flood", "rate_limited") if lifecycle.marked(incident, k)),
            reason=lifecycle.reason_of(incident, "flood"))
    verification.after_report(session, incident, created, report)
    return incident, created


def follow_up_timeout(session: Session, report_id: int) -> None:
    """Nobody answered "where?" in time: the report joins an incident as it is."""
    report = session.scalars(select(Report).where(Report.id == report_id)
                             .with_for_update()).one_or_none()
    if report is None or report.state != "awaiting_location":
        return
    report.state = "complete"
    _cluster(session, report)


def complete_follow_up(session: Session, report: Report, message: Message, body: str,
                       sender: str | None, reporter: Reporter,
                       photo: tuple[float, float] | None = None) -> Report:
    """The answer to "where?": it completes the same report instead of starting another."""
    vault: Vault = current_app.extensions["hotline_vault"]
    previous = vault.decrypt(report.text_enc, "report.text") or ""
    combined = f"{previous}\n{body}".strip()
    if message.media:
        report.media = [*(report.media or []), *message.media]
    result = _triage(session, combined, sender, reporter, (report.flags or {}).get("called"),
                     photo=photo)
    before = report.incident_id
    _apply_triage(session, report, result, combined)
    report.state = "complete"  # answered or not, we do not ask twice
    message.report_id = report.id
    session.flush()
    if not result.needs_location:
        notify.to_reporter(session, reporter, "location_thanks", report_id=report.id)
    incident = lifecycle.lock(session, before) if before else None
    if incident is not None:  # a report clustered before it was answered
        if incident.jurisdiction_id != report.jurisdiction_id and \
                incident.status in ("new", "verifying"):
            incident.jurisdiction_id = report.jurisdiction_id
        _report_retriaged(session, incident, report, "location_added")
        return report
    incident, created = _cluster(session, report)
    if not created:
        lifecycle.record_event(session, incident, "location_added", report_id=report.id)
        verification.tell_verifiers_the_place(session, incident, report)
    return report


def add_media(session: Session, report: Report, message: Message,
              photo: tuple[float, float] | None = None) -> Report:
    """A message of photos (or audio, video) only, from a reporter who has just reported: more
    evidence for that report, not a new one. The photo's place places the report if nothing
    finer did; the incident's timeline says what was added."""
    message.report_id = report.id
    report.media = [*(report.media or []), *(message.media or [])]
    located = False
    if photo is not None and report.lat is not None and (report.flags or {}).get(
            "precision") not in (None, "area_code", "city", "county"):
        photo = None  # the report is placed finer already
    if photo is not None:
        vault: Vault = current_app.extensions["hotline_vault"]
        text = vault.decrypt(report.text_enc, "report.text") or ""
        result = _triage(session, text, None, session.get(Reporter, report.reporter_id)
                         if report.reporter_id else None, (report.flags or {}).get("called"),
                         remember=False, photo=photo)
        if result.location.source == "photo":
            _apply_triage(session, report, result, text)
            located = True
    session.flush()
    incident = lifecycle.lock(session, report.incident_id) if report.incident_id else None
    if incident is not None:
        if located:
            _report_retriaged(session, incident, report, "location_added")
        lifecycle.record_event(session, incident, "media_added", report_id=report.id,
                               count=len(message.media or []))
    logger.info("message %s adds %d media items to report %s", message.id,
                len(message.media or []), report.id)
    return report


def _report_retriaged(session: Session, incident: Incident, report: Report, event: str) -> None:
    """The incident after one of its reports was triaged again: place, SALUTE, timeline, score."""
    clustering.refresh_location(session, incident)
    incident.salute = report.salute
    lifecycle.record_event(session, incident, event, report_id=report.id)
    credibility.score_incident(session, incident)


def _link_call(session: Session, message: Message, report: Report) -> None:
    """A call's report (a volunteer's, or its voicemail's) is the call's report."""
    flags = message.flags or {}
    media = message.media or []
    call_sid = flags.get("call_report") or (
        media[0].get("call_sid") if message.channel == "voice" and media
        and isinstance(media[0], dict) else None)
    if call_sid:
        session.flush()  # the report's id
        session.execute(update(Call).where(Call.call_sid == call_sid,
                                           Call.report_id.is_(None)).values(report_id=report.id))


def written_by_us(message: Message) -> bool:
    """Whether a message's text was written by a volunteer, not the reporter: a call's report,
    or what someone heard on a recording nobody could transcribe."""
    flags = message.flags or {}
    return bool(flags.get("call_report")) or flags.get("transcription") == "listened"


def refresh_report_text(session: Session, report: Report, text: str,
                        remember: bool = True) -> None:
    """Re-triage a report whose text arrived late (a voice transcript; `remember` False when a
    volunteer wrote it down)."""
    result = _triage(session, text, None, session.get(Reporter, report.reporter_id)
                     if report.reporter_id else None, (report.flags or {}).get("called"),
                     remember=remember)
    _apply_triage(session, report, result, text)
    session.flush()
    incident = lifecycle.lock(session, report.incident_id) if report.incident_id else None
    if incident is not None:
        if incident.jurisdiction_id is None and report.jurisdiction_id is not None and \
                incident.status in ("new", "verifying"):
            incident.jurisdiction_id = report.jurisdiction_id
        _report_retriaged(session, incident, report, "transcript_added")
