"""The webhook's side of an inbound message: stored durably and idempotently, then handed to
the triage job (`hotline.intake.dispatch`).

The webhook does only what its reply needs (who sent it, which language, a keyword, a rate-limit
count). The job does the rest.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Boolean, Engine, bindparam, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from hotline.broadcasts import subscriptions
from hotline.core.extensions import autocommit_checkout, db, give_back
from hotline.core.languages import Languages, fold_phrase, load_languages
from hotline.core.phones import normalize_phone
from hotline.incidents import abuse
from hotline.intake.commands import parse_availability, parse_command
from hotline.intake.keywords import keyword_language, keyword_of, language_named
from hotline.jobs import outbox
from hotline.models import Message, Reporter, Responder, utcnow
from hotline.privacy.vault import Vault, reference
from hotline.triage import questions
from hotline.triage.language import detect

logger = logging.getLogger(__name__)

SID = re.compile(r"^(SM|MM|SMS|CA|RE)[0-9a-fA-F]{32}$")
MAX_MEDIA = 10
# the opt-out words Twilio handles itself on long codes, replying on its own
# (https://www.twilio.com/docs/messaging/tutorials/advanced-opt-out)
TWILIO_OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit",
                                  "revoke", "optout"})
MAX_FROM = 64  # "whatsapp:+" and 15 digits is Twilio's longest; the ciphertext must fit 255


class BadWebhook(ValueError):
    """A signed request that still lacks what a Twilio message webhook always has."""


@dataclass(frozen=True)
class Inbound:
    """What the webhook needs to answer."""

    message_id: int | None
    created: bool
    reporter_id: int
    language: str
    keyword: str | None
    opted_out: bool
    phone_hmac: str
    received_at: datetime
    blocked: bool = False
    command: bool = False
    # nothing tells the language: not the message (too unsure) and no earlier one
    language_unknown: bool = False
    # a US sender's area code (which jurisdiction's languages to offer), else ""
    area_code: str = ""
    to: str = ""  # the hotline number texted (names a jurisdiction when configured)
    # Twilio opted the sender out itself (Advanced Opt-Out said so, or one of its default
    # English opt-out words) and answered them
    twilio_opted_out: bool = False
    responder: bool = False  # the sender is an active responder: never a report
    # OFF / ON / STATUS: a command when the sender is a responder (answered by the job)
    availability: bool = False
    rate_limited: bool = False  # set by `hand_over`
    deferred: outbox.Deferred | None = None  # the triage job `hand_over` enqueues
    # a request for community alerts ("ALERTS 60623"), answered by the webhook; and the
    # sender's number it needs (never logged)
    alerts: subscriptions.AlertsRequest | None = None
    question: str | None = None  # "rights" or "rumour" (triage.questions): no report
    sender: str = field(default="", repr=False)

    @property
    def counts(self) -> bool:
        """Whether this message counts against its sender's rate limit: a new one, no keyword."""
        return self.created and self.keyword is None


# keywords that change the reporter, and how (on the webhook, before the reply)
_REPORTER_KEYWORDS: dict[str, dict[str, bool]] = {
    "stop": {"opted_out": True}, "start": {"opted_out": False},
    "consent": {"consent_contact": True}}
# ... and a responder's reachability: after STOP the carrier refuses every page (21610) until
# START, so Hotline stops paging them, and pages them again after START
_RESPONDER_KEYWORDS: dict[str, dict[str, bool]] = {
    "stop": {"unreachable": True}, "start": {"unreachable": False}}


_STATEMENTS: dict[tuple[str, str], Any] = {}


def _statement(session: Session, name: str) -> Any:  # noqa: ANN401 - a Core statement
    """The webhook's INSERTs, built once per dialect: this is the hot path."""
    dialect = session.get_bind().dialect.name
    key = (dialect, name)
    if key not in _STATEMENTS:
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        _STATEMENTS[key] = _build(insert, name)
    return _STATEMENTS[key]


def _build(insert: Any, name: str) -> Any:  # noqa: ANN401
    if name == "reporter":
        table = Reporter.__table__
        stmt = insert(table).values(
            phone_hmac=bindparam("phone_hmac"), phone_enc=bindparam("phone_enc"),
            language=bindparam("language"), created_at=bindparam("now", type_=table.c.created_at
                                                                 .type),
            last_seen_at=bindparam("now", type_=table.c.last_seen_at.type), trust_score=0.5,
            confirmed_count=0, false_alarm_count=0, opted_out=False, blocked=False,
            consent_contact=False)
        excluded = stmt.excluded
        return stmt.on_conflict_do_update(
            index_elements=[table.c.phone_hmac],
            set_={"last_seen_at": excluded.last_seen_at,
                  # a keyword's language fills in an unknown one, never replaces it
                  "language": case((bindparam("weak", type_=Boolean()),
                                    func.coalesce(table.c.language, excluded.language)),
                                   else_=func.coalesce(excluded.language, table.c.language)),
                  # sealed again under today's data key with last_seen_at, so the number
                  # lives exactly as long as retention keeps it (and a purged one returns)
                  "phone_enc": excluded.phone_enc},
        ).returning(table.c.id, table.c.language, table.c.opted_out, table.c.blocked,
                    table.c.phone_hmac)
    table = Message.__table__
    return insert(table).values(
        twilio_sid=bindparam("sid"), direction="inbound", channel=bindparam("channel"),
        reporter_id=bindparam("reporter_id"), counterpart_hmac=bindparam("hmac"),
        counterpart_enc=bindparam("counterpart_enc"), body_enc=bindparam("body_enc"),
        media=bindparam("media", type_=table.c.media.type), language=bindparam("language"),
        status="received", flags=bindparam("flags", type_=table.c.flags.type),
        received_at=bindparam("now", type_=table.c.received_at.type),
    ).on_conflict_do_nothing(index_elements=[table.c.twilio_sid]).returning(table.c.id)


# On PostgreSQL the webhook stores the reporter, the message and its triage job in ONE round trip
# (data-modifying CTEs); SQLite, which has none, runs the same three statements one by one.
# Written in psycopg's own %(name)s parameters and sent to the driver (`_store_alone`; in a
# session's transaction through exec_driver_sql): the hot path skips SQLAlchemy's statement
# compilation and bind processing; psycopg prepares it after a few executions.
_PG_STORE = """
WITH r AS (
  INSERT INTO reporters (phone_hmac, phone_enc, language, created_at, last_seen_at, trust_score,
                         confirmed_count, false_alarm_count, opted_out, blocked, consent_contact)
  VALUES (%(phone_hmac)s, %(phone_enc)s, %(remember)s, %(now)s, %(now)s, 0.5, 0, 0, false, false,
          false)
  ON CONFLICT (phone_hmac) DO UPDATE SET
    last_seen_at = excluded.last_seen_at,
    language = CASE WHEN %(weak)s THEN coalesce(reporters.language, excluded.language)
                    ELSE coalesce(excluded.language, reporters.language) END,
    phone_enc = excluded.phone_enc
  RETURNING id, language, opted_out, blocked
), k AS (
  SELECT EXISTS (SELECT 1 FROM responders WHERE phone_hmac = %(phone_hmac)s AND active)
    AS responder
), m AS (
  INSERT INTO messages (twilio_sid, direction, channel, reporter_id, counterpart_hmac,
                        counterpart_enc, body_enc, media, language, status, flags, received_at)
  SELECT %(sid)s, 'inbound', %(channel)s, r.id, %(phone_hmac)s, %(counterpart_enc)s, %(body_enc)s,
         CAST(%(media)s AS json), coalesce(%(language)s, r.language, 'en'), 'received',
         CAST(CAST(CASE WHEN r.blocked THEN %(flags_blocked)s ELSE %(flags)s END AS jsonb)
              || CASE WHEN k.responder THEN jsonb '{"responder": true}' ELSE jsonb '{}' END
              AS json), %(now)s
  FROM r, k
  ON CONFLICT (twilio_sid) DO NOTHING
  RETURNING id
), o AS (
  INSERT INTO outbox_jobs (job, args, run_at, created_at, attempts)
  SELECT 'triage_message', json_build_array(m.id), %(now)s, %(now)s, 0
  FROM m, r WHERE %(defer)s AND NOT r.blocked
  RETURNING id
)
SELECT r.id, r.language, r.opted_out, r.blocked, (SELECT id FROM m) AS message_id,
       (SELECT id FROM o) AS outbox_id, k.responder
FROM r, k
"""


def media_of(form: Mapping[str, str]) -> list[dict[str, str]]:
    """Media references (URL and content type) of an MMS; nothing is downloaded."""
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        raise BadWebhook("NumMedia is not a number") from None
    return [{"url": form.get(f"MediaUrl{i}", ""),
             "content_type": form.get(f"MediaContentType{i}", "")}
            for i in range(count) if form.get(f"MediaUrl{i}")]


def upsert_reporter(session: Session, vault: Vault, e164: str,
                    language: str | None = None) -> Any:  # noqa: ANN401
    """(id, language, opted_out, blocked, phone_hmac) of the sender; one statement.

    `language`, when given, becomes the remembered language; otherwise the old one stays and
    is returned.
    """
    return session.execute(_statement(session, "reporter"), {
        "phone_hmac": vault.phone_hmac(e164), "phone_enc": vault.encrypt(e164, "reporter.phone"),
        "language": language, "weak": False, "now": utcnow()}).one()


def record_inbound_sms(session: Session, vault: Vault, form: Mapping[str, str],
                       region: str = "US") -> Inbound:
    """Store one inbound SMS/MMS exactly once (unique on MessageSid) and defer its processing.

    On PostgreSQL an ordinary message is stored by one statement in autocommit: it is committed
    when this returns. Otherwise (SQLite; STOP, START and CONSENT, which also update the
    reporter) it flushes in the session's transaction and the webhook commits before it answers.
    """
    sid = (form.get("MessageSid") or form.get("SmsSid") or "").strip()
    if not SID.match(sid):
        raise BadWebhook("MessageSid missing or malformed")
    sender = (form.get("From") or "").strip()
    if not sender:
        raise BadWebhook("From missing")
    if len(sender) > MAX_FROM:
        raise BadWebhook(f"From longer than {MAX_FROM} characters")
    # WhatsApp comes to the same webhook from "whatsapp:+1...": the same person as the number
    # (https://www.twilio.com/docs/whatsapp/api#receiving-messages)
    whatsapp = sender.lower().startswith("whatsapp:")
    if whatsapp:
        sender = sender[len("whatsapp:"):].strip()
        if not sender:
            raise BadWebhook("From missing")
    try:
        e164 = normalize_phone(sender, region)
    except ValueError:
        e164 = sender  # short codes and alphanumeric senders: still stored, still answered
    body = form.get("Body") or ""
    media = media_of(form)

    languages = _languages()
    keyword = keyword_of(body, languages, form.get("OptOutType"))
    command = parse_command(body) if keyword is None else None
    availability = keyword is None and command is None and \
        parse_availability(body, languages) is not None
    alerts = None
    detected = None
    clear = usable = False
    if keyword is not None:
        detected = keyword_language(body, languages)  # AYUDA is Spanish; STOP says nothing
    elif command is None and (alerts := subscriptions.parse_request(body, languages)):
        keyword, detected = "alerts", alerts.language  # "ALERTAS Pilsen": not a report
    elif command is None and (named := language_named(body, languages)) is not None:
        keyword, detected = "language", named  # "Kreyòl": from now on, in Haitian Creole
    elif command is None and body.strip():
        found = detect(body, None, languages)
        detected, clear, usable = found.tag, found.clear, found.usable
    # remembered: a clear message's language and a language named replace the one known; a
    # usable message's or a keyword's fill in only an unknown one (AIDE says French; "ha" or
    # "ICE at 60608" switch nobody who wrote before)
    remember = detected if usable or keyword is not None else None
    phone_hmac = vault.phone_hmac(e164)
    if keyword == "consent" and subscriptions.has_pending(session, phone_hmac):
        keyword = "alerts_yes"  # YES to "reply YES to confirm" alerts: no consent to contact
    flags: dict[str, Any] = {}
    to = (form.get("To") or "").strip().removeprefix("whatsapp:")
    if to.startswith("+") and len(to) <= 16:
        flags["to"] = to  # the hotline number: which jurisdiction's line (not personal data)
    if keyword:
        flags["keyword"] = keyword
    if command:
        flags["command"] = True
    question = questions.kind_of(
        body, questions.rights_phrases(languages), questions.ask_phrases(languages),
        questions.read_as_english(body, languages[detected] if detected in languages else None),
    ) if keyword is None and command is None and not media else None
    if question:
        flags["question_asked"] = question  # the webhook holds its acknowledgement back
    now = utcnow()
    phone_enc, counterpart_enc, body_enc = vault.encrypt_all(
        (e164, "reporter.phone"), (e164, "message.counterpart"), (body, "message.body"))
    params = {
        "phone_hmac": phone_hmac, "phone_enc": phone_enc,
        "remember": remember, "now": now, "sid": sid,
        "channel": "whatsapp" if whatsapp else "mms" if media else "sms",
        "counterpart_enc": counterpart_enc, "body_enc": body_enc, "media": media,
        "language": remember,
        "weak": keyword != "language" and not clear, "flags": flags,
        "defer": keyword not in ("stop", "start", "consent", "help", "rights", "language",
                                 "alerts", "alerts_yes"),
    }
    if session.get_bind().dialect.name == "postgresql":
        if keyword not in _REPORTER_KEYWORDS and not session.in_transaction():
            # One statement stores everything, atomically: run it in autocommit, which saves
            # the BEGIN and COMMIT round trips (and the ORM's bookkeeping). STOP, START and
            # CONSENT also update the reporter, so they keep a transaction around both.
            stored = _store_alone(db.state().engine, params)
        else:
            stored = _store_postgres(session, params)
    else:
        stored = _store_stepwise(session, params)
    reporter_id, remembered, opted_out, blocked, message_id, outbox_id, responder = stored
    # a clear message is answered in its language, a keyword in the reporter's (or its own when
    # none is known), anything unclear in the language we remember
    if detected is not None and (clear or keyword == "language"):
        language = detected
    else:
        language = remembered or detected or languages.fallback[0]
    unknown = keyword is None and command is None and remembered is None
    if keyword == "consent" and remembered and detected and \
            detected.partition("-")[0] not in (remembered.partition("-")[0], "en"):
        # another language's yes ("ha", "oo" from an English speaker) is not consent
        keyword = "foreign_consent"
    created = message_id is not None
    if created:
        values = _REPORTER_KEYWORDS.get(keyword or "")
        if values:
            session.execute(Reporter.__table__.update().where(Reporter.id == reporter_id)
                            .values(**values))
            opted_out = values.get("opted_out", opted_out)
        if keyword == "stop":
            subscriptions.stop(session, phone_hmac)  # STOP ends community alerts too
        reachability = _RESPONDER_KEYWORDS.get(keyword or "")
        if reachability:
            session.execute(Responder.__table__.update().where(
                Responder.phone_hmac == phone_hmac).values(**reachability))
        logger.debug("inbound sms %s stored as message %s reporter %s", sid, message_id,
                     reference(phone_hmac))
    else:
        logger.info("inbound sms %s is a repeat; nothing stored", sid)
    return Inbound(
        message_id, created, reporter_id, language, keyword, opted_out, phone_hmac, now,
        blocked=blocked, command=command is not None, responder=responder,
        availability=availability, language_unknown=unknown,
        twilio_opted_out=keyword == "stop" and (
            bool((form.get("OptOutType") or "").strip())
            or fold_phrase(body) in TWILIO_OPT_OUT_WORDS),
        area_code=e164[2:5] if e164.startswith("+1") and len(e164) == 12 else "",
        alerts=alerts, sender=e164 if alerts is not None or keyword == "alerts_yes" else "",
        question=question,
        to=flags.get("to", ""),
        deferred=outbox.Deferred(outbox_id, "triage_message", [message_id], now)
        if outbox_id is not None else None)


def _languages() -> Languages:
    return load_languages(current_app.config["SETTINGS"].config_dir)


def hand_over(session: Session, inbound: Inbound) -> Inbound:
    """After the webhook's commit: enqueue the triage job and count the message against its
    sender's rate limit, together in one Redis round trip; `inbound` with `rate_limited` set.

    Without Redis (the embedded default, or Redis away) the count comes from the database, which
    the commit has just made include this message; the job is then left to the outbox runner or
    the sweeper.
    """
    pending = [(d.id, d.job, d.args, d.run_at) for d in [inbound.deferred] if d is not None]
    counter = abuse.rate_counter(inbound.phone_hmac, inbound.received_at) \
        if inbound.counts else None
    if not pending and counter is None:
        return inbound
    count = outbox.backend_of(current_app).dispatch(pending, counter)
    if counter is None or inbound.message_id is None:
        return inbound
    if count is None:
        count = abuse.counted_in_window(session, inbound.phone_hmac, inbound.received_at,
                                        inbound.message_id)
    return replace(inbound, rate_limited=abuse.over_rate_limit(count) and not inbound.blocked)


def _driver_params(params: dict[str, Any]) -> dict[str, Any]:
    flags = params["flags"]
    return {**params, "media": json.dumps(params["media"]), "flags": json.dumps(flags),
            "flags_blocked": json.dumps({**flags, "blocked": True})}


def _store_postgres(session: Session, params: dict[str, Any]) -> tuple[Any, ...]:
    """The store in the session's transaction (STOP, START, CONSENT: more follows)."""
    row = session.connection().exec_driver_sql(_PG_STORE, _driver_params(params)).one()
    return tuple(row)


def _store_alone(engine: Engine, params: dict[str, Any]) -> tuple[Any, ...]:
    """The store in autocommit, at the driver (psycopg) on a connection of the pool.

    Through SQLAlchemy's `Connection` the statement cost 0.1-0.2 ms more CPU (its connection,
    execution context and result objects), about a tenth of the webhook's own. What SQLAlchemy
    would do on an error is done by `core.extensions.autocommit_checkout` (the leases use it
    too): a connection that failed is never pooled again, and a lost one (PostgreSQL restarted)
    recycles every connection of its generation, as the pool does. The statement is idempotent
    (unique on MessageSid), so after a lost connection it is tried once more on a new one, and
    the sender's message is not refused for it. Had the first try committed before its answer
    was lost, the second finds a repeat: the webhook answers, and the triage job already stored
    is enqueued by the sweeper."""
    values = _driver_params(params)
    pooled, row = autocommit_checkout(
        engine, lambda connection: connection.execute(_PG_STORE, values).fetchone(),
        "webhook store")
    give_back(engine, pooled)
    return tuple(row)


def _store_stepwise(session: Session, params: dict[str, Any]) -> tuple[Any, ...]:
    reporter = session.execute(_statement(session, "reporter"), {
        "phone_hmac": params["phone_hmac"], "phone_enc": params["phone_enc"],
        "language": params["remember"], "weak": params["weak"], "now": params["now"]}).one()
    responder = session.scalar(select(Responder.id).where(
        Responder.phone_hmac == params["phone_hmac"], Responder.active.is_(True)).limit(1))
    flags = {**params["flags"], **({"blocked": True} if reporter.blocked else {}),
             **({"responder": True} if responder is not None else {})}
    message_id = session.execute(_statement(session, "message"), {
        "sid": params["sid"], "channel": params["channel"], "reporter_id": reporter.id,
        "hmac": params["phone_hmac"], "counterpart_enc": params["counterpart_enc"],
        "body_enc": params["body_enc"], "media": params["media"],
        "language": params["language"] or reporter.language or "en", "flags": flags,
        "now": params["now"]}).scalar_one_or_none()
    outbox_id = None
    if message_id is not None and params["defer"] and not reporter.blocked:
        deferred = outbox.defer(session, "triage_message", message_id, track=False)
        outbox_id = deferred.id if deferred else None
    return (reporter.id, reporter.language, reporter.opted_out, reporter.blocked, message_id,
            outbox_id, responder is not None)
