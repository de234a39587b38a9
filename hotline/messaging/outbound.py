"""Outbound SMS through the real twilio client: at most one send per message, retried safely.

A message is queued (a row plus an outbox job) in the caller's transaction. The send job claims it
(status `sending`, committed) before calling Twilio, so a job that runs twice, or a worker killed
mid-send, never sends twice: a claimed message whose outcome is unknown is reconciled against
Twilio's own list of messages before anything is resent.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from blinker import Namespace
from flask import current_app
from requests.exceptions import RequestException
from sqlalchemy import bindparam, case, select, text
from sqlalchemy.orm import Session
from twilio.base.exceptions import TwilioException, TwilioRestException

from hotline.core.extensions import db
from hotline.core.settings import Settings
from hotline.core.twilio_client import can_send, make_client
from hotline.jobs import outbox, rq_backend
from hotline.messaging import channels
from hotline.messaging.pacing import LATE, LocalSenderLimiter, RedisSenderLimiter, SenderLimiter
from hotline.models import Message, Reporter, Responder, Subscriber, utcnow
from hotline.privacy.vault import Vault, reference

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 6
RETRYABLE_HTTP = {429, 500, 502, 503, 504}
OPTED_OUT = 21610
MAX_INLINE_WAIT = 2.0  # seconds a job may sleep for its sender's slot before rescheduling
FINAL = {"sent", "delivered", "undelivered", "failed", "suppressed", "simulated", "read"}
_ORDER = {"queued": 0, "sending": 1, "accepted": 2, "sent": 3, "delivered": 4, "read": 5,
          "undelivered": 5, "failed": 5}


signals = Namespace()
# sent (as the message, with session=) whenever a message's delivery status moves: sent,
# delivered, failed... Routing follows its alerts through it; messaging calls nobody up.
delivery_changed = signals.signal("delivery-changed")


class SendFailed(RuntimeError):
    """Twilio refused the message for good."""


def queue_sms(session: Session, vault: Vault, to: str, body: str, purpose: str, *,
              reporter: Reporter | None = None, responder: Responder | None = None,
              alert_id: int | None = None, report_id: int | None = None,
              incident_id: int | None = None) -> Message | None:
    """Queue one SMS (flushes). None when the recipient must not be messaged."""
    if reporter is not None and (reporter.opted_out or reporter.blocked):
        return None
    if responder is not None and (responder.unreachable or not responder.active):
        return None
    channel, line = "sms", None
    if responder is not None and responder.channel == "whatsapp":
        channel = "whatsapp"
    elif reporter is not None:
        # a reporter is answered on the channel they last wrote on, to the line they wrote to
        last = session.execute(select(Message.channel, Message.flags).where(
            Message.reporter_id == reporter.id, Message.direction == "inbound")
            .order_by(Message.received_at.desc(), Message.id.desc()).limit(1)).first()
        if last is not None and last.channel == "whatsapp":
            channel, line = "whatsapp", (last.flags or {}).get("to")
    message = Message(
        twilio_sid=f"local-{uuid.uuid4().hex}", direction="outbound", channel=channel,
        reporter_id=reporter.id if reporter else None,
        responder_id=responder.id if responder else None,
        counterpart_hmac=vault.phone_hmac(to), counterpart_enc=vault.encrypt(to,
                                                                           "message.counterpart"),
        body_enc=vault.encrypt(body, "message.body"), status="queued", alert_id=alert_id,
        report_id=report_id, incident_id=incident_id, flags={"purpose": purpose, "attempts": 0,
                                    **({"line": line} if line else {})},
        received_at=utcnow(),
    )
    session.add(message)
    session.flush()
    outbox.defer(session, job_for(message), message.id)
    return message


_limiters: dict[int, SenderLimiter] = {}


def sender_limiter() -> SenderLimiter:
    """The app's sender limiter: in Redis when there is one, else in this process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    limiter = _limiters.get(id(app))
    if limiter is None:
        backend = outbox.backend_of(app)
        limiter = (RedisSenderLimiter(backend.redis) if isinstance(backend, rq_backend.RQBackend)
                   else LocalSenderLimiter())
        _limiters[id(app)] = limiter
    return limiter


def _suppressed(session: Session, message: Message) -> str | None:
    if message.reporter_id:
        reporter = session.get(Reporter, message.reporter_id)
        if reporter is not None and (reporter.opted_out or reporter.blocked):
            return "recipient opted out"
    if message.responder_id:
        responder = session.get(Responder, message.responder_id)
        if responder is not None and responder.unreachable:
            return "responder unreachable"
    subscriber_id = (message.flags or {}).get("subscriber")
    if subscriber_id is not None:
        # a community alert: only to a subscriber still confirmed (STOP mid-broadcast)
        status = session.scalar(select(Subscriber.status).where(Subscriber.id == subscriber_id))
        if status != "confirmed":
            return "subscriber stopped"
    return None


def send_message(session: Session, message_id: int, *, defer_if_late: bool = True) -> str:
    """Send one queued message; returns its new status. Commits: the claim must be durable
    before Twilio is called. A message whose sender slot is further off than a job may wait
    is run again by its send job when the slot comes; with `defer_if_late` False it is left
    queued (with its slot) and "later" is returned: its caller sends it again itself."""
    settings: Settings = current_app.config["SETTINGS"]
    vault: Vault = current_app.extensions["hotline_vault"]
    message = session.scalars(select(Message).where(Message.id == message_id)
                              .with_for_update()).one_or_none()
    if message is None or message.direction != "outbound" or message.status in FINAL:
        session.rollback()
        return message.status if message else "missing"
    to = vault.decrypt(message.counterpart_enc, "message.counterpart") or ""
    body = vault.decrypt(message.body_enc, "message.body") or ""
    flags = dict(message.flags or {})
    route = channels.route_of(session, settings, message)

    if message.status == "sending":
        # A previous run claimed it and then died or timed out: did Twilio take it? (on the
        # channel it was claimed for: a WhatsApp window may have closed since)
        found = _find_at_twilio(settings, channels.PREFIX + to if message.channel == "whatsapp"
                                else to, body, flags.get("claimed_at"))
        if found is not None:
            return _mark_sent(session, message, found, flags)

    reason = _suppressed(session, message) or (route if isinstance(route, str) else None)
    if reason is not None:
        message.status = "suppressed"
        message.flags = {**flags, "suppressed": reason}
        session.commit()
        logger.info("outbound message %s suppressed (%s)", message.id, reason)
        return "suppressed"

    if not can_send(settings):
        message.status = "simulated"
        message.processed_at = utcnow()
        session.commit()
        logger.info("outbound message %s (%s) simulated: no Twilio configured", message.id,
                    flags.get("purpose"))
        _after_status(session, message)
        session.commit()
        return "simulated"

    assert not isinstance(route, str)
    message.status = "sending"
    flags.update(claimed_at=utcnow().isoformat(), attempts=flags.get("attempts", 0) + 1)
    if route.channel == "whatsapp":
        flags["whatsapp"] = "template" if route.template else "session"
    elif route.fallback:
        message.channel = "sms"  # WhatsApp's window is closed and no template: a page by SMS
        flags["whatsapp"] = "sms_fallback"
    message.flags = flags
    session.commit()  # the claim is durable before the side effect

    # The sender's slot is reserved only now, right before the request (the limit is on what
    # arrives at Twilio), and kept until the message goes: a slot too far off is waited for by
    # running the job again when it comes, never by reserving another.
    timeout = float(current_app.config.get("TWILIO_TIMEOUT") or settings.twilio_timeout)
    client = make_client(settings, timeout)
    sender, wait = _take_slot(settings, str(message.id), lane_of(message), flags, route.senders)
    if wait > 0:
        message = session.get(Message, message_id)
        message.status = "queued"  # give the claim back, keep the slot
        message.flags = {**flags, "attempts": flags["attempts"] - 1}
        if not defer_if_late:
            session.commit()
            return "later"
        # wake up early enough that a late scheduler still finds the slot ahead
        outbox.defer(session, job_for(message), message_id,
                     run_at=utcnow() + timedelta(seconds=max(0.0, wait - MAX_INLINE_WAIT + 0.2)))
        session.commit()
        return "queued"
    flags["sender"] = sender
    try:
        sent = client.messages.create(**channels.create_params(settings, route, to, body, sender))
    except TwilioRestException as exc:
        if exc.status in RETRYABLE_HTTP:
            return _retry_later(session, message_id, f"HTTP {exc.status}")
        return _mark_failed(session, message_id, exc.code, f"HTTP {exc.status}")
    except RequestException as exc:
        # Timeout or connection reset: Twilio may or may not have taken it. Check first.
        found = _find_at_twilio(settings, route.address(to), body, flags["claimed_at"])
        if found is not None:
            message = session.get(Message, message_id)
            return _mark_sent(session, message, found, dict(message.flags))
        return _retry_later(session, message_id, type(exc).__name__)
    message = session.get(Message, message_id)
    return _mark_sent(session, message, sent.sid, {**message.flags, "sender": sender})


@dataclass(frozen=True)
class Claimed:
    """A low-lane message its sender recorded already claimed (status `sending`, with
    `claimed_at`, committed) and holds in clear: a broadcast's pump, which sends many in a
    row. A claimed message found later (its sender died) goes through `send_message`, which
    looks for it at Twilio before sending it again."""

    id: int
    to: str
    body: str
    flags: dict[str, Any]


def send_claimed(session: Session, item: Claimed) -> str:
    """Send a claimed message (`send_message`'s work without reloading, decrypting and
    claiming it); returns its new status, or "later" when its sender slot is further off
    than a job may wait (it is then queued again, with its slot). Commits."""
    settings: Settings = current_app.config["SETTINGS"]
    table = Message.__table__
    flags = dict(item.flags)
    if not can_send(settings):
        session.execute(table.update().where(table.c.id == item.id).values(
            status="simulated", processed_at=utcnow()))
        session.commit()
        return "simulated"
    route = channels.Route("sms", channels.sms_senders(settings))  # community alerts: SMS
    sender, wait = _take_slot(settings, str(item.id), "low", flags, route.senders)
    if wait > 0:
        session.execute(table.update().where(table.c.id == item.id).values(
            status="queued", flags={**flags, "attempts": max(0, flags.get("attempts", 1) - 1)}))
        session.commit()
        return "later"
    timeout = float(current_app.config.get("TWILIO_TIMEOUT") or settings.twilio_timeout)
    try:
        sent = make_client(settings, timeout).messages.create(
            **channels.create_params(settings, route, item.to, item.body, sender))
    except TwilioRestException as exc:
        if exc.status in RETRYABLE_HTTP:
            return _retry_later(session, item.id, f"HTTP {exc.status}")
        return _mark_failed(session, item.id, exc.code, f"HTTP {exc.status}")
    except RequestException as exc:
        found = _find_at_twilio(settings, item.to, item.body, flags.get("claimed_at"))
        if found is None:
            return _retry_later(session, item.id, type(exc).__name__)
        sent_sid = found
    else:
        sent_sid = sent.sid
    if session.get_bind().dialect.name == "postgresql":
        # Twilio has it: if PostgreSQL lost this commit in a crash, the claim left behind is
        # looked for at Twilio before anything is sent again, so the commit need not wait for
        # the disk (a broadcast sends a hundred a second)
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    session.execute(table.update().where(table.c.id == item.id, table.c.status == "sending")
                    .values(status="sent", twilio_sid=sent_sid, processed_at=utcnow(),
                            flags={**flags, "sender": sender}))
    session.commit()
    logger.info("outbound message %s sent as %s (%s)", item.id, sent_sid, flags.get("purpose"))
    return "sent"


def lane_of(message: Message) -> str:
    """"high" for what concerns an alert (a lawyer's page, a verifier's request, a
    retraction), "low" for the rest (acknowledgements, follow-up questions, relays)."""
    return "high" if message.alert_id is not None else "low"


def job_for(message: Message) -> str:
    """The send job of the message's lane: each lane has its own queue."""
    return "send_sms" if lane_of(message) == "high" else "send_reply"


def _take_slot(settings: Settings, member: str, lane: str, flags: dict[str, Any],
               senders: tuple[str, ...]) -> tuple[str, float]:
    """(sender, 0) once the message's slot has come and is its own; (sender, seconds) when the
    slot is further off than a job may sleep. The slot is recorded in `flags` (the caller
    commits it with the message), so a rerun keeps it."""
    limiter = sender_limiter()
    while True:
        held = flags.get("slot")
        if held is None:
            sender, wait = limiter.reserve(list(senders), settings.sender_rate,
                                           member=member, low=lane == "low")
            flags["slot"] = {"sender": sender, "at": limiter.now() + wait, "lane": lane}
        elif held["lane"] == "low":
            state, wait = limiter.claim(held["sender"], member)
            if state == "gone":  # expired with its key: reserve anew
                flags.pop("slot")
                continue
            if state == "go":
                return held["sender"], 0.0
            sender = held["sender"]
        else:
            sender, wait = held["sender"], held["at"] - limiter.now()
            if not -LATE <= wait <= 3600:  # missed (the job ran late), or another clock's
                flags.pop("slot")  # given up unused: sending late could crowd the next slot
                continue
        if wait > MAX_INLINE_WAIT:
            return sender, wait
        if wait > 0:
            time.sleep(wait)
        if lane == "high":
            return sender, 0.0
        # a low-lane message claims its slot now; a page may have taken it meanwhile


def _find_at_twilio(settings: Settings, to: str, body: str, since: str | None) -> str | None:
    """The SID of a message Twilio already holds for this recipient and body, if any (a
    WhatsApp template's body is its one variable: the same text)."""
    if not since or not can_send(settings):
        return None
    try:
        recent = make_client(settings, timeout=5).messages.list(to=to, limit=20)
    except (TwilioException, RequestException):
        # cannot tell: leave it to the retry (which checks again before sending)
        return None
    for candidate in recent:
        if candidate.body == body:
            return candidate.sid
    return None


def _mark_sent(session: Session, message: Message, sid: str, flags: dict[str, Any]) -> str:
    message.twilio_sid = sid
    message.status = "sent"
    message.processed_at = utcnow()
    message.flags = flags
    _after_status(session, message)
    session.commit()
    logger.info("outbound message %s sent as %s (%s)", message.id, sid, flags.get("purpose"))
    return "sent"


def _retry_later(session: Session, message_id: int, why: str) -> str:
    session.rollback()
    message = session.get(Message, message_id)
    attempts = (message.flags or {}).get("attempts", 1)
    if attempts >= MAX_SEND_ATTEMPTS:
        return _mark_failed(session, message_id, None, f"gave up after {attempts}: {why}")
    delay = min(300.0, 2.0 ** attempts) * (0.5 + random.random())  # backoff with full jitter
    message.status = "queued"
    # the slot went with the attempt: the retry takes a new one
    message.flags = {**{k: v for k, v in (message.flags or {}).items() if k != "slot"},
                     "last_error": why}
    outbox.defer(session, job_for(message), message_id,
                 run_at=utcnow() + timedelta(seconds=delay))
    session.commit()
    logger.warning("outbound message %s not accepted (%s); retry in %.1fs", message_id, why,
                   delay)
    return "queued"


def _mark_failed(session: Session, message_id: int, code: int | None, why: str) -> str:
    session.rollback()
    message = session.get(Message, message_id)
    message.status = "failed"
    message.error_code = code
    message.flags = {**(message.flags or {}), "last_error": why}
    message.processed_at = utcnow()
    _after_status(session, message)
    session.commit()
    logger.warning("outbound message %s failed (%s, code %s)", message_id, why, code)
    return "failed"


def apply_status_callback(session: Session, sid: str, status: str,
                          error_code: int | None) -> Message | None:
    """A delivery status from Twilio; statuses only move forward (callbacks can arrive out of
    order). One UPDATE does it; the message is loaded only when the status has consequences
    (an alert's SMS, an opt-out at the carrier). Flushes; returns that message, if any."""
    params: dict[str, Any] = {"sid": sid, "rank": _ORDER.get(status, -1), "new": status}
    if error_code:
        params["code"] = error_code
    statement = _status_statement(bool(error_code))
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        # one statement in autocommit: no BEGIN and COMMIT round trips (the webhook's way)
        with db.state().autocommit.connect() as connection:
            row = connection.execute(statement, params).one_or_none()
    else:
        row = session.execute(statement, params).one_or_none()
    if row is None:
        return None  # an unknown SID, or a status older than the one recorded
    logger.info("status %s for outbound message %s", status, row.id)
    if row.alert_id is None and row.error_code != OPTED_OUT:
        return None  # nobody follows it: a reply, a community alert
    message = session.get(Message, row.id)
    if message is not None:
        session.refresh(message)
        _after_status(session, message)
        session.flush()
    return message


_STATUS_STATEMENTS: dict[bool, Any] = {}


def _status_statement(with_code: bool) -> Any:  # noqa: ANN401 - a Core statement
    """UPDATE of a message's status, only forward, RETURNING what says whether it matters;
    built once (it runs for every status callback)."""
    if with_code not in _STATUS_STATEMENTS:
        table = Message.__table__
        rank = case(_ORDER, value=table.c.status, else_=0)
        values = {"status": bindparam("new")}
        if with_code:
            values["error_code"] = bindparam("code")
        _STATUS_STATEMENTS[with_code] = (
            table.update().where(table.c.twilio_sid == bindparam("sid"),
                                 rank <= bindparam("rank")).values(**values)
            .returning(table.c.id, table.c.alert_id, table.c.reporter_id,
                       table.c.responder_id, table.c.error_code))
    return _STATUS_STATEMENTS[with_code]


def _after_status(session: Session, message: Message) -> None:
    """Consequences of a delivery outcome: opted-out recipients here; what it means for an alert
is for the receivers of `delivery_changed` (routing)."""
    if message.error_code == OPTED_OUT:
        if message.responder_id:
            responder = session.get(Responder, message.responder_id)
            if responder is not None:
                responder.unreachable = True
                logger.warning("responder %s opted out at the carrier (21610): unreachable",
                               responder.key)
        if message.reporter_id:
            reporter = session.get(Reporter, message.reporter_id)
            if reporter is not None:
                reporter.opted_out = True
                logger.info("reporter %s opted out at the carrier",
                            reference(reporter.phone_hmac))
    delivery_changed.send(message, session=session)
