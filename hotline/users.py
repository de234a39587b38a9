"""Dashboard accounts: argon2id hashes, roles, lockout."""

from __future__ import annotations

from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.models import ROLES, User, utcnow

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 12


class UserError(ValueError):
    """A user cannot be created or changed as asked."""


def hash_password(password: str) -> str:
    """An argon2id hash."""
    return _hasher.hash(password)


def create_user(session: Session, email: str, role: str, password: str,
                jurisdictions: list[str] | None = None) -> User:
    """A new dashboard user; flushes."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise UserError("EMAIL: not an email address")
    if role not in ROLES:
        raise UserError(f"--role: must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password: must be at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise UserError(f"EMAIL: a user {email} already exists")
    user = User(email=email, role=role, password_hash=hash_password(password),
                jurisdictions=jurisdictions or [])
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
    if not user.active or (user.locked_until and user.locked_until > now):
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.last_login_at = now
    return user
