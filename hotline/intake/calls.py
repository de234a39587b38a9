"""Calls answered by a person: which hotline was called, who is on shift to answer, the
volunteers' phones rung at once (the first to press 1 takes the call), and voicemail when
nobody can.

Each step is a signed Twilio webhook (`hotline.webhooks.voice`); this module keeps the state a
dashboard shows live: a `Call` per CallSid and a `CallLeg` per volunteer rung. Every step is
idempotent on Twilio's SIDs, so a retried webhook changes nothing twice. The caller is a
reporter like an SMS sender (HMAC + encrypted number, block list); the call row holds no
number but the hotline's own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.core.phones import normalize_phone
from hotline.incidents.abuse import flood_signs
from hotline.incidents.geography import current_gazetteer, jurisdiction_id, policy_for
from hotline.intake import store
from hotline.jobs import outbox
from hotline.models import (
    Call,
    CallLeg,
    CallRoster,
    LegalNetwork,
    Message,
    Reporter,
    Responder,
    reachable_now,
    utcnow,
)
from hotline.privacy.vault import DecryptionError, Vault, reference
from hotline.routing import schedules
from hotline.routing.shifts import next_staffed, on_shift

logger = logging.getLogger(__name__)

MAX_RING = 10  # Twilio dials at most ten <Number>s at once
# caller IDs that name nobody: what carriers and Twilio put in From for a withheld number
WITHHELD = frozenset({"anonymous", "restricted", "unknown", "private", "unavailable",
                      "+266696687", "+86282452253", "+7378742833", "+2562533"})
E164 = 16  # "+" and 15 digits
# a leg's CallStatus values (Twilio's call progress), stored as they come
LEG_STATUSES = frozenset({"queued", "initiated", "ringing", "in-progress", "answered",
                          "completed", "busy", "no-answer", "failed", "canceled"})
FINAL = frozenset({"completed", "busy", "no-answer", "failed", "canceled"})


@dataclass(frozen=True)
class Ringing:
    """A volunteer to ring, with the number to dial."""

    responder: Responder
    phone: str


@dataclass(frozen=True)
class Answering:
    """Who can take a call in a language now: the volunteers to ring (at most ten), or when
    the line is next staffed."""

    volunteers: list[Ringing]
    next_staffed: datetime | None
    timezone: str | None


def _sid(value: str | None, what: str = "CallSid") -> str:
    sid = (value or "").strip()
    if not store.SID.match(sid) or not sid.startswith("CA"):
        raise store.BadWebhook(f"{what} missing or malformed")
    return sid


def hotline_number(form: Mapping[str, str]) -> str | None:
    """The number called (`To`): Hotline's own, in E.164, or None."""
    to = (form.get("To") or form.get("Called") or "").strip()
    return to if to.startswith("+") and to[1:].isdigit() and len(to) <= E164 else None


def called_jurisdiction(session: Session, form: Mapping[str, str]) -> str | None:
    """The jurisdiction of a call: its hotline number's, else the caller's area code's."""
    gazetteer = current_gazetteer(session)
    slug = gazetteer.jurisdiction_for_number(hotline_number(form))
    if slug is not None:
        return slug
    caller = (form.get("From") or form.get("Caller") or "").strip()
    place = gazetteer.area_code_place(caller) if caller.startswith("+1") else None
    return gazetteer.jurisdiction_for_area(place) if place is not None else None


def roster_for(session: Session, slug: str | None) -> CallRoster | None:
    """The call roster answering a jurisdiction's calls (the first configured), or None."""
    if slug is None:
        return None
    for roster in session.scalars(select(CallRoster).join(
            LegalNetwork, LegalNetwork.id == CallRoster.network_id)
            .where(LegalNetwork.active.is_(True)).order_by(CallRoster.id)):
        if slug in (roster.serves or []):
            return roster
    return None


def start_call(session: Session, vault: Vault, form: Mapping[str, str],
               region: str = "US") -> Call:
    """A call comes in: its row (once per CallSid), its caller as a reporter, and whether it is
    blocked, over the per-number limit, or must pass the flood's voice check first."""
    call_sid = _sid(form.get("CallSid"))
    existing = session.scalars(select(Call).where(Call.call_sid == call_sid)).one_or_none()
    if existing is not None:
        return existing
    sender = (form.get("From") or form.get("Caller") or "").strip()
    if not sender:
        raise store.BadWebhook("From missing")
    if len(sender) > store.MAX_FROM:
        raise store.BadWebhook(f"From longer than {store.MAX_FROM} characters")
    withheld = sender.lower() in WITHHELD
    try:
        e164 = normalize_phone(sender, region)
    except ValueError:
        e164, withheld = sender, True  # anonymous or odd caller IDs are still answered
    phone_hmac = vault.phone_hmac(e164)
    reporter = store.upsert_reporter(session, vault, e164)
    slug = called_jurisdiction(session, form)
    jurisdiction = jurisdiction_id(session, slug)
    roster = roster_for(session, slug)
    call = Call(call_sid=call_sid, reporter_id=reporter.id, jurisdiction_id=jurisdiction,
                roster_id=roster.id if roster else None, hotline_number=hotline_number(form),
                state="menu", flags={"withheld": True} if withheld else {},
                started_at=utcnow())
    # a withheld caller ID is nobody in particular: many people share it, so it is never
    # blocked, never counted against one limit, and never known
    if reporter.blocked and not withheld:
        call.state, call.outcome, call.ended_at = "blocked", "blocked", utcnow()
    elif roster is not None and not withheld and \
            _recent_calls(session, reporter.id, roster) >= roster.call_limit:
        call.flags = {"rate_limited": True}  # heard, and leaves a message; rings nobody
    elif not _known(session, reporter.id, jurisdiction, withheld) and \
            _flooded(session, vault, jurisdiction):
        call.state, call.flags = "check", {**call.flags, "check": True}
    try:
        with session.begin_nested():
            session.add(call)
    except IntegrityError:  # the same webhook twice at once: the first one's row
        return session.scalars(select(Call).where(Call.call_sid == call_sid)).one()
    logger.info("call %s from reporter %s: %s", call_sid, reference(phone_hmac), call.state)
    return call


def _known(session: Session, reporter_id: int, jurisdiction_id: int | None,
           withheld: bool) -> bool:
    """A caller Hotline knew before the flood's window began, or who passed its check."""
    if withheld:
        return False
    since = utcnow() - timedelta(minutes=policy_for(session, jurisdiction_id).flood_minutes)
    reporter = session.get(Reporter, reporter_id)
    if reporter is not None and reporter.created_at < since:
        return True
    passed = session.scalars(select(Call.flags).where(Call.reporter_id == reporter_id)).all()
    return any((flags or {}).get("check") == "passed" for flags in passed)


def _recent_calls(session: Session, reporter_id: int, roster: CallRoster) -> int:
    """The number's calls to this roster in its window that rang a volunteer."""
    since = utcnow() - timedelta(minutes=roster.call_limit_minutes)
    rang = select(CallLeg.id).where(CallLeg.call_id == Call.id).exists()
    return session.scalar(select(func.count(Call.id)).where(
        Call.reporter_id == reporter_id, Call.roster_id == roster.id, Call.started_at >= since,
        rang)) or 0


def _flooded(session: Session, vault: Vault, jurisdiction_id: int | None) -> bool:
    """Whether the flood detector fires for the jurisdiction: as many first-time callers in
    its window as `flood_new_numbers`, or the signs of a fake flood among its new reports."""
    policy = policy_for(session, jurisdiction_id)
    since = utcnow() - timedelta(minutes=policy.flood_minutes)
    # each withheld caller ID's call counts as one new caller (they all share one reporter)
    withheld = Call.flags["withheld"].as_boolean().is_(True)
    caller = case((withheld, -Call.id), else_=Call.reporter_id)
    query = select(func.count(func.distinct(caller))).join(
        Reporter, Reporter.id == Call.reporter_id).where(
        Call.started_at >= since, or_(Reporter.created_at >= since, withheld))
    query = query.where(Call.jurisdiction_id == jurisdiction_id) if jurisdiction_id else \
        query.where(Call.jurisdiction_id.is_(None))
    if (session.scalar(query) or 0) + 1 >= policy.flood_new_numbers:
        return True
    return bool(flood_signs(session, vault, jurisdiction_id, policy))


def get(session: Session, call_sid: str | None, lock: bool = False) -> Call | None:
    """The call of a CallSid (locked and read afresh with `lock`), or None."""
    sid = (call_sid or "").strip()
    if not store.SID.match(sid):
        return None  # nothing Twilio sends: never a query (a NUL byte is a 500 on PostgreSQL)
    query = select(Call).where(Call.call_sid == sid)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).one_or_none()


def passed_check(session: Session, call: Call) -> None:
    """The caller pressed 5: a person, let through to the menu."""
    call.state = "menu"
    call.flags = {**(call.flags or {}), "check": "passed"}


def answering(session: Session, call: Call, language: str, vault: Vault,
              at: datetime | None = None) -> Answering:
    """Who to ring for the call now: the roster's volunteers on shift who speak the caller's
    language (all on shift if none does), active, reachable, not on another call and with a
    number Hotline can read, at most ten; else when one of them is next on shift."""
    roster = session.get(CallRoster, call.roster_id) if call.roster_id else None
    if roster is None or not roster.network.active:
        return Answering([], None, None)
    at = at or utcnow()
    timezone = roster.network.timezone
    all_overrides = schedules.roster_overrides(session, roster, at)
    able = _able(session, roster, all_overrides, at)
    shifts = [s for s in roster.shifts or [] if s["volunteer"] in able]
    overrides = [o for o in all_overrides if o["responder"] in able]
    keys = [k for k in on_shift(shifts, overrides, timezone, at) if k in able]
    busy = _busy(session, call.id)
    people = [able[k] for k in keys if able[k].id not in busy]
    base = language.partition("-")[0]
    speaking = [r for r in people if base in (r.languages or [])]
    volunteers = []
    for volunteer in speaking or people:
        if len(volunteers) == MAX_RING:
            break
        phone = _readable_phone(vault, volunteer)
        if phone:
            volunteers.append(Ringing(volunteer, phone))
    upcoming = None if volunteers or keys else next_staffed(shifts, overrides, timezone, at)
    return Answering(volunteers, upcoming, timezone)


def _able(session: Session, roster: CallRoster, overrides: list[dict[str, Any]],
          at: datetime) -> dict[str, Responder]:
    """The roster's volunteers who can be rung at all: active, reachable and not OFF, by key."""
    keys = {s["volunteer"] for s in roster.shifts or []} | {o["responder"] for o in overrides}
    return {r.key: r for r in session.scalars(select(Responder).where(
        Responder.key.in_(keys), reachable_now(at)))} if keys else {}


def _busy(session: Session, call_id: int | None) -> set[int]:
    """Volunteers on another call now: taken, or a leg of theirs picked up."""
    answering_now = select(Call.answered_by_id).where(
        Call.state == "answered", Call.answered_by_id.is_not(None), Call.id != call_id)
    picked_up = select(CallLeg.responder_id).join(Call, Call.id == CallLeg.call_id).where(
        CallLeg.status == "in-progress", Call.state.in_(("ringing", "answered")),
        Call.id != call_id)
    return set(session.scalars(answering_now)) | set(session.scalars(picked_up))


def _readable_phone(vault: Vault, responder: Responder) -> str | None:
    """A volunteer's number, decrypted only into the TwiML Twilio asked for; None (and
    skipped, never a failed call) when no key opens it."""
    try:
        return vault.decrypt(responder.phone_enc, "responder") or None
    except DecryptionError:
        logger.warning("responder %s: number unreadable, not rung", responder.key)
        return None


def ring(session: Session, call: Call, language: str, volunteers: list[Ringing]) -> None:
    """The call rings these volunteers at once: one leg each, until one presses 1."""
    call.language, call.state = language, "ringing"
    known = {leg.responder_id for leg in call.legs}
    for ringing in volunteers:
        if ringing.responder.id not in known:
            call.legs.append(CallLeg(responder_id=ringing.responder.id, status="dialed"))
    session.flush()


def ringing_again(session: Session, call: Call, vault: Vault) -> list[Ringing]:
    """The volunteers a call is ringing (Twilio asked for the same step again)."""
    people = [session.get(Responder, leg.responder_id) for leg in call.legs
              if leg.status not in FINAL]
    found = [(r, _readable_phone(vault, r)) for r in people if r is not None]
    return [Ringing(r, phone) for r, phone in found if phone]


def to_voicemail(call: Call, language: str, outcome: str) -> None:
    """Nobody takes the call (`outcome`: closed, nobody, no_answer, rate_limited, no_roster,
    no_caller_id): the caller leaves a message."""
    call.language, call.state, call.outcome = language, "voicemail", outcome


def accept(session: Session, parent_sid: str, responder_id: int, leg_sid: str) -> bool:
    """A volunteer pressed 1. The first one takes the call; anyone later is told it is taken.
    Decided by one conditional UPDATE (under the call's row lock on PostgreSQL), so two
    presses at once cannot both win on either database; a volunteer already on another call
    takes none."""
    call = get(session, parent_sid, lock=True)
    if call is None or call.state not in ("ringing", "answered"):
        return False
    leg = next((leg for leg in call.legs if leg.responder_id == responder_id), None)
    if leg is None:
        return False  # nobody asked this volunteer
    if call.answered_by_id == responder_id:
        return True  # the same press again
    if responder_id in _busy(session, call.id):
        return False  # on another call: taking this one would leave that one
    won = session.execute(
        update(Call).where(Call.id == call.id, Call.state == "ringing",
                           Call.answered_by_id.is_(None))
        .values(answered_by_id=responder_id, state="answered", answered_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount == 1
    session.refresh(call)
    if not won:
        return False
    leg.accepted, leg.status = True, "in-progress"
    if store.SID.match(leg_sid or ""):
        leg.leg_sid = leg_sid
    logger.info("call %s taken by responder %s", call.call_sid, responder_id)
    return True


def leg_progress(session: Session, parent_sid: str, responder_id: int,
                 form: Mapping[str, str]) -> None:
    """A status callback of one volunteer's leg: ringing, answered, completed (with its
    duration: how long the volunteer talked, when they took the call)."""
    call = get(session, parent_sid, lock=True)
    if call is None:
        return
    leg = next((leg for leg in call.legs if leg.responder_id == responder_id), None)
    if leg is None:
        return
    status = (form.get("CallStatus") or "").strip().lower()
    if status not in LEG_STATUSES:
        raise store.BadWebhook("CallStatus unknown")
    leg_sid = (form.get("CallSid") or "").strip()
    if store.SID.match(leg_sid) and leg.leg_sid is None:
        leg.leg_sid = leg_sid
    if leg.status not in FINAL:  # a late "ringing" never brings a finished leg back
        leg.status = "in-progress" if status == "answered" else status
    duration = _seconds(form.get("CallDuration"))
    if status == "completed" and duration is not None:
        leg.duration = duration
        if leg.accepted and call.duration is None:
            call.duration = duration


def dial_finished(session: Session, form: Mapping[str, str]) -> Call | None:
    """The `<Dial>` ended: over if a volunteer took the call and it was bridged
    (`DialCallStatus` completed or answered, on the leg that took it); otherwise on to
    voicemail (nobody answered, only a voicemail did, or the bridge failed)."""
    call = get(session, form.get("CallSid"), lock=True)
    if call is None:
        return None
    status = (form.get("DialCallStatus") or "").strip().lower()
    dialed = (form.get("DialCallSid") or "").strip()
    taken = next((leg for leg in call.legs if leg.accepted), None)
    bridged = call.answered_by_id is not None and status in ("completed", "answered") and (
        not dialed or taken is None or taken.leg_sid in (None, dialed))
    if bridged:
        call.state = "completed"
        call.ended_at = call.ended_at or utcnow()
        duration = _seconds(form.get("DialCallDuration"))
        if duration is not None:
            call.duration = duration
    elif call.state in ("ringing", "answered"):
        if call.answered_by_id is not None:
            call.flags = {**(call.flags or {}), "bridge_failed": status or "unknown"}
        call.answered_by_id = None
        call.state, call.outcome = "voicemail", "no_answer"
    return call


def recorded(session: Session, call_sid: str | None, message_id: int | None) -> None:
    """The caller's message is stored: the call is over, with its voicemail."""
    call = get(session, call_sid, lock=True)
    if call is None:
        return
    if message_id is not None:
        call.message_id = message_id
    if call.state != "blocked":
        call.state = "completed"
    call.ended_at = call.ended_at or utcnow()


def ended(session: Session, form: Mapping[str, str]) -> None:
    """The number's call status callback: the call is over (the caller hung up anywhere)."""
    call = get(session, form.get("CallSid"), lock=True)
    status = (form.get("CallStatus") or "").strip().lower()
    if call is None or status not in ("completed", "busy", "no-answer", "failed", "canceled"):
        return
    if call.state != "blocked":
        call.state = "completed"
    call.ended_at = call.ended_at or utcnow()
    if call.answered_by_id is None and call.outcome is None:
        call.outcome = "hung_up"


def _seconds(raw: str | None) -> int | None:
    value = (raw or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else None


# what a volunteer writes down from a call, in the order it becomes the report's text
REPORT_FIELDS = ("place", "size", "activity", "uniform", "time", "equipment", "notes")
MAX_FIELD = 1000


def report_from_call(session: Session, vault: Vault, call: Call, fields: Mapping[str, str],
                     written_by: str) -> Message:
    """The report a volunteer writes from a call they took: a voice message from the caller
    (their reporter, the call's language and hotline number), triaged like any text, clustered,
    verified and routed. Idempotent: one per call (a second save returns the first)."""
    sid = f"HL{call.call_sid[2:]}"  # one per call, never a Twilio SID
    existing = session.scalars(select(Message).where(Message.twilio_sid == sid)).one_or_none()
    if existing is not None:
        return existing
    parts = [" ".join(str(fields.get(name) or "").split())[:MAX_FIELD] for name in REPORT_FIELDS]
    text = "\n".join(part for part in parts if part)
    if not text:
        raise ValueError("write at least the place or what the caller sees")
    reporter = session.get(Reporter, call.reporter_id) if call.reporter_id else None
    if reporter is None:
        raise ValueError("the call has no caller to report for")
    number = vault.decrypt(reporter.phone_enc, "reporter.phone") or ""
    message = Message(
        twilio_sid=sid, direction="inbound", channel="voice", reporter_id=reporter.id,
        counterpart_hmac=reporter.phone_hmac,
        counterpart_enc=vault.encrypt(number, "message.counterpart") if number else None,
        body_enc=vault.encrypt(text, "message.body"), media=[], language=call.language,
        status="received", received_at=utcnow(),
        flags={"call_report": call.call_sid, "written_by": written_by,
               **({"to": call.hotline_number} if call.hotline_number else {})})
    session.add(message)
    session.flush()
    call.flags = {**(call.flags or {}), "report_message": message.id}
    outbox.defer(session, "triage_message", message.id, dedupe_key=f"call-report:{call.id}")
    logger.info("call %s: report written by %s as message %s", call.call_sid, written_by,
                message.id)
    return message
