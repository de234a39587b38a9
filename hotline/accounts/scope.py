"""What a user or an API token may see and do: roles scoped to jurisdictions, lawyers to their
network. Dashboard users and API tokens get their scope from this one function, so the API checks
exactly what the dashboard checks.

- admin: everything, the admin pages, every action.
- dispatcher: incidents of their jurisdictions (all when the scope is empty), every action.
- lawyer: incidents their legal network was paged about; accept or decline.
- viewer: incidents of their jurisdictions, read only, without report texts (no PII).

The out-of-area queue (no jurisdiction) belongs to users without a jurisdiction scope.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from hotline.models import Alert, Incident, Jurisdiction, LegalNetwork, Responder


@dataclass(frozen=True)
class Scope:
    """The incidents a user may see, and what they may do with them."""

    jurisdiction_ids: frozenset[int] | None  # None: every jurisdiction
    unassigned: bool  # the out-of-area queue
    network_id: int | None  # lawyers: only incidents paged to this network
    lawyer: bool
    pii: bool  # may read report texts
    act: bool  # may apply dispatcher actions

    def jurisdiction_filter(self, column: Any = None) -> list[Any]:
        """WHERE clauses for the jurisdiction part of the scope, on Incident's jurisdiction or
        on `column` (another row's jurisdiction id, such as a call's)."""
        column = Incident.jurisdiction_id if column is None else column
        if self.jurisdiction_ids is None:
            return [] if self.unassigned else [column.is_not(None)]
        return [column.in_(sorted(self.jurisdiction_ids))]

    def includes_jurisdiction(self, jurisdiction_id: int | None) -> bool:
        """True when a row of this jurisdiction (None: the out-of-area queue) is in scope."""
        if jurisdiction_id is None:
            return self.unassigned
        return self.jurisdiction_ids is None or jurisdiction_id in self.jurisdiction_ids

    def filters(self) -> list[Any]:
        """Every WHERE clause on Incident this scope needs."""
        clauses = self.jurisdiction_filter()
        if self.lawyer:
            if self.network_id is None:
                return [false()]
            clauses.append(Incident.id.in_(
                select(Alert.incident_id).join(Responder, Responder.id == Alert.responder_id)
                .where(Responder.network_id == self.network_id, Alert.kind == "page")))
        return clauses

    def restrict(self, query: Select[Any]) -> Select[Any]:
        """`query` (over Incident) limited to this scope."""
        return query.where(*self.filters())


class Principal(Protocol):
    """Who asks: a dashboard `User` or an `ApiToken` (both carry these three fields)."""

    role: str
    jurisdictions: list[Any]
    network_slug: str | None


def scope_of(session: Session, user: Principal) -> Scope:
    """The scope of a dashboard user or an API token."""
    slugs = [s for s in (user.jurisdictions or []) if isinstance(s, str)]
    ids = frozenset(session.scalars(select(Jurisdiction.id).where(
        Jurisdiction.slug.in_(slugs)))) if slugs else None
    network_id = None
    if user.role == "lawyer" and user.network_slug:
        network_id = session.scalar(select(LegalNetwork.id).where(
            LegalNetwork.slug == user.network_slug))
    return Scope(
        jurisdiction_ids=None if user.role == "admin" else ids,
        unassigned=user.role == "admin" or (not slugs and user.role != "lawyer"),
        network_id=network_id,
        lawyer=user.role == "lawyer",
        pii=user.role in ("admin", "dispatcher", "lawyer"),
        act=user.role in ("admin", "dispatcher"),
    )


def visible(session: Session, scope: Scope, incident: Incident) -> bool:
    """True when the scope includes this incident."""
    return session.scalar(scope.restrict(select(Incident.id).where(
        Incident.id == incident.id))) is not None
