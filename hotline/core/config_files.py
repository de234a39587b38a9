"""Read and validate `config/*.yaml` (no database here: `hotline triage` reads it cold)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from hotline.core.phones import normalize_phone

# libyaml's safe loader when the wheel has it: ten times faster, same safety
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
STEP_TARGETS = ("on_call", "next_in_rotation", "network", "dispatchers", "responder")
RESPONDER_ROLES = ("lawyer", "verifier", "dispatcher")


class ConfigError(ValueError):
    """A config file is wrong; the message names the file and the key."""


class _Reader:
    """Typed access to a YAML tree that reports `file: path.to.key: problem`."""

    def __init__(self, file: Path) -> None:
        self.file = file

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.file}: {where}: {problem}")

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, "must be a mapping")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, "must be a list")
        return value

    def text(self, node: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = node.get(key, default)
        if value is None:
            raise self.fail(f"{where}.{key}", "is required")
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise self.fail(f"{where}.{key}", "must be text")
        return str(value).strip()

    def number(self, node: dict[str, Any], key: str, where: str, default: int,
               low: int = 0, high: int = 10_000) -> int:
        value = node.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(f"{where}.{key}", f"must be a whole number from {low} to {high}")
        return value

    def strings(self, node: dict[str, Any], key: str, where: str) -> list[str]:
        value = node.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise self.fail(f"{where}.{key}", "must be a list of text")
        return [str(v).strip() for v in value]

    def timezone(self, node: dict[str, Any], key: str, where: str) -> str:
        name = self.text(node, key, where)
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(f"{where}.{key}", f"unknown timezone {name!r}") from None
        return name

    def slug(self, node: dict[str, Any], key: str, where: str) -> str:
        value = self.text(node, key, where)
        if not SLUG.match(value):
            raise self.fail(f"{where}.{key}", f"{value!r} is not a slug (a-z, 0-9, dashes)")
        return value


def read_yaml(file: Path) -> dict[str, Any]:
    """Parse one YAML file, turning syntax errors into ConfigError naming the file and line."""
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=_LOADER)  # noqa: S506
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: must hold a mapping at the top level")
    return data


def parse_jurisdictions(file: Path) -> list[dict[str, Any]]:
    """Validated jurisdiction records from `jurisdictions.yaml`."""
    reader = _Reader(file)
    data = read_yaml(file)
    records = []
    seen: set[str] = set()
    for i, raw in enumerate(reader.items(data.get("jurisdictions"), "jurisdictions")):
        where = f"jurisdictions[{i}]"
        node = reader.mapping(raw, where)
        slug = reader.slug(node, "slug", where)
        if slug in seen:
            raise reader.fail(f"{where}.slug", f"duplicate slug {slug!r}")
        seen.add(slug)
        state = reader.text(node, "state", where).upper()
        if not re.fullmatch(r"[A-Z]{2}", state):
            raise reader.fail(f"{where}.state", "must be a two-letter state code")
        counties = reader.strings(node, "counties", where)
        cities = reader.strings(node, "cities", where)
        zips = reader.strings(node, "zips", where)
        if not (counties or cities or zips):
            raise reader.fail(where, "needs at least one of counties, cities, zips")
        for z in zips:
            if not re.fullmatch(r"\d{5}", z):
                raise reader.fail(f"{where}.zips", f"{z!r} is not a 5-digit ZIP code")
        aliases = reader.mapping(node.get("aliases") or {}, f"{where}.aliases")
        clean_aliases: dict[str, dict[str, Any]] = {}
        for name, target in aliases.items():
            spot = f"{where}.aliases.{name}"
            target = reader.mapping(target, spot)
            if not ({"zip", "city"} & target.keys() or {"lat", "lon"} <= target.keys()):
                raise reader.fail(spot, "must give zip, city, or lat and lon")
            clean_aliases[str(name).lower()] = {k: target[k] for k in sorted(target)}
        landmarks = []
        for j, lm in enumerate(reader.items(node.get("landmarks") or [], f"{where}.landmarks")):
            spot = f"{where}.landmarks[{j}]"
            lm = reader.mapping(lm, spot)
            entry = {"name": reader.text(lm, "name", spot),
                     "match": [m.lower() for m in reader.strings(lm, "match", spot)]}
            if not entry["match"]:
                raise reader.fail(f"{spot}.match", "must list at least one way to write it")
            for key in ("zip", "lat", "lon"):
                if key in lm:
                    entry[key] = lm[key]
            landmarks.append(entry)
        policy = reader.mapping(node.get("policy") or {}, f"{where}.policy")
        records.append({
            "slug": slug,
            "name": reader.text(node, "name", where),
            "state": state,
            "timezone": reader.timezone(node, "timezone", where),
            "rules": {
                "counties": counties, "cities": cities, "zips": zips,
                "aliases": clean_aliases, "landmarks": landmarks,
                "streets": [s.lower() for s in reader.strings(node, "streets", where)],
            },
            "policy": dict(policy),
        })
    return records


def parse_networks(file: Path, jurisdiction_slugs: set[str], region: str) -> list[dict[str, Any]]:
    """Validated legal-network records from `networks.yaml`."""
    reader = _Reader(file)
    data = read_yaml(file)
    records = []
    keys: set[str] = set()
    for i, raw in enumerate(reader.items(data.get("networks"), "networks")):
        where = f"networks[{i}]"
        node = reader.mapping(raw, where)
        serves = reader.strings(node, "serves", where)
        for slug in serves:
            if slug not in jurisdiction_slugs:
                raise reader.fail(f"{where}.serves", f"unknown jurisdiction {slug!r}")
        members = []
        for j, m in enumerate(reader.items(node.get("members") or [], f"{where}.members")):
            spot = f"{where}.members[{j}]"
            m = reader.mapping(m, spot)
            key = reader.slug(m, "key", spot)
            if key in keys:
                raise reader.fail(f"{spot}.key", f"duplicate responder key {key!r}")
            keys.add(key)
            role = reader.text(m, "role", spot)
            if role not in RESPONDER_ROLES:
                raise reader.fail(f"{spot}.role", f"must be one of {', '.join(RESPONDER_ROLES)}")
            raw_phone = reader.text(m, "phone", spot)  # its own error when missing
            try:
                phone = normalize_phone(raw_phone, region)
            except ValueError as exc:
                raise reader.fail(f"{spot}.phone", str(exc)) from None
            languages = reader.strings(m, "languages", spot) or ["en"]
            members.append({
                "key": key, "name": reader.text(m, "name", spot), "role": role, "phone": phone,
                "languages": languages, "lat": m.get("lat"), "lon": m.get("lon"),
                "trusted": bool(m.get("trusted", False)), "active": bool(m.get("active", True)),
                "jurisdictions": reader.strings(m, "jurisdictions", spot) or serves,
            })
        member_keys = {m["key"] for m in members}
        rotations = []
        for j, r in enumerate(reader.items(node.get("rotations") or [], f"{where}.rotations")):
            spot = f"{where}.rotations[{j}]"
            r = reader.mapping(r, spot)
            period = reader.text(r, "period", spot)
            if period not in ("daily", "weekly"):
                raise reader.fail(f"{spot}.period", "must be daily or weekly")
            handoff = reader.text(r, "handoff", spot, "09:00")
            if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", handoff):
                raise reader.fail(f"{spot}.handoff", "must be HH:MM")
            starts_on = reader.text(r, "starts_on", spot)
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", starts_on):
                raise reader.fail(f"{spot}.starts_on", "must be a date YYYY-MM-DD")
            rmembers = reader.strings(r, "members", spot)
            for key in rmembers:
                if key not in member_keys:
                    raise reader.fail(f"{spot}.members", f"{key!r} is not a member")
            overrides = reader.items(r.get("overrides") or [], f"{spot}.overrides")
            rotations.append({"name": reader.text(r, "name", spot), "period": period,
                              "handoff": handoff, "starts_on": starts_on, "members": rmembers,
                              "overrides": overrides, "priority": j})
        esc = reader.mapping(node.get("escalation") or {}, f"{where}.escalation")
        steps = []
        for j, s in enumerate(reader.items(esc.get("steps") or [], f"{where}.escalation.steps")):
            spot = f"{where}.escalation.steps[{j}]"
            s = reader.mapping(s, spot)
            target = reader.text(s, "target", spot)
            if target not in STEP_TARGETS:
                raise reader.fail(f"{spot}.target", f"must be one of {', '.join(STEP_TARGETS)}")
            responder = s.get("responder")
            if target == "responder" and responder not in member_keys:
                raise reader.fail(f"{spot}.responder", "must name a member of this network")
            steps.append({"target": target, "responder_key": responder,
                          "wait_minutes": reader.number(s, "wait_minutes", spot, 5, 0, 1440)})
        records.append({
            "slug": reader.slug(node, "slug", where),
            "name": reader.text(node, "name", where),
            "timezone": reader.timezone(node, "timezone", where),
            "serves": serves, "members": members, "rotations": rotations,
            "policy": {"name": reader.text(esc, "name", f"{where}.escalation", "default"),
                       "repeat": reader.number(esc, "repeat", f"{where}.escalation", 0, 0, 20),
                       "steps": steps},
        })
    return records


