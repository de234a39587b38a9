"""Crypto-shredding: one data key per UTC day for the PII that retention purges.

- Each day's data key (32 random bytes) encrypts that day's phone numbers, message bodies, call
  transcripts, report texts, relayed texts and notes (`Vault`, ciphertext ``v2.<YYYYMMDD>...``).
- It is stored in `data_keys`, wrapped with AES-256-GCM under a key-encryption key derived from
  HOTLINE_PII_KEY *and* that day's step of the ratchet.
- The ratchet is a small file outside the database and Redis (HOTLINE_PII_RATCHET, by default
  ``<HOTLINE_INSTANCE>/pii-ratchet.json``): a first day and a secret. Day d's step is the secret
  hashed (d - first day) times, so each day's step follows from the one before and never the
  other way.
- The retention purge deletes the expired days' rows and moves the ratchet's first day up to the
  oldest day it keeps, overwriting the secret. A database or Redis backup taken before the purge
  still holds the wrapped keys of those days, but nothing the running system holds (its
  HOTLINE_PII_KEY, old keys, ratchet) can unwrap them: their steps exist nowhere any more.
- Key rotation re-wraps the data keys under the new HOTLINE_PII_KEY; rows are not rewritten.

A process caches unwrapped keys for a few minutes and drops a day's key as soon as the ratchet
file says the day is gone. Encryption never fails for want of a data key: if today's cannot be
had (the database is unreachable, or the ratchet file was lost), the value is sealed under the
HOTLINE_PII_KEY-derived key as before (v1) and a warning is logged.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.models import DataKey

logger = logging.getLogger(__name__)
CACHE_SECONDS = 300.0
RETRY_SECONDS = 60.0  # a day whose key could not be had is not asked for again sooner
PREPARE_DAYS = 7  # days ahead whose keys are made in advance (SQLite: no write mid-request)


def period_of(day: date) -> str:
    """The period name of a UTC day: YYYYMMDD."""
    return day.strftime("%Y%m%d")


@lru_cache(maxsize=64)
def day_of(period: str) -> date:
    """Inverse of `period_of`; ValueError for anything else (remembered: every value sealed
    or opened asks it, and strptime is slow)."""
    return datetime.strptime(period, "%Y%m%d").replace(tzinfo=UTC).date()


def _next_step(step: bytes) -> bytes:
    return hashlib.sha256(b"hotline pii ratchet v1" + step).digest()


def key_id(master: bytes) -> str:
    """A short fingerprint of a HOTLINE_PII_KEY (which one wrapped a data key)."""
    return hashlib.sha256(b"hotline-kek-id" + master).hexdigest()[:8]


@dataclass(frozen=True)
class _RatchetState:
    first: date
    secret: bytes
    stamp: tuple[int, int]  # (inode, mtime_ns) of the file it was read from


class RatchetMissing(OSError):
    """The ratchet file is not there although data keys exist: it was lost, or this process
    was given another path. A new one is never made silently (it would wrap keys no other
    process can open, and a purge would move nothing)."""


class Ratchet:
    """The one-way chain of day steps, kept in a file (see the module docstring).

    Changes (creating it, moving it forward) hold an exclusive `flock` on a lock file beside
    it, so two purges in two processes cannot move it backwards; reads re-check the file's
    identity, so a process never pairs old content with a new stamp.
    """

    def __init__(self, path: Path, may_create: Callable[[], bool] | None = None) -> None:
        self.path = path
        # asked before a missing file is created: False when data keys already exist
        self.may_create = may_create or (lambda: True)
        self._state: _RatchetState | None = None
        self._steps: dict[date, bytes] = {}
        self._lock = threading.RLock()
        self._holding = False  # the cross-process lock is held (always under `_lock`)

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except FileNotFoundError:
            return None
        return info.st_ino, info.st_mtime_ns

    def _read(self) -> _RatchetState:
        for _attempt in range(5):
            before = self._stamp()
            raw = json.loads(self.path.read_text())
            if before is not None and self._stamp() == before:
                return _RatchetState(date.fromisoformat(raw["first"]),
                                     base64.b64decode(raw["secret"]), before)
        raise OSError(f"PII ratchet {self.path} keeps changing while read")

    def _exclusive(self) -> Any:  # noqa: ANN401
        """An exclusive lock across processes, on `<file>.lock` (never the ratchet itself)."""
        import fcntl
        from contextlib import contextmanager

        @contextmanager
        def held() -> Any:  # noqa: ANN401
            if self._holding:  # this thread has it already (flock is per open file)
                yield
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path.with_name(self.path.name + ".lock"),
                         os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._holding = True
                yield
            finally:
                self._holding = False
                fcntl.flock(fd, fcntl.LOCK_UN)
                os.close(fd)

        return held()

    def _write(self, first: date, secret: bytes) -> None:
        """Write the state atomically (a new file renamed over the old, both synced); the
        caller holds `_exclusive`."""
        body = json.dumps({"version": 1, "first": first.isoformat(),
                           "secret": base64.b64encode(secret).decode()})
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.{threading.get_ident()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, body.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _create(self, start: date) -> None:
        with self._lock, self._exclusive():
            if self._stamp() is not None:  # another process made it first
                return
            if not self.may_create():
                raise RatchetMissing(
                    f"HOTLINE_PII_RATCHET: {self.path} is missing but data keys exist; restore "
                    "it (or point every process at the same file)")
            self._write(start, os.urandom(32))
        logger.warning("PII ratchet created at %s (first day %s)", self.path, start)

    def state(self, today: date | None = None) -> _RatchetState:
        """The current state, re-read when the file changed (another process advanced it);
        a new ratchet starting today when there is none and `may_create` allows it."""
        with self._lock:
            stamp = self._stamp()
            if stamp is None:
                self._create(today or datetime.now(UTC).date())
                stamp = self._stamp()
            if self._state is None or self._state.stamp != stamp:
                self._state = self._read()
                self._steps = {}
            return self._state

    def first_day(self) -> date:
        """The oldest day whose step still exists."""
        return self.state().first

    def step(self, day: date) -> bytes | None:
        """Day's step, or None when the day is before the ratchet's first day (shredded)."""
        with self._lock:
            state = self.state()  # the same state for the check and the steps cached
            if day < state.first:
                return None
            if day in self._steps:
                return self._steps[day]
            current, step = state.first, state.secret
            known = [d for d in self._steps if d <= day]
            if known:
                current = max(known)
                step = self._steps[current]
            while current < day:
                step = _next_step(step)
                current += timedelta(days=1)
            self._steps[day] = step
            return step

    def advance(self, first: date) -> bool:
        """Forget every day before `first`; True when the ratchet moved. Never backwards,
        even with two purges at once in two processes."""
        with self._lock, self._exclusive():
            self._state = None  # read it again under the lock
            state = self.state()
            if first <= state.first:
                return False
            secret = self.step(first)
            assert secret is not None
            self._write(first, secret)
            self._state = None
            self._steps = {}
        logger.info("PII ratchet moved to %s: earlier days can no longer be unwrapped", first)
        return True


class Keyring:
    """Data keys by day: made, unwrapped and cached for the `Vault`."""

    def __init__(self, engine: Engine, masters: tuple[bytes, ...], ratchet: Ratchet) -> None:
        self._engine = engine
        self._current = masters[0]
        self._masters = {key_id(m): m for m in reversed(masters)}
        self.ratchet = ratchet
        ratchet.may_create = self._no_keys_yet
        self._cache: dict[str, tuple[float, AESGCM]] = {}
        self._failed: dict[str, float] = {}  # period -> when its key last could not be had
        self._lock = threading.Lock()
        # which day a value written now belongs to (tests move it to write "old" data)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    # -- wrapping ---------------------------------------------------------------------------

    @staticmethod
    def _kek(master: bytes, period: str, step: bytes) -> AESGCM:
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=step,
                       info=b"hotline data key wrap v1 " + period.encode()).derive(master)
        return AESGCM(derived)

    def _wrap(self, period: str, data_key: bytes, master: bytes | None = None) -> str | None:
        step = self.ratchet.step(day_of(period))
        if step is None:
            return None
        nonce = os.urandom(12)
        sealed = self._kek(master or self._current, period, step).encrypt(
            nonce, data_key, b"data key " + period.encode())
        return base64.urlsafe_b64encode(nonce + sealed).decode()

    def _unwrap(self, period: str, wrapped: str, kek_id: str) -> bytes | None:
        master = self._masters.get(kek_id)
        step = self.ratchet.step(day_of(period))
        if master is None or step is None:
            return None
        raw = base64.urlsafe_b64decode(wrapped)
        try:
            return self._kek(master, period, step).decrypt(raw[:12], raw[12:],
                                                           b"data key " + period.encode())
        except InvalidTag:
            return None

    # -- lookups ----------------------------------------------------------------------------

    def _no_keys_yet(self) -> bool:
        """A ratchet may be created only for a database that has no data keys yet."""
        with self._engine.connect() as connection:
            return connection.scalar(select(DataKey.period).limit(1)) is None

    def _cached(self, period: str) -> AESGCM | None:
        with self._lock:
            entry = self._cache.get(period)
        if entry is None:
            return None
        if time.monotonic() - entry[0] > CACHE_SECONDS or \
                day_of(period) < self.ratchet.first_day():
            with self._lock:
                self._cache.pop(period, None)
            return None
        return entry[1]

    def _load(self, period: str, create: bool) -> AESGCM | None:
        with self._engine.connect() as connection:
            row = connection.execute(select(DataKey.wrapped, DataKey.kek_id)
                                     .where(DataKey.period == period)).first()
            if row is None and create:
                wrapped = self._wrap(period, os.urandom(32))
                if wrapped is None:
                    return None
                try:
                    connection.execute(insert(DataKey).values(
                        period=period, wrapped=wrapped, kek_id=key_id(self._current),
                        created_at=datetime.now(UTC)))
                    connection.commit()
                except IntegrityError:  # another process made it first: use theirs
                    connection.rollback()
                row = connection.execute(select(DataKey.wrapped, DataKey.kek_id)
                                         .where(DataKey.period == period)).first()
        if row is None:
            return None
        data_key = self._unwrap(period, row.wrapped, row.kek_id)
        if data_key is None:
            return None
        aead = AESGCM(data_key)
        with self._lock:
            self._cache[period] = (time.monotonic(), aead)
        return aead

    def for_encrypt(self, now: datetime | None = None) -> tuple[str, AESGCM] | None:
        """(period, key) to seal a value written now, or None when no data key can be had
        (the vault then seals under HOTLINE_PII_KEY): this never raises, so a report is never
        lost for want of a key."""
        period = period_of((now or self.clock()).astimezone(UTC).date())
        try:
            aead = self._cached(period)
            if aead is not None:
                return period, aead
            if time.monotonic() - self._failed.get(period, -RETRY_SECONDS) < RETRY_SECONDS:
                return None
            aead = self._load(period, create=True)
        except Exception:  # noqa: BLE001 - whatever it is, the value must still be sealed
            logger.warning("no data key for today: sealing under HOTLINE_PII_KEY",
                           exc_info=True)
            with self._lock:
                self._failed[period] = time.monotonic()
            return None
        if aead is None:
            logger.warning("data key for %s cannot be unwrapped (was the PII ratchet "
                           "file replaced?): sealing under HOTLINE_PII_KEY", period)
            with self._lock:
                self._failed[period] = time.monotonic()
            return None
        with self._lock:
            self._failed.pop(period, None)
        return period, aead

    def for_decrypt(self, period: str) -> AESGCM | None:
        """The key of a period, or None when it was destroyed, never existed, or the ratchet
        cannot be read (the vault raises DecryptionError). Database errors propagate: a job
        that meets one is retried rather than told the data is gone."""
        try:
            if day_of(period) < self.ratchet.first_day():
                return None
            return self._cached(period) or self._load(period, create=False)
        except (OSError, ValueError, KeyError):
            logger.warning("PII ratchet unreadable: day %s cannot be decrypted", period,
                           exc_info=True)
            return None

    # -- maintenance ------------------------------------------------------------------------

    def prepare(self, today: date | None = None, days: int = PREPARE_DAYS) -> None:
        """Make today's and the next days' keys now, outside any request's transaction."""
        start = today or datetime.now(UTC).date()
        for offset in range(days + 1):
            self._load(period_of(start + timedelta(days=offset)), create=True)

    def destroy_before(self, session: Session, first_kept: date) -> int:
        """Delete the keys of every day before `first_kept` and move the ratchet past them.
        Commits: a destroyed key must not come back with a rollback."""
        # the ratchet first: a process that has lost it (RatchetMissing) destroys nothing and
        # fails loudly, instead of deleting rows while the real ratchet stays where it was
        self.ratchet.advance(first_kept)
        destroyed = session.execute(delete(DataKey).where(
            DataKey.period < period_of(first_kept))).rowcount
        session.commit()
        with self._lock:
            for period in [p for p in list(self._cache) if day_of(p) < first_kept]:
                self._cache.pop(period, None)
        return destroyed or 0

    def rewrap(self, session: Session) -> tuple[int, int]:
        """(re-wrapped, unreadable): every data key under the current HOTLINE_PII_KEY."""
        current = key_id(self._current)
        rewrapped = unreadable = 0
        for row in session.scalars(select(DataKey).where(DataKey.kek_id != current)).all():
            data_key = self._unwrap(row.period, row.wrapped, row.kek_id)
            wrapped = self._wrap(row.period, data_key) if data_key is not None else None
            if wrapped is None:
                unreadable += 1
                continue
            session.execute(update(DataKey).where(DataKey.period == row.period)
                            .values(wrapped=wrapped, kek_id=current))
            rewrapped += 1
        session.commit()
        return rewrapped, unreadable
