"""PII at rest: phone numbers as a keyed HMAC plus AES-256-GCM ciphertext, bodies encrypted.

Ciphertext format (text, so it fits any column): ``v1.<key id>.<base64(nonce + ciphertext+tag)>``.
The key id is a short fingerprint of the key, so retired keys can still decrypt during rotation.
Sub-keys for HMAC and encryption are derived from HOTLINE_PII_KEY with HKDF, so one secret can
never be used for two purposes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_VERSION = "v1"


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

    def __init__(self, master_key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
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
        nonce = os.urandom(12)
        sealed = self._current.aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode())
        blob = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
        return f"{_VERSION}.{self._current.key_id}.{blob}"

    def decrypt(self, token: str | None, context: str = "") -> str | None:
        """Inverse of `encrypt`; raises DecryptionError on tampering or an unknown key."""
        if token is None:
            return None
        try:
            version, key_id, blob = token.split(".", 2)
        except ValueError:
            raise DecryptionError("not a Hotline ciphertext") from None
        key = self._keys.get(key_id)
        if version != _VERSION or key is None:
            raise DecryptionError(f"no key {key_id!r} for this ciphertext")
        raw = base64.urlsafe_b64decode(blob)
        try:
            return key.aead.decrypt(raw[:12], raw[12:], context.encode()).decode("utf-8")
        except InvalidTag:
            raise DecryptionError("ciphertext failed authentication") from None

    def needs_rotation(self, token: str | None) -> bool:
        """True when `token` was written with a retired key."""
        return token is not None and token.split(".", 2)[1:2] != [self._current.key_id]

    def phone_hmac(self, e164: str) -> str:
        """Keyed fingerprint of a normalised number, for lookups without storing it."""
        # utf-8, not ascii: a malformed sender (any text a webhook may carry) still hashes
        return hmac.new(self._hmac_key, e164.encode("utf-8"), hashlib.sha256).hexdigest()


def reference(phone_hmac: str) -> str:
    """Short, non-reversible reference to a reporter for logs: the HMAC's first 10 characters."""
    return phone_hmac[:10]
