"""Jurisdictions, legal networks, responders, on-call rotations and escalation policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.models.base import Base, utcnow

network_jurisdictions = Table(
    "network_jurisdictions",
    Base.metadata,
    Column("network_id", ForeignKey("legal_networks.id", ondelete="CASCADE"), primary_key=True),
    Column("jurisdiction_id", ForeignKey("jurisdictions.id", ondelete="CASCADE"),
           primary_key=True),
)

responder_jurisdictions = Table(
    "responder_jurisdictions",
    Base.metadata,
    Column("responder_id", ForeignKey("responders.id", ondelete="CASCADE"), primary_key=True),
    Column("jurisdiction_id", ForeignKey("jurisdictions.id", ondelete="CASCADE"),
           primary_key=True),
)


class Jurisdiction(Base):
    """An area served by the hotline, with the rules that place a report in it."""

    __tablename__ = "jurisdictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    # counties, cities, zips, aliases, landmarks: see config/jurisdictions.yaml
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # clustering radius/window, verification and auto-verify rules
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    networks: Mapped[list[LegalNetwork]] = relationship(
        secondary=network_jurisdictions, back_populates="jurisdictions")


class LegalNetwork(Base):
    """A legal-counsel network (e.g. a city's universal-representation program)."""

    __tablename__ = "legal_networks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    jurisdictions: Mapped[list[Jurisdiction]] = relationship(
        secondary=network_jurisdictions, back_populates="networks")
    responders: Mapped[list[Responder]] = relationship(back_populates="network")
    rotations: Mapped[list[OnCallRotation]] = relationship(
        back_populates="network", cascade="all, delete-orphan")
    policies: Mapped[list[EscalationPolicy]] = relationship(
        back_populates="network", cascade="all, delete-orphan")
    rosters: Mapped[list[CallRoster]] = relationship(
        back_populates="network", cascade="all, delete-orphan")


class Responder(Base):
    """A lawyer, verifier or dispatcher reachable by SMS."""

    __tablename__ = "responders"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # stable id from config
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # lawyer | verifier | dispatcher
    network_id: Mapped[int | None] = mapped_column(ForeignKey("legal_networks.id"))
    phone_hmac: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[str] = mapped_column(String(255),
                                           info={"encryption_context": "responder"})
    languages: Mapped[list[Any]] = mapped_column(default=list)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    trusted: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    unreachable: Mapped[bool] = mapped_column(default=False)  # e.g. Twilio 21610
    channel: Mapped[str] = mapped_column(String(8), default="sms")  # sms | whatsapp
    # OFF by text (`hotline.routing.availability`): out of rotations and verifier rounds
    # until then; AWAY_OPEN for "until I send ON"
    away_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    network: Mapped[LegalNetwork | None] = relationship(back_populates="responders")
    jurisdictions: Mapped[list[Jurisdiction]] = relationship(secondary=responder_jurisdictions)


def reachable_now(at: datetime) -> ColumnElement[bool]:
    """Responders Hotline may page or ask at `at`: active, reachable, and not OFF."""
    return and_(Responder.active.is_(True), Responder.unreachable.is_(False),
                or_(Responder.away_until.is_(None), Responder.away_until <= at))


class OnCallRotation(Base):
    """One layer of a network's on-call schedule: members hand over daily or weekly."""

    __tablename__ = "oncall_rotations"
    __table_args__ = (UniqueConstraint("network_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("legal_networks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(8))  # daily | weekly
    handoff: Mapped[str] = mapped_column(String(5), default="09:00")  # local time HH:MM
    starts_on: Mapped[str] = mapped_column(String(10))  # local date YYYY-MM-DD
    members: Mapped[list[Any]] = mapped_column(default=list)  # responder keys, in order
    overrides: Mapped[list[Any]] = mapped_column(default=list)  # {responder, start, end}
    priority: Mapped[int] = mapped_column(Integer, default=0)

    network: Mapped[LegalNetwork] = relationship(back_populates="rotations")


class EscalationPolicy(Base):
    """Ordered steps that page people until someone accepts."""

    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("network_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("legal_networks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    repeat: Mapped[int] = mapped_column(default=0)

    network: Mapped[LegalNetwork] = relationship(back_populates="policies")
    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="policy", cascade="all, delete-orphan",
        order_by="EscalationStep.position")


class EscalationStep(Base):
    """Who to notify at one step, and how long to wait for an accept."""

    __tablename__ = "escalation_steps"
    __table_args__ = (UniqueConstraint("policy_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("escalation_policies.id",
                                                      ondelete="CASCADE"))
    position: Mapped[int]
    # on_call | next_in_rotation | network | dispatchers | responder
    target: Mapped[str] = mapped_column(String(24))
    responder_key: Mapped[str | None] = mapped_column(String(64))
    wait_minutes: Mapped[int] = mapped_column(default=5)

    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")


class CallRoster(Base):
    """Who answers the hotline's calls for some of a network's jurisdictions: volunteers (the
    network's members) on weekly shifts in the network's timezone, plus dated overrides."""

    __tablename__ = "call_rosters"
    __table_args__ = (UniqueConstraint("network_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("legal_networks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    serves: Mapped[list[Any]] = mapped_column(default=list)  # jurisdiction slugs
    ring_seconds: Mapped[int] = mapped_column(default=20)
    call_limit: Mapped[int] = mapped_column(default=5)
    call_limit_minutes: Mapped[int] = mapped_column(default=60)
    shifts: Mapped[list[Any]] = mapped_column(default=list)  # {volunteer, days, start, end}
    overrides: Mapped[list[Any]] = mapped_column(default=list)  # {responder, start, end}

    network: Mapped[LegalNetwork] = relationship(back_populates="rosters")


class ScheduleOverride(Base):
    """An override made on the dashboard's on-call page: `responder` takes a rotation or a call
    roster (`schedule` names it, of `kind` rotation | roster) from `start_at` to `end_at`. Kept
    apart from the YAML's overrides, so `config load` never drops one; a schedule no longer in
    the YAML leaves its overrides unused, and they count again if it comes back."""

    __tablename__ = "schedule_overrides"
    __table_args__ = (Index("ix_schedule_overrides_network_end", "network_id", "end_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("legal_networks.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # rotation | roster
    schedule: Mapped[str] = mapped_column(String(100))
    responder: Mapped[str] = mapped_column(String(64))  # a responder key
    start_at: Mapped[datetime]
    end_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class GeoFeature(Base):
    """A place imported from OpenStreetMap for a jurisdiction (`hotline geo import`): a street
    (its middle), a corner of two streets, an address, a named place or a neighbourhood, by the
    key a message names it with (see `hotline.triage.osm`)."""

    __tablename__ = "geo_features"
    __table_args__ = (Index("ix_geo_features_jurisdiction_kind", "jurisdiction_id", "kind"),
                      Index("ix_geo_features_kind_key", "kind", "key"))

    id: Mapped[int] = mapped_column(primary_key=True)
    jurisdiction_id: Mapped[int] = mapped_column(ForeignKey("jurisdictions.id",
                                                            ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # street | corner | address | place | area
    key: Mapped[str] = mapped_column(String(200))
    label: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float]
    lon: Mapped[float]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


BY_KEY = ("corner", "address")  # read one key at a time (a county has hundreds of thousands)


def _rows_query(*where: Any) -> Any:  # noqa: ANN401 - a Select
    from sqlalchemy import select  # noqa: PLC0415 - models import no query helpers at the top

    return select(GeoFeature.kind, GeoFeature.key, GeoFeature.label, GeoFeature.lat,
                  GeoFeature.lon, GeoFeature.data, Jurisdiction.slug).join(
        Jurisdiction, Jurisdiction.id == GeoFeature.jurisdiction_id).where(
        Jurisdiction.active.is_(True), *where)


def imported_rows(executor: Any) -> list[tuple[Any, ...]]:  # noqa: ANN401 - Session/Connection
    """The imported streets, places and neighbourhoods of the active jurisdictions as (kind,
    key, label, lat, lon, data, jurisdiction slug), for `hotline.triage.osm.OsmIndex`; corners
    and addresses are read by `imported_by_key`."""
    return [tuple(row) for row in executor.execute(
        _rows_query(GeoFeature.kind.not_in(BY_KEY))).all()]


def imported_by_key(executor: Any, kind: str, key: str) -> list[tuple[Any, ...]]:  # noqa: ANN401
    """The imported corners or addresses of one key (uses ix_geo_features_kind_key)."""
    return [tuple(row) for row in executor.execute(
        _rows_query(GeoFeature.kind == kind, GeoFeature.key == key)).all()]


def imported_slugs(executor: Any) -> list[str]:  # noqa: ANN401
    """The active jurisdictions with anything imported."""
    from sqlalchemy import select  # noqa: PLC0415

    return list(executor.execute(select(Jurisdiction.slug).where(
        Jurisdiction.active.is_(True), Jurisdiction.id.in_(
            select(GeoFeature.jurisdiction_id).distinct()))).scalars())
