"""Rate limits shared by every process: outbound senders (Redis) and inbound reporters."""

from __future__ import annotations

import threading
import time
from typing import Protocol

from redis import Redis

# Reserve the earliest free slot across a pool of senders, atomically. Each sender key holds the
# time (seconds, float) its next message may go. Returns {sender index, wait seconds}.
_RESERVE = """
local now = tonumber(ARGV[1])
local gap = tonumber(ARGV[2])
local n = #KEYS
-- start the scan at a rotating position, so idle senders share the load instead of the
-- first one taking every tie
local start = redis.call('INCR', ARGV[3]) % n
local best, best_at = 1, nil
for j = 0, n - 1 do
  local i = ((start + j) % n) + 1
  local at = tonumber(redis.call('GET', KEYS[i]) or '0')
  if at < now then at = now end
  if best_at == nil or at < best_at then best, best_at = i, at end
end
redis.call('SET', KEYS[best], tostring(best_at + gap), 'EX', 3600)
return {best - 1, tostring(best_at - now)}
"""


# Slots are spaced a little wider than 1/rate: the limit is on what arrives at Twilio, and a
# request can leave a busy worker a few tenths of a second after its slot.
SPACING = 1.1


class SenderLimiter(Protocol):
    """Picks the sender that is free soonest and reserves its next slot."""

    def reserve(self, senders: list[str], rate: float) -> tuple[str, float]:
        """(sender, seconds to wait before sending)."""


class RedisSenderLimiter:
    """A per-sender limit shared by all workers on all machines."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._script = redis.register_script(_RESERVE)

    def reserve(self, senders: list[str], rate: float) -> tuple[str, float]:
        """Reserve the earliest slot; the server's clock is the one clock all workers share."""
        seconds, micros = self.redis.time()
        now = seconds + micros / 1e6
        index, wait = self._script(keys=[f"hotline:sender:{s}" for s in senders],
                                   args=[repr(now), repr(SPACING / rate),
                                         "hotline:sender-cursor"])
        return senders[int(index)], max(0.0, float(wait))


class LocalSenderLimiter:
    """The same, for the embedded default (one process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}
        self._cursor = 0

    def reserve(self, senders: list[str], rate: float) -> tuple[str, float]:
        """Reserve the earliest slot in this process (ties rotate over the senders)."""
        with self._lock:
            now = time.monotonic()
            self._cursor += 1
            order = senders[self._cursor % len(senders):] + senders[:self._cursor % len(senders)]
            sender = min(order, key=lambda s: max(now, self._next.get(s, 0.0)))
            at = max(now, self._next.get(sender, 0.0))
            self._next[sender] = at + SPACING / rate
            return sender, at - now
