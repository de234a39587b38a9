"""Load `config/*.yaml` into the database: validated, idempotent, naming file and key on error."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.core.config_files import (  # noqa: F401 - re-exported for callers
    ConfigError,
    parse_jurisdictions,
    parse_networks,
    read_yaml,
)
from hotline.core.languages import load_languages
from hotline.messaging.templates import Templates
from hotline.models import (
    CallRoster,
    EscalationPolicy,
    EscalationStep,
    Jurisdiction,
    LegalNetwork,
    OnCallRotation,
    Responder,
)
from hotline.privacy.vault import Vault


@dataclass
class LoadSummary:
    """What a load changed."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        """True when the load wrote anything."""
        return bool(self.created or self.updated)


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def load_config(session: Session, vault: Vault, directory: Path, region: str = "US"
                ) -> LoadSummary:
    """Upsert jurisdictions, networks, responders, rotations and policies; flush, never commit."""
    summary = LoadSummary()
    jurisdictions = parse_jurisdictions(directory / "jurisdictions.yaml")
    # the languages and their texts: validated the same way (read afresh, not the cached copy)
    languages = load_languages.__wrapped__(directory)
    Templates(languages)
    for i, record in enumerate(jurisdictions):
        for code in record["rules"]["languages"]:
            if code not in languages:
                raise ConfigError(f"{directory / 'jurisdictions.yaml'}: jurisdictions[{i}]"
                                  f".languages: {code!r} is not in languages.yaml")
    networks_file = directory / "networks.yaml"
    networks = (parse_networks(networks_file, {j["slug"] for j in jurisdictions}, region)
                if networks_file.exists() else [])

    by_slug = {j.slug: j for j in session.scalars(select(Jurisdiction))}
    for record in jurisdictions:
        obj = by_slug.get(record["slug"])
        if obj is None:
            obj = Jurisdiction(**record)
            session.add(obj)
            by_slug[obj.slug] = obj
            summary.created.append(f"jurisdiction {obj.slug}")
        elif _assign(obj, record):
            summary.updated.append(f"jurisdiction {obj.slug}")
        else:
            summary.unchanged += 1
    session.flush()

    nets = {n.slug: n for n in session.scalars(select(LegalNetwork))}
    responders = {r.key: r for r in session.scalars(select(Responder))}
    for record in networks:
        net = nets.get(record["slug"])
        fields_ = {"name": record["name"], "timezone": record["timezone"], "active": True}
        if net is None:
            net = LegalNetwork(slug=record["slug"], **fields_)
            session.add(net)
            summary.created.append(f"network {net.slug}")
        elif _assign(net, fields_):
            summary.updated.append(f"network {net.slug}")
        else:
            summary.unchanged += 1
        served = [by_slug[s] for s in record["serves"]]
        if {j.slug for j in net.jurisdictions} != set(record["serves"]):
            net.jurisdictions = served
            if f"network {net.slug}" not in summary.created:
                summary.updated.append(f"network {net.slug} jurisdictions")
        session.flush()

        for m in record["members"]:
            phone_hmac = vault.phone_hmac(m["phone"])
            obj = responders.get(m["key"])
            values = {"name": m["name"], "role": m["role"], "network_id": net.id,
                      "languages": m["languages"], "lat": m["lat"], "lon": m["lon"],
                      "trusted": m["trusted"], "active": m["active"], "phone_hmac": phone_hmac,
                      "channel": m.get("channel", "sms")}
            if obj is None:
                obj = Responder(key=m["key"], phone_enc=vault.encrypt(m["phone"], "responder"),
                                **values)
                session.add(obj)
                responders[obj.key] = obj
                summary.created.append(f"responder {obj.key}")
            else:
                changed = _assign(obj, values)
                if vault.decrypt(obj.phone_enc, "responder") != m["phone"]:
                    obj.phone_enc = vault.encrypt(m["phone"], "responder")
                    changed = True
                if changed:
                    summary.updated.append(f"responder {obj.key}")
                else:
                    summary.unchanged += 1
            wanted = [by_slug[s] for s in m["jurisdictions"] if s in by_slug]
            if {j.slug for j in obj.jurisdictions} != {j.slug for j in wanted}:
                obj.jurisdictions = wanted
                if f"responder {obj.key}" not in summary.created:
                    summary.updated.append(f"responder {obj.key} jurisdictions")

        _sync_named(net.rotations, record["rotations"], OnCallRotation,
                    f"rotation {net.slug}", summary)
        _sync_named(net.rosters, record["rosters"], CallRoster, f"call roster {net.slug}",
                    summary)

        policy = record["policy"]
        current = next((p for p in net.policies if p.name == policy["name"]), None)
        steps = [(s["target"], s["responder_key"], s["wait_minutes"]) for s in policy["steps"]]
        if current is None:
            current = EscalationPolicy(name=policy["name"], repeat=policy["repeat"])
            net.policies.append(current)
            summary.created.append(f"policy {net.slug}/{policy['name']}")
        existing = [(s.target, s.responder_key, s.wait_minutes) for s in current.steps]
        if existing != steps or current.repeat != policy["repeat"]:
            current.repeat = policy["repeat"]
            current.steps.clear()
            session.flush()
            for position, (target, key, wait) in enumerate(steps):
                current.steps.append(EscalationStep(position=position, target=target,
                                                    responder_key=key, wait_minutes=wait))
            if f"policy {net.slug}/{policy['name']}" not in summary.created:
                summary.updated.append(f"policy {net.slug}/{policy['name']}")
    if networks_file.exists():
        _retire_networks(session, nets, {r["slug"] for r in networks}, summary)
    session.flush()
    return summary


def _sync_named(rows: list[Any], records: list[dict[str, Any]], model: type[Any], label: str,
                summary: LoadSummary) -> None:
    """A network's rows named in config (rotations, call rosters): created, updated in place,
    and removed when no longer named."""
    existing = {row.name: row for row in rows}
    for record in records:
        row = existing.pop(record["name"], None)
        if row is None:
            rows.append(model(**record))
            summary.created.append(f"{label}/{record['name']}")
        elif _assign(row, record):
            summary.updated.append(f"{label}/{record['name']}")
    for stale in existing.values():
        rows.remove(stale)
        summary.updated.append(f"{label}/{stale.name} removed")


def _retire_networks(session: Session, nets: dict[str, LegalNetwork], listed: set[str],
                     summary: LoadSummary) -> None:
    """A network no longer in networks.yaml is deactivated (its history keeps pointing at it):
    its members are paged no more and its call rosters ring nobody."""
    for slug, net in nets.items():
        if slug in listed or (not net.active and not net.rosters):
            continue
        net.active = False
        net.rosters.clear()
        for responder in net.responders:
            responder.active = False
        summary.updated.append(f"network {slug} deactivated (no longer in networks.yaml)")
