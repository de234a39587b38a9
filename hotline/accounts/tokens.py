"""API bearer tokens: shown once, stored only as a SHA-256 hash, scoped like dashboard users."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.refusals import Refusal
from hotline.models import ROLES, ApiToken, Jurisdiction, LegalNetwork, utcnow

PREFIX = "htl_"


class TokenError(Refusal):
    """A token cannot be created as asked (the message names the option at fault)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _checked_scope(session: Session, role: str, jurisdictions: list[str],
                   network_slug: str | None) -> tuple[list[str], str | None]:
    """(jurisdiction slugs, network slug) of a token, each checked against the loaded config.

    The rules are the dashboard's: an admin sees everything, so a jurisdiction scope on an admin
    token is refused rather than silently ignored; a lawyer token sees what its legal network was
    paged about, so it needs one; no other role has a network.
    """
    if role not in ROLES:
        raise TokenError("--role: must be one of %(roles)s", roles=", ".join(ROLES))
    slugs = sorted({s.strip() for s in jurisdictions if s.strip()})
    if slugs and role == "admin":
        raise TokenError("--jurisdiction: an admin token sees every jurisdiction; "
                         "use a dispatcher or viewer token for a scoped one")
    known = set(session.scalars(select(Jurisdiction.slug).where(Jurisdiction.slug.in_(slugs))))
    unknown = [s for s in slugs if s not in known]
    if unknown:
        raise TokenError("--jurisdiction: unknown slug(s) %(slugs)s", slugs=", ".join(unknown))
    network = (network_slug or "").strip() or None
    if role == "lawyer" and network is None:
        raise TokenError("--network: a lawyer token needs the legal network it reads for")
    if role != "lawyer" and network is not None:
        raise TokenError("--network: only a lawyer token has a legal network")
    if network is not None and session.scalar(
            select(LegalNetwork.id).where(LegalNetwork.slug == network)) is None:
        raise TokenError("--network: no legal network %(slug)r", slug=network)
    return slugs, network


def create_token(session: Session, name: str, role: str = "dispatcher",
                 jurisdictions: list[str] | None = None,
                 network_slug: str | None = None) -> tuple[ApiToken, str]:
    """A new token row and the token itself (the only time it exists in clear); flushes."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("NAME: must be 1 to 100 characters")
    slugs, network = _checked_scope(session, role, jurisdictions or [], network_slug)
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=name, token_hash=_hash(token), prefix=token[:12], role=role,
                   jurisdictions=slugs, network_slug=network)
    session.add(row)
    session.flush()
    return row, token


def describe_scope(row: ApiToken) -> str:
    """The token's scope in words, for the admin page and the CLI."""
    if row.role == "admin":
        return "everything"
    if row.role == "lawyer":
        where = f" in {', '.join(row.jurisdictions)}" if row.jurisdictions else ""
        return f"pages to {row.network_slug or 'no network'}{where}"
    if row.jurisdictions:
        return ", ".join(row.jurisdictions)
    return "every jurisdiction and the out-of-area queue"


def authenticate(session: Session, token: str) -> ApiToken | None:
    """The live token row for a presented bearer token, or None."""
    if not token.startswith(PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is not None:
        row.last_used_at = utcnow()
    return row
