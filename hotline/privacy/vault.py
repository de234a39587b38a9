"""PII at rest: phone numbers as a keyed HMAC plus AES-256-GCM ciphertext, bodies encrypted.

Ciphertext formats (text, so they fit any column), ``<version>.<key>.<base64(nonce + ct+tag)>``:

- ``v2.<YYYYMMDD>.…``: sealed under that UTC day's data key (`privacy.datakeys`). Everything
  retention purges (`RETAINED_CONTEXTS`) is written this way when the vault has a keyring, so
  destroying a day's key shreds that day's data in every copy of the database.
- ``v1.<key id>.…``: sealed under a key derived from HOTLINE_PII_KEY; the key id is a short
  fingerprint, so retired keys still decrypt during rotation. Used for what is kept (responders'
  numbers from config, TOTP secrets), for data written before data keys, and as the fallback
  when no data key can be had.

Sub-keys for HMAC and encryption are derived from HOTLINE_PII_KEY with HKDF, so one secret can
never be used for two purposes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

if TYPE_CHECKING:
    from hotline.privacy.datakeys import Keyring

_VERSION = "v1"
_DAY_VERSION = "v2"
# what the retention purge removes: sealed under the day's data key
RETAINED_CONTEXTS = frozenset({"reporter.phone", "message.counterpart", "message.body",
                               "report.text", "event.relay", "event.note",
                               "voice.transcript", "media.data", "media.meta"})


class DecryptionError(ValueError):
    """Ciphertext was tampered with, or no known key fits it."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


def _key_id(key: bytes) -> str:
    return hashlib.sha256(b"hotline-key-id" + key).hexdigest()[:8]


@dataclass(frozen=True)
class _Key:
    key_id: str
    aead: AESGCM


class Vault:
    """Encrypts, decrypts and fingerprints PII with the configured keys."""

    def __init__(self, master_key: bytes, old_keys: tuple[bytes, ...] = (),
                 keyring: Keyring | None = None) -> None:
        self.keyring = keyring
        self._hmac_key = _derive(master_key, b"hotline phone hmac v1")
        current = _derive(master_key, b"hotline pii aead v1")
        self._current = _Key(_key_id(current), AESGCM(current))
        self._keys = {self._current.key_id: self._current}
        for old in old_keys:
            derived = _derive(old, b"hotline pii aead v1")
            self._keys.setdefault(_key_id(derived), _Key(_key_id(derived), AESGCM(derived)))

    def encrypt(self, plaintext: str | None, context: str = "") -> str | None:
        """Authenticated encryption of text; `context` binds it to its column."""
        if plaintext is None:
            return None
        return _seal(plaintext, context, self._sealing_key(context))

    def encrypt_all(self, *values: tuple[str, str]) -> list[str]:
        """`encrypt` of several (plaintext, context) pairs written together, as one message's
        number and body: the day's data key is looked up once for them all (the lookup checks
        the ratchet file, and costs more than the sealing on the webhook's path)."""
        keys: dict[bool, tuple[str, str, AESGCM]] = {}
        sealed = []
        for plaintext, context in values:
            retained = context in RETAINED_CONTEXTS
            key = keys.get(retained)
            if key is None:
                key = keys[retained] = self._sealing_key(context)
            sealed.append(_seal(plaintext, context, key))
        return sealed

    def decrypt(self, token: str | None, context: str = "") -> str | None:
        """Inverse of `encrypt`; raises DecryptionError on tampering or an unknown key."""
        if token is None:
            return None
        try:
            version, key_id, blob = token.split(".", 2)
        except ValueError:
            raise DecryptionError("not a Hotline ciphertext") from None
        aead = self._opening_key(version, key_id)
        raw = base64.urlsafe_b64decode(blob)
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode()).decode("utf-8")
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None

    def seal_bytes(self, data: bytes, context: str) -> bytes:
        """Authenticated encryption of bytes (a photo, a recording): the text format's header,
        then the raw nonce and ciphertext, so a 5 MB photo costs 5 MB, not 6.7 in base64."""
        version, key_name, aead = self._sealing_key(context)
        nonce = os.urandom(12)
        return f"{version}.{key_name}.".encode("ascii") + nonce + aead.encrypt(
            nonce, data, context.encode())

    def open_bytes(self, blob: bytes, context: str) -> bytes:
        """Inverse of `seal_bytes`; raises DecryptionError on tampering or an unknown key."""
        try:
            version, key_id, raw = bytes(blob).split(b".", 2)
            version_text, key_text = version.decode("ascii"), key_id.decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise DecryptionError("not a Hotline ciphertext") from None
        aead = self._opening_key(version_text, key_text)
        try:
            return aead.decrypt(raw[:12], raw[12:], context.encode())
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None

    def _sealing_key(self, context: str) -> tuple[str, str, AESGCM]:
        """(version, key name, cipher) new values of `context` are sealed with: the day's data
        key for what retention purges, when there is one; else the PII key's."""
        if self.keyring is not None and context in RETAINED_CONTEXTS:
            day = self.keyring.for_encrypt()
            if day is not None:
                return _DAY_VERSION, day[0], day[1]
        return _VERSION, self._current.key_id, self._current.aead

    def _opening_key(self, version: str, key_id: str) -> AESGCM:
        """The cipher a value of this version and key was sealed with, or DecryptionError."""
        aead: AESGCM | None = None
        if version == _VERSION and key_id in self._keys:
            aead = self._keys[key_id].aead
        elif version == _DAY_VERSION and self.keyring is not None:
            aead = self.keyring.for_decrypt(key_id)
        if aead is None:
            raise DecryptionError(f"no key {key_id!r} for this ciphertext")
        return aead

    def needs_rotation(self, token: str | bytes | None) -> bool:
        """True when `token` (text, or sealed bytes) was written with a retired key (a day's
        data key is re-wrapped instead: its values are never rewritten)."""
        if isinstance(token, bytes | bytearray | memoryview):
            head = bytes(token[:48]).split(b".", 2)
            token = ".".join(part.decode("ascii", "replace") for part in head[:2]) + "."
        if token is None or token.startswith(_DAY_VERSION + "."):
            return False
        return token.split(".", 2)[1:2] != [self._current.key_id]

    def phone_hmac(self, e164: str) -> str:
        """Keyed fingerprint of a normalised number, for lookups without storing it."""
        # utf-8, not ascii: a malformed sender (any text a webhook may carry) still hashes
        return hmac.new(self._hmac_key, e164.encode("utf-8"), hashlib.sha256).hexdigest()


def _seal(plaintext: str, context: str, key: tuple[str, str, AESGCM]) -> str:
    version, key_name, aead = key
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode())
    return f"{version}.{key_name}.{base64.urlsafe_b64encode(nonce + sealed).decode('ascii')}"


def reference(phone_hmac: str) -> str:
    """Short, non-reversible reference to a reporter for logs: the HMAC's first 10 characters."""
    return phone_hmac[:10]
