"""Sender pacing shared by every process: each outbound message takes a slot of one sender, and
no sender ever has two messages closer than `SPACING / rate` seconds.

A reservation is never given up without a send: a message whose slot is too far off to wait for
keeps it and is run again when it comes (the job stores the slot on the message). Messages of
the low lane (acknowledgements, follow-up questions, relays) hold their slots in a sorted set
per sender, and a message of the high lane (a lawyer's page, a verifier's request) takes the
earliest of those that is not about to go, pushing it to the sender's next free slot; so a page
queued behind a hundred follow-ups leaves within about two slots. A low-lane message claims its
slot right before it sends (and finds out then if it was pushed back).
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

from redis import Redis

# Slots are spaced a little wider than 1/rate: the limit is on what arrives at Twilio, and a
# request can leave a busy worker a few tenths of a second after its slot.
SPACING = 1.25
# a low-lane slot this close to now is about to be used: a page never takes it
LEAD = 0.5
# a low-lane message may send this early against its slot when it claims it
TOLERANCE = 0.05
# ... and at most this late: slots are SPACING/rate apart, so rate+1 consecutive slots span
# rate * SPACING / rate = 1.25 s, and a message up to 0.25 s late still leaves no second with
# more than `rate` arrivals. A slot missed by more is given up, unused, and a new one taken.
LATE = 0.2

# KEYS: per sender, its next-free key then its low-lane sorted set; last, the rotation cursor.
# ARGV: now, gap, lane ("high" or "low"), member (the message), lead.
# Returns {sender index, wait seconds, displaced member or ""}.
_RESERVE = """
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local lane = ARGV[3]
local member = ARGV[4]
local lead = tonumber(ARGV[5])
local n = (#KEYS - 1) / 2
-- start the scan at a rotating position, so idle senders share the load instead of the
-- first one taking every tie
local start = redis.call('INCR', KEYS[#KEYS]) % n
local best, best_at, taken = nil, nil, nil
for j = 0, n - 1 do
  local i = ((start + j) % n) + 1
  local at = tonumber(redis.call('GET', KEYS[2 * i - 1]) or '0')
  if at < now then at = now end
  local from_low = nil
  if lane == 'high' then
    local low = redis.call('ZRANGEBYSCORE', KEYS[2 * i], '(' .. (now + lead), '+inf',
                           'WITHSCORES', 'LIMIT', 0, 1)
    if low[1] and tonumber(low[2]) < at then at, from_low = tonumber(low[2]), low[1] end
  end
  if best_at == nil or at < best_at then best, best_at, taken = i, at, from_low end
end
local free_key, low_key = KEYS[2 * best - 1], KEYS[2 * best]
local function next_free()
  local at = tonumber(redis.call('GET', free_key) or '0')
  if at < now then at = now end
  redis.call('SET', free_key, tostring(at + gap), 'EX', 3600)
  return at
end
if taken then
  -- the page takes a waiting low-lane slot; that message moves to the next free one
  redis.call('ZADD', low_key, next_free(), taken)
else
  next_free()
end
if lane == 'low' then
  redis.call('ZADD', low_key, best_at, member)
  redis.call('EXPIRE', low_key, 3600)
end
return {best - 1, tostring(best_at - now), taken or ''}
"""

# KEYS: the sender's low-lane set. ARGV: member, now, tolerance, late.
# Returns {"go" | "wait" | "gone", seconds until its slot}.
_CLAIM = """
local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not at then return {'gone', '0'} end
local wait = tonumber(at) - tonumber(ARGV[2])
if wait < -tonumber(ARGV[4]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {'gone', '0'}
end
if wait <= tonumber(ARGV[3]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return {'go', tostring(wait)}
end
return {'wait', tostring(wait)}
"""


class SenderLimiter(Protocol):
    """Picks the sender that is free soonest and reserves its next slot."""

    def now(self) -> float:
        """The limiter's clock (seconds), the one every slot is expressed in."""

    def reserve(self, senders: list[str], rate: float, *, member: str = "",
                low: bool = False) -> tuple[str, float]:
        """(sender, seconds to wait before sending); `low` holds it in the low lane."""

    def claim(self, sender: str, member: str) -> tuple[str, float]:
        """A low-lane message about to send: ("go", wait) takes its slot for good; ("wait",
        seconds) when it was pushed back; ("gone", 0) when it holds none any more (or missed
        it by more than LATE)."""


def _keys(sender: str) -> list[str]:
    return [f"hotline:sender:{sender}", f"hotline:sender-low:{sender}"]


class RedisSenderLimiter:
    """Slots shared by all workers on all machines, on Redis's clock."""

    # how long this process counts on its own monotonic clock between two readings of Redis's,
    # and how quick a reading must be to be counted on: its error is half its round trip
    SYNC_SECONDS = 1.0
    SYNC_ROUND_TRIP = 0.004

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._reserve = redis.register_script(_RESERVE)
        self._claim = redis.register_script(_CLAIM)
        self._synced: tuple[float, float] | None = None  # (monotonic, Redis time) then

    def now(self) -> float:
        """Redis's clock: the one clock all workers share. Carried forward on this process's
        monotonic clock for a second after a quick reading (a sent message asks for it three
        times), read afresh otherwise. A slow reading (the process was descheduled around it)
        is used for this call only: carried forward, its error would put this worker's slots
        early against the others' and crowd a second."""
        before = time.monotonic()
        synced = self._synced
        if synced is not None and before - synced[0] <= self.SYNC_SECONDS:
            return synced[1] + (before - synced[0])
        seconds, micros = self.redis.time()
        after = time.monotonic()
        value = seconds + micros / 1e6
        if after - before <= self.SYNC_ROUND_TRIP:
            self._synced = ((before + after) / 2, value)
        return value

    def reserve(self, senders: list[str], rate: float, *, member: str = "",
                low: bool = False) -> tuple[str, float]:
        """Reserve the earliest slot (for the high lane, possibly a waiting low-lane one)."""
        keys = [key for sender in senders for key in _keys(sender)] + ["hotline:sender-cursor"]
        index, wait, _taken = self._reserve(keys=keys, args=[
            repr(self.now()), repr(SPACING / rate), "low" if low else "high", member,
            repr(LEAD)])
        return senders[int(index)], max(0.0, float(wait))

    def claim(self, sender: str, member: str) -> tuple[str, float]:
        """Take a low-lane slot right before sending."""
        state, wait = self._claim(keys=[_keys(sender)[1]],
                                  args=[member, repr(self.now()), repr(TOLERANCE), repr(LATE)])
        return (state.decode() if isinstance(state, bytes) else state), max(0.0, float(wait))


class LocalSenderLimiter:
    """The same, for the embedded default (one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._low: dict[str, dict[str, float]] = {}
        self._cursor = 0

    def now(self) -> float:
        """This process's monotonic clock."""
        return time.monotonic()

    def reserve(self, senders: list[str], rate: float, *, member: str = "",
                low: bool = False) -> tuple[str, float]:
        """Reserve the earliest slot in this process (ties rotate over the senders)."""
        gap = SPACING / rate
        with self._lock:
            now = self.now()
            self._cursor += 1
            start = self._cursor % len(senders)
            best: tuple[float, str, str | None] | None = None
            for sender in senders[start:] + senders[:start]:
                at, taken = max(now, self._next.get(sender, 0.0)), None
                if not low:
                    waiting = [(t, m) for m, t in self._low.get(sender, {}).items()
                               if t > now + LEAD]
                    if waiting and min(waiting)[0] < at:
                        at, taken = min(waiting)
                if best is None or at < best[0]:
                    best = (at, sender, taken)
            assert best is not None
            at, sender, taken = best
            free = max(now, self._next.get(sender, 0.0))
            self._next[sender] = free + gap
            lane = self._low.setdefault(sender, {})
            if taken is not None:
                lane[taken] = free
            if low:
                lane[member] = at
            return sender, at - now

    def claim(self, sender: str, member: str) -> tuple[str, float]:
        """Take a low-lane slot right before sending."""
        with self._lock:
            at = self._low.get(sender, {}).get(member)
            if at is None:
                return "gone", 0.0
            wait = at - self.now()
            if wait < -LATE:
                del self._low[sender][member]
                return "gone", 0.0
            if wait <= TOLERANCE:
                del self._low[sender][member]
                return "go", max(0.0, wait)
            return "wait", wait
