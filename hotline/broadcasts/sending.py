"""Sending a broadcast: a pump job, one at a time per broadcast, at `HOTLINE_BROADCAST_RATE`
messages per second in all (paced in Redis across every worker), never at the expense of pages.

Exactly once: each recipient row is handed to one message in the transaction that creates it,
the message recorded already claimed (`sending`), and sent by `outbound.send_claimed`. Only one
pump runs per broadcast (a lease on the row, renewed as it goes), so two pumps never send one
message; a pump killed mid-tick is run again by the outbox sweeper, and once the lease has
lapsed it sends the claims left behind through `outbound.send_message`, which looks for each at
Twilio before sending it again.

Pages first: the job is on the `broadcasts` queue (after `alerts` and `timers`); a tick sends
for up to TICK_SECONDS and ends early when a page has found no free worker; its messages take
low-lane sender slots, which a page takes over (pacing). While SENDERS threads send, the pump's
own thread looks every SUPERVISE_EVERY whether the broadcast was cancelled (nothing more is
sent) and who sent STOP or ALERTS OFF (skipped from then on), renews the lease and hands out
the next batch.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Protocol

from flask import current_app
from redis import Redis
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from hotline.broadcasts.drafts import text_for
from hotline.core.extensions import db
from hotline.core.settings import Settings
from hotline.jobs import outbox, rq_backend
from hotline.messaging import outbound
from hotline.models import Broadcast, BroadcastRecipient, Message, Subscriber, utcnow
from hotline.privacy.vault import Vault

logger = logging.getLogger(__name__)

# a pump job sends for at most this long, then hands over to the next; it hands over at once
# when a job of a queue before its own (a page, a timer) is waiting for a worker
TICK_SECONDS = 30.0
TICK_SECONDS_INLINE = 1.0  # the embedded default's one worker thread cannot be asked
BATCH = 50  # recipients handed to messages per transaction
CHECK_EVERY = 25  # inline (SQLite): messages between two looks at cancelling and at STOPs
SENDERS = 4  # threads of a pump sending at once (PostgreSQL)
LEASE = timedelta(seconds=15)  # longer than one send can take (Twilio timeout + a slot wait)
RENEW_EVERY = 3.0  # seconds between lease renewals
# A broadcast's sends are paced in windows on one clock (Redis's, shared by every worker): a
# window of one second holds floor(rate) slots (at a rate under 1, a window of 1/rate seconds
# holds one), spread over its first WINDOW - GUARD seconds. A sender late for its slot sends as
# soon as it can while the window is open, so a stall is made up instead of being lost time, but
# never faster than CATCH_UP_SPEED times the rate; a window's slots left unused are gone when it
# closes. No clock second then holds more than the rate, a request that takes up to GUARD to
# reach Twilio still arrives within its own second, and any one-second window (straddling two
# clock seconds) holds at most about CATCH_UP_SPEED times the rate, briefly, after a stall.
GUARD = 0.1
CATCH_UP_SPEED = 1.2
AHEAD = 600.0  # seconds: a next slot further ahead is a clock set back, and is started afresh
UNFINISHED = ("queued", "sending")


class Pacer(Protocol):
    """The broadcast rate, shared by every pump of every process."""

    def reserve(self, rate: float) -> tuple[float, float]:
        """Reserve the next send slot: (seconds to wait for it, 0 for now; seconds until its
        window closes, after which it must not be used)."""


def windows(rate: float) -> tuple[float, int, float]:
    """(a window's length in seconds, its slots, the part of it they are spread over)."""
    window = 1.0 if rate >= 1 else 1.0 / rate
    return window, max(1, int(rate * window + 1e-9)), window - GUARD


Held = tuple[int, int, float]  # the next slot: its window, its index; the last slot's time


def next_slot(now: float, held: Held | None, rate: float) -> tuple[float, float, Held]:
    """The slot a reservation made at `now` gets, given what is `held`: (its time, its
    window's close, what is held next). `_RESERVE` is the same in Lua."""
    window, slots, span = windows(rate)
    gap = span / slots
    current = int(now // window)
    held_window, index, last = held if held is not None else (current - 2, 0, 0.0)
    if held_window == current - 1:
        held_window, index = current, 0  # sending went on over the turn: catch up from the start
    elif not current - 1 < held_window <= current + AHEAD / window:  # idle (or a clock set back)
        held_window, last = current, 0.0
        index = min(slots - 1, int(-(-(now - current * window) // gap)))
    # (a window ahead, booked already, or this one: its next slot, soon if that has passed)
    if held_window == current and (index >= slots or now >= current * window + span):
        held_window, index = current + 1, 0  # this window is used up, or closing
    soonest = last + gap / CATCH_UP_SPEED
    at = max(held_window * window + index * gap, soonest, now)  # when it goes
    if at >= held_window * window + span:  # catching up ran into the window's close
        held_window, index = held_window + 1, 0
        at = max(held_window * window, soonest)
    after = (held_window, index + 1) if index + 1 < slots else (held_window + 1, 0)
    return at, held_window * window + span, (*after, at)


class LocalPacer:
    """The pacer of the embedded default: one process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: Held | None = None

    def reserve(self, rate: float) -> tuple[float, float]:
        with self._lock:
            now = time.time()
            at, close, self._held = next_slot(now, self._held, rate)
            return max(0.0, at - now), close - now


# `next_slot` on Redis's own clock, the one every worker of every machine shares.
# KEYS: what is held ("window:index:last"). ARGV: window, slots, span, AHEAD, CATCH_UP_SPEED.
# Returns {wait, close}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window, slots, span = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ahead, speed = tonumber(ARGV[4]), tonumber(ARGV[5])
local gap = span / slots
local current = math.floor(now / window)
local held_window, index, last = current - 2, 0, 0
local held = redis.call('GET', KEYS[1])
if held then
  local a = string.find(held, ':', 1, true)
  local b = string.find(held, ':', a + 1, true)
  held_window = tonumber(string.sub(held, 1, a - 1))
  index = tonumber(string.sub(held, a + 1, b - 1))
  last = tonumber(string.sub(held, b + 1))
end
if held_window == current - 1 then
  held_window, index = current, 0
elseif held_window < current - 1 or held_window > current + ahead / window then
  held_window, last = current, 0
  index = math.min(slots - 1, math.ceil((now - current * window) / gap))
end
if held_window == current and (index >= slots or now >= current * window + span) then
  held_window, index = current + 1, 0
end
local soonest = last + gap / speed
local at = held_window * window + index * gap
if soonest > at then at = soonest end
if now > at then at = now end
if at >= held_window * window + span then
  held_window, index = held_window + 1, 0
  at = held_window * window
  if soonest > at then at = soonest end
end
local after_window, after_index = held_window, index + 1
if after_index >= slots then after_window, after_index = held_window + 1, 0 end
redis.call('SET', KEYS[1], string.format('%d:%d:%.6f', after_window, after_index, at), 'EX', 3600)
local wait = at - now
if wait < 0 then wait = 0 end
return {string.format('%.6f', wait), string.format('%.6f', held_window * window + span - now)}
"""


class RedisPacer:
    """The pacer shared by every worker: the next slot in one Redis key."""

    KEY = "hotline:broadcast:held"

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_RESERVE)

    def reserve(self, rate: float) -> tuple[float, float]:
        wait, close = self._script(keys=[self.KEY],
                                   args=[*windows(rate), AHEAD, CATCH_UP_SPEED])
        return float(wait), float(close)


_pacers: dict[int, Pacer] = {}


def pacer() -> Pacer:
    """The app's broadcast pacer: in Redis when there is one, else in this process."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = _pacers.get(id(app))
    if found is None:
        backend = outbox.backend_of(app)
        found = RedisPacer(backend.redis) if isinstance(backend, rq_backend.RQBackend) \
            else LocalPacer()
        _pacers[id(app)] = found
    return found


def pump(session: Session, broadcast_id: int) -> str:
    """One tick of a broadcast's sending; defers the next tick until every recipient is done.
    Returns the broadcast's status (or "busy" when another pump holds it)."""
    settings: Settings = current_app.config["SETTINGS"]
    broadcast = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id)
                                .with_for_update()).one_or_none()
    if broadcast is None or broadcast.status != "sending":
        session.rollback()
        return broadcast.status if broadcast else "missing"
    now = utcnow()
    if broadcast.pump_until is not None and broadcast.pump_until > now:
        # another pump is at it (or died and its lease has not lapsed): look again then
        outbox.defer(session, "broadcast_pump", broadcast_id,
                     run_at=broadcast.pump_until + timedelta(seconds=0.5))
        session.commit()
        return "busy"
    broadcast.pump_until = now + LEASE
    session.commit()

    lease = _Lease(session, broadcast_id)
    waiting = _waiting_before()
    deadline = time.monotonic() + (TICK_SECONDS if waiting is not None else TICK_SECONDS_INLINE)
    sent, later = 0, None
    # first what an earlier pump left: it died, or the sender pool was full (only before the
    # run: during it, what is handed out is claimed by this pump and being sent)
    while later is None and time.monotonic() < deadline and \
            (unfinished := _unfinished(session, broadcast_id)):
        for message_id in unfinished:
            lease.renew()
            _wait_for_slot(settings)
            if outbound.send_message(session, message_id, defer_if_late=False) == "later":
                later = 2.0
                break
            sent += 1
    if later is None:
        run = _Run(session, broadcast_id, deadline)
        _send_run(session, settings, run, lease, waiting)
        sent += len(run.done)
        if run.cancelled.is_set():
            _unclaim(session, run.left())
            _drop(session, broadcast_id)
            return "cancelled"
        if run.full.is_set():  # the sender pool is full: look again when it frees up
            _unclaim(session, run.left())
            later = 2.0
    return _hand_over(session, broadcast_id, sent, later)


def _waiting_before() -> Callable[[], bool] | None:
    """A test of whether a job of a queue before `broadcasts` (alerts, timers) is waiting for
    a worker (RQ); None for the embedded default, whose ticks are short instead."""
    backend = outbox.backend_of(current_app._get_current_object())  # type: ignore[attr-defined]
    if not isinstance(backend, rq_backend.RQBackend):
        return None
    before = outbox.QUEUES[:outbox.QUEUES.index("broadcasts")]
    queues = [backend.queue(name) for name in before]
    return lambda: any(queue.count for queue in queues)


def _threads(session: Session) -> bool:
    """Whether a pump sends with threads (PostgreSQL; SQLite has one writer at a time)."""
    return session.get_bind().dialect.name == "postgresql" and SENDERS > 1


_pools: dict[str, ThreadPoolExecutor] = {}
_pools_lock = threading.Lock()


class _Run:
    """The messages of one tick: handed out a batch at a time as they are sent, by the
    supervising thread, while SENDERS threads send them one after another at their slots."""

    def __init__(self, session: Session, broadcast_id: int, deadline: float) -> None:
        self.session, self.broadcast_id, self.deadline = session, broadcast_id, deadline
        self.items: list[outbound.Claimed] = []
        self.pending: collections.deque[outbound.Claimed] = collections.deque()
        self.done: set[int] = set()  # sent, or settled (suppressed, failed, retried later)
        self.stopped: set[int] = set()  # subscribers who sent STOP or ALERTS OFF meanwhile
        self.full = threading.Event()  # the sender pool had no slot soon enough
        self.cancelled = threading.Event()
        self.fed = threading.Event()  # nothing more will be handed out this tick
        self.page_seen = False

    def feed(self) -> None:
        """Hand out the next batch when fewer than one is left (or say there is no more)."""
        if self.fed.is_set() or len(self.pending) >= BATCH:
            return
        if time.monotonic() >= self.deadline or self.full.is_set() or \
                self.cancelled.is_set():
            self.fed.set()
            return
        batch = _hand_out(self.session, self.broadcast_id)
        if not batch:
            self.fed.set()
            return
        self.items.extend(batch)
        self.pending.extend(batch)

    def left(self) -> list[int]:
        """The messages handed out and not sent."""
        return [item.id for item in self.items if item.id not in self.done]

    def send(self, session: Session, settings: Settings,
             supervise: Callable[[], None] | None = None) -> None:
        """Send what is handed out until the tick's end (or the pool is full, or the
        broadcast cancelled); inline, `supervise` every CHECK_EVERY messages."""
        count = 0
        while not (self.full.is_set() or self.cancelled.is_set()):
            try:
                item = self.pending.popleft()
            except IndexError:
                if self.fed.is_set():
                    return
                if supervise is not None:
                    supervise()  # inline: hand out the next batch now
                else:
                    time.sleep(0.005)  # the supervisor is handing out the next batch
                continue
            count += 1
            if supervise is not None and count % CHECK_EVERY == 0:
                supervise()
                if self.cancelled.is_set():
                    return  # `left()` has it: never sent
            if item.flags["subscriber"] in self.stopped:
                _suppress(session, item.id)
                self.done.add(item.id)
                continue
            _wait_for_slot(settings)
            if outbound.send_claimed(session, item) == "later":
                self.full.set()
                return
            self.done.add(item.id)


SUPERVISE_EVERY = 0.2  # seconds between the supervisor's looks (cancel, STOP, pages, lease)


def _send_run(session: Session, settings: Settings, run: _Run, lease: _Lease,
              waiting: Callable[[], bool] | None) -> None:
    """Send a tick's messages, each at its broadcast slot. On PostgreSQL, SENDERS threads send
    at once, each with its own session (a send waits on Twilio and on the database more than
    it computes), while this thread supervises: every SUPERVISE_EVERY it looks whether the
    broadcast was cancelled, who of those handed out sent STOP, and whether a page waits for
    a worker (then the tick ends early), renews the lease and hands out the next batch."""

    def supervise() -> None:
        if _cancelled(session, run.broadcast_id):
            run.cancelled.set()
            run.fed.set()
            return
        run.stopped |= _stopped(session, [i for i in run.items if i.id not in run.done])
        # a page still in its queue at two looks in a row: no other worker is free for it
        seen = waiting is not None and waiting()
        if seen and run.page_seen:
            run.deadline = 0.0
        run.page_seen = seen
        lease.renew()
        run.feed()

    if not _threads(session):
        supervise()
        run.send(session, settings, supervise)
        return
    supervise()
    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def in_context() -> None:
        with app.app_context():
            run.send(db.session, settings)

    futures = [_pool("send", SENDERS).submit(in_context) for _ in range(SENDERS)]
    while wait(futures, timeout=SUPERVISE_EVERY).not_done:
        supervise()
    for future in futures:
        future.result()  # a sender's exception is the job's


def _pool(name: str, size: int) -> ThreadPoolExecutor:
    """This process's threads for pumps, made on first use."""
    with _pools_lock:
        if name not in _pools:
            _pools[name] = ThreadPoolExecutor(max_workers=size,
                                              thread_name_prefix=f"broadcast-{name}")
        return _pools[name]


def _wait_for_slot(settings: Settings, sleep: Callable[[float], None] = time.sleep) -> None:
    """Wait for a broadcast slot; one whose window closed while this thread slept (a busy
    process can oversleep) is given up, unused, and another taken: sent late, it could arrive
    in the next second, one over the rate."""
    while True:
        began = time.monotonic()
        wait, close = pacer().reserve(settings.broadcast_rate)
        if wait > 0:
            sleep(wait)
        if time.monotonic() - began < close:
            return


class _Lease:
    """The pump's hold on its broadcast, renewed every few seconds while it sends."""

    def __init__(self, session: Session, broadcast_id: int) -> None:
        self.session, self.broadcast_id = session, broadcast_id
        self.renewed = time.monotonic()

    def renew(self) -> None:
        if time.monotonic() - self.renewed < RENEW_EVERY:
            return
        self.session.execute(update(Broadcast).where(Broadcast.id == self.broadcast_id)
                             .values(pump_until=utcnow() + LEASE))
        self.session.commit()
        self.renewed = time.monotonic()


def _unfinished(session: Session, broadcast_id: int) -> list[int]:
    """Messages of this broadcast a pump created and did not finish (it died, or the sender
    pool was full): sent first. Those a retry job owns (`last_error`) are left to it."""
    rows = session.execute(
        select(Message.id, Message.flags)
        .join(BroadcastRecipient, BroadcastRecipient.message_id == Message.id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id,
               BroadcastRecipient.status == "queued", Message.status.in_(UNFINISHED))
        .order_by(Message.id).limit(BATCH)).all()
    return [mid for mid, flags in rows if not (flags or {}).get("last_error")]


def _hand_out(session: Session, broadcast_id: int) -> list[outbound.Claimed]:
    """The next recipients, each handed to its own message, recorded already claimed (the
    pump sends them right away), in one transaction."""
    vault: Vault = current_app.extensions["hotline_vault"]
    query = select(BroadcastRecipient.id, BroadcastRecipient.subscriber_id,
                   BroadcastRecipient.language).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == "pending").order_by(BroadcastRecipient.id).limit(BATCH)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    recipients = session.execute(query).all()
    if not recipients:
        session.rollback()
        return []
    broadcast = session.get(Broadcast, broadcast_id)
    phones = dict(session.execute(select(Subscriber.id, Subscriber.phone_enc).where(
        Subscriber.id.in_([r.subscriber_id for r in recipients if r.subscriber_id]),
        Subscriber.status == "confirmed")).all())
    now = utcnow()
    purpose = f"broadcast_{broadcast.kind}"
    rows, kept, skipped = [], [], []
    for recipient in recipients:
        text = text_for(broadcast, recipient.language) or text_for(broadcast, "en")
        phone = vault.decrypt(phones[recipient.subscriber_id], "subscriber.phone") \
            if phones.get(recipient.subscriber_id or 0) else None
        if not phone or text is None:
            skipped.append(recipient.id)  # stopped since the broadcast began
            continue
        flags = {"purpose": purpose, "attempts": 1, "subscriber": recipient.subscriber_id,
                 "broadcast": broadcast_id, "claimed_at": now.isoformat()}
        rows.append({
            "twilio_sid": f"local-{uuid.uuid4().hex}", "direction": "outbound",
            "channel": "sms", "counterpart_hmac": vault.phone_hmac(phone),
            "counterpart_enc": vault.encrypt(phone, "message.counterpart"),
            "body_enc": vault.encrypt(text, "message.body"), "media": [],
            "language": recipient.language, "status": "sending", "flags": flags,
            "received_at": now})
        kept.append((recipient.id, phone, text, flags))
    table = BroadcastRecipient.__table__
    if skipped:
        session.execute(table.update().where(table.c.id.in_(skipped)).values(status="skipped"))
    claimed: list[outbound.Claimed] = []
    if rows:
        ids = session.execute(insert(Message.__table__).returning(
            Message.__table__.c.id, sort_by_parameter_order=True), rows).scalars().all()
        session.execute(table.update().where(table.c.id == bindparam("rid")).values(
            status="queued", message_id=bindparam("mid")),
            [{"rid": rid, "mid": mid} for (rid, _, _, _), mid in zip(kept, ids, strict=True)])
        claimed = [outbound.Claimed(mid, phone, text, flags)
                   for (_, phone, text, flags), mid in zip(kept, ids, strict=True)]
    session.commit()  # the claims are durable before anything is sent
    return claimed


def _stopped(session: Session, items: list[outbound.Claimed]) -> set[int]:
    """Which of these subscribers stopped (STOP, ALERTS OFF) since they were handed out."""
    ids = [item.flags["subscriber"] for item in items]
    return set(session.scalars(select(Subscriber.id).where(
        Subscriber.id.in_(ids), Subscriber.status != "confirmed"))) if ids else set()


def _suppress(session: Session, message_id: int) -> None:
    session.execute(update(Message).where(Message.id == message_id).values(
        status="suppressed"))
    session.commit()


def _unclaim(session: Session, message_ids: list[int]) -> None:
    """Claimed messages not sent this tick: queued again, for the next one."""
    if message_ids:
        session.execute(update(Message).where(Message.id.in_(message_ids),
                                              Message.status == "sending")
                        .values(status="queued"))
        session.commit()


def _cancelled(session: Session, broadcast_id: int) -> bool:
    return session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id)) \
        == "cancelled"


def _drop(session: Session, broadcast_id: int) -> None:
    """A cancelled broadcast: its messages not yet sent are never sent."""
    ids = [mid for mid in session.scalars(
        select(Message.id).join(BroadcastRecipient, BroadcastRecipient.message_id == Message.id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id,
               Message.status == "queued"))]
    if ids:
        session.execute(update(Message).where(Message.id.in_(ids), Message.status == "queued")
                        .values(status="suppressed"))
        session.execute(update(BroadcastRecipient).where(
            BroadcastRecipient.broadcast_id == broadcast_id,
            BroadcastRecipient.message_id.in_(ids)).values(status="cancelled"))
    session.execute(update(BroadcastRecipient).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == "pending").values(status="cancelled"))
    session.execute(update(Broadcast).where(Broadcast.id == broadcast_id)
                    .values(pump_until=None))
    session.commit()
    logger.info("broadcast %s stopped: %d queued messages dropped", broadcast_id, len(ids))


def _hand_over(session: Session, broadcast_id: int, sent: int, later: float | None) -> str:
    """End of a tick: the next one deferred, or the broadcast done. Releases the lease."""
    broadcast = session.scalars(select(Broadcast).where(Broadcast.id == broadcast_id)
                                .with_for_update()).one()
    broadcast.pump_until = None
    if broadcast.status != "sending":
        session.commit()
        return broadcast.status
    left = session.scalar(select(BroadcastRecipient.id).where(
        BroadcastRecipient.broadcast_id == broadcast_id,
        BroadcastRecipient.status == "pending").limit(1))
    unfinished = _unfinished(session, broadcast_id)
    if left is None and not unfinished:
        broadcast.status, broadcast.finished_at = "sent", utcnow()
        session.commit()
        logger.info("broadcast %s sent", broadcast_id)
        return "sent"
    run_at = utcnow() + timedelta(seconds=later) if later else None
    outbox.defer(session, "broadcast_pump", broadcast_id, run_at=run_at)
    session.commit()
    logger.debug("broadcast %s: %d sent this tick", broadcast_id, sent)
    return "sending"
