"""Dashboard accounts: argon2id hashes, roles and scopes, lockout, login throttling, TOTP."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.refusals import Refusal
from hotline.models import ROLES, AuditLog, Jurisdiction, LegalNetwork, Responder, User, utcnow
from hotline.privacy.vault import Vault

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 12
# Failed logins from one address before it must wait (whatever accounts it tries).
IP_MAX_FAILURES = 20
IP_WINDOW = timedelta(minutes=15)
TOTP_ISSUER = "Hotline"
TOTP_CONTEXT = User.__table__.c.totp_secret_enc.info["encryption_context"]
SECOND_FACTOR_ROLES = ("admin", "dispatcher")
ACTING_ROLES = ("admin", "dispatcher")


class UserError(Refusal):
    """A user cannot be created or changed as asked."""


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def check_password_rules(password: str) -> None:
    """Raise UserError when a password is too weak to accept."""
    if len(password) < MIN_PASSWORD:
        raise UserError("password: must be at least %(n)s characters", n=MIN_PASSWORD)
    if len(password) > 1024:
        raise UserError("password: must be at most 1024 characters")


def _check_scope(session: Session, jurisdictions: list[str]) -> list[str]:
    known = set(session.scalars(select(Jurisdiction.slug)))
    unknown = sorted(set(jurisdictions) - known)
    if unknown:
        raise UserError("jurisdictions: unknown slug(s) %(slugs)s", slugs=", ".join(unknown))
    return sorted(set(jurisdictions))


def _lawyer_link(session: Session, responder_key: str | None) -> tuple[str | None, str | None]:
    """(responder key, network slug) of a lawyer account, checked against the loaded config."""
    if not responder_key:
        return None, None
    row = session.execute(
        select(Responder.key, LegalNetwork.slug)
        .join(LegalNetwork, LegalNetwork.id == Responder.network_id)
        .where(Responder.key == responder_key, Responder.role == "lawyer")).one_or_none()
    if row is None:
        raise UserError("responder: no lawyer %(key)r in any legal network",
                        key=responder_key)
    return row[0], row[1]


def create_user(session: Session, email: str, role: str, password: str,
                jurisdictions: list[str] | None = None, responder_key: str | None = None,
                network_slug: str | None = None) -> User:
    """A new dashboard user; flushes.

    A lawyer is tied to the Responder they answer pages as (`responder_key`), which also sets
    their legal network; a network alone is enough to see what was routed to it.
    """
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError("EMAIL: not an email address")
    if role not in ROLES:
        raise UserError("--role: must be one of %(roles)s", roles=", ".join(ROLES))
    check_password_rules(password)
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise UserError("EMAIL: a user %(email)s already exists", email=email)
    scope = _check_scope(session, jurisdictions or [])
    key, network = _lawyer_link(session, responder_key) if role == "lawyer" else (None, None)
    if role == "lawyer" and network is None and network_slug:
        if session.scalar(select(LegalNetwork.id).where(LegalNetwork.slug == network_slug)) \
                is None:
            raise UserError("network: no legal network %(slug)r", slug=network_slug)
        network = network_slug
    user = User(email=email, role=role, password_hash=hash_password(password),
                jurisdictions=scope, responder_key=key, network_slug=network)
    session.add(user)
    session.flush()
    return user


def check_login(session: Session, email: str, password: str) -> User | None:
    """The user when the password is right and the account usable; counts failures."""
    user = session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        _hasher.hash(password)  # same work either way: no user enumeration by timing
        return None
    now = utcnow()
    if not user.active or is_locked(user, now):
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        record_failure(user, now)
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if user.totp_secret_enc is None:  # else failures count on until the code is right too
        user.failed_logins = 0
    user.last_login_at = now
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    """True while the account is locked after repeated failures."""
    return bool(user.locked_until and user.locked_until > (now or utcnow()))


def record_failure(user: User, now: datetime | None = None) -> None:
    """Count one failed password or code; lock the account after LOCK_AFTER in a row."""
    user.failed_logins += 1
    if user.failed_logins >= LOCK_AFTER:
        user.locked_until = (now or utcnow()) + LOCK_FOR
        user.failed_logins = 0


def address_throttled(session: Session, ip: str | None, now: datetime | None = None) -> bool:
    """True when this address failed to log in too often recently (across every process)."""
    if not ip:
        return False
    since = (now or utcnow()) - IP_WINDOW
    failures = session.scalar(select(func.count(AuditLog.id)).where(
        AuditLog.action.in_(("login.failed", "login.totp_failed")), AuditLog.ip == ip,
        AuditLog.at >= since))
    return (failures or 0) >= IP_MAX_FAILURES


def set_password(user: User, password: str, *, must_change: bool = False) -> None:
    """Replace the password and end every session of the user."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.failed_logins = 0
    user.locked_until = None
    end_sessions(user)


def verify_password(user: User, password: str) -> bool:
    """True when `password` is the user's current password (no side effects)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def reset_password(user: User) -> str:
    """An admin's reset: a temporary password, to be changed at the next login. Returned once."""
    temporary = secrets.token_urlsafe(12)
    set_password(user, temporary, must_change=True)
    return temporary


def end_sessions(user: User) -> None:
    """Invalidate every live session of the user (sessions carry the version they began with)."""
    user.session_version += 1


def set_active(user: User, active: bool) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    user.active = active
    if not active:
        end_sessions(user)


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret."""
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI authenticator apps read (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    for candidate in (step, step - 1, step + 1):  # one step of clock drift either way
        if secrets.compare_digest(totp.generate_otp(candidate), code):
            return candidate
    return None


def enrol_totp(user: User, vault: Vault, secret: str, code: str,
               now: datetime | None = None) -> bool:
    """Store the secret when `code` proves the authenticator has it; False otherwise."""
    step = _matching_step(secret, code, now or utcnow())
    if step is None:
        return False
    user.totp_secret_enc = vault.encrypt(secret, TOTP_CONTEXT)
    user.totp_last_step = step
    return True


def check_totp(user: User, vault: Vault, code: str, now: datetime | None = None) -> bool:
    """True for a current code not used before; a wrong code counts as a failure."""
    now = now or utcnow()
    secret = vault.decrypt(user.totp_secret_enc, TOTP_CONTEXT) if user.totp_secret_enc else None
    step = _matching_step(secret, code, now) if secret else None
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        record_failure(user, now)
        return False
    user.totp_last_step = step
    user.failed_logins = 0
    return True


def clear_totp(user: User) -> None:
    """Remove the second factor (lost phone); the user enrols again at the next login."""
    user.totp_secret_enc = None
    user.totp_last_step = None
    end_sessions(user)


def lawyer_choices(session: Session) -> list[tuple[str, str, str]]:
    """(responder key, name, network name) of every lawyer in the loaded config."""
    return [tuple(row) for row in session.execute(
        select(Responder.key, Responder.name, LegalNetwork.name)
        .join(LegalNetwork, LegalNetwork.id == Responder.network_id)
        .where(Responder.role == "lawyer").order_by(LegalNetwork.name, Responder.name))]
