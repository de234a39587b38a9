"""Read an OpenStreetMap extract (.osm.pbf, .osm, .osm.bz2) with pyosmium and store what triage
can place a report at: named streets (every way of one name), their corners (each node shared
by two differently named streets), addresses, named places people go to, and neighbourhoods.

One pass over the file with node locations (pyosmium's in-memory index), then the features are
written for one jurisdiction, replacing whatever an earlier import stored for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import osmium
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from hotline.models import GeoFeature, Jurisdiction, utcnow
from hotline.triage.osm import CORNER_SAME_M, metres, phrase, street_key

# highways people name as streets (not footways, tracks, motorway ramps)
STREETS = frozenset("""
    motorway trunk primary secondary tertiary unclassified residential living_street service
    pedestrian road busway
""".split())
# what makes a named thing a place people go to (key, or key=value)
PLACE_KEYS = ("amenity", "shop", "leisure", "tourism", "office", "craft", "healthcare",
              "public_transport", "railway", "building", "historic", "man_made", "landuse")
PLACE_SKIP = {"railway": {"rail", "subway", "tram", "abandoned", "disused", "platform_edge"},
              "landuse": {"grass", "farmland"}, "building": {"yes"}}
AREA_PLACES = frozenset({"neighbourhood", "suburb", "quarter", "city_block", "hamlet"})
NAME_KEYS = ("name", "name:en", "name:es", "name:zh", "name:vi", "name:ko", "name:tl",
             "alt_name", "old_name", "official_name", "short_name", "loc_name", "brand")
PROGRESS_EVERY = 200_000


@dataclass
class Counts:
    """What an import found (and stored)."""

    streets: int = 0
    corners: int = 0
    addresses: int = 0
    places: int = 0
    areas: int = 0
    objects: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        """One line for people."""
        return (f"{self.streets} streets, {self.corners} corners, {self.addresses} addresses, "
                f"{self.places} place names, {self.areas} neighbourhoods "
                f"({self.objects} OSM objects read in {self.seconds:.1f} s)")


@dataclass
class _Found:
    street_nodes: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)
    street_labels: dict[str, str] = field(default_factory=dict)
    node_keys: dict[int, set[str]] = field(default_factory=dict)
    node_at: dict[int, tuple[float, float]] = field(default_factory=dict)
    points: list[tuple[str, str, str, float, float, dict[str, Any]]] = field(default_factory=list)
    # address nodes (number, street) by id, for addr:interpolation ways between them
    numbered: dict[int, tuple[str, str]] = field(default_factory=dict)


def _centre(coords: list[tuple[float, float]]) -> tuple[float, float] | None:
    if not coords:
        return None
    return (sum(c[0] for c in coords) / len(coords), sum(c[1] for c in coords) / len(coords))


def _category(tags: Any) -> str | None:  # noqa: ANN401 - osmium's TagList
    for key in PLACE_KEYS:
        value = tags.get(key)
        if value and value not in PLACE_SKIP.get(key, set()) and value != "no":
            return f"{key}={value}"
    return None


class _Reader(osmium.SimpleHandler):
    def __init__(self, progress: Callable[[int], None] | None) -> None:
        super().__init__()
        self.found = _Found()
        self.objects = 0
        self.progress = progress

    def _tick(self) -> None:
        self.objects += 1
        if self.progress is not None and self.objects % PROGRESS_EVERY == 0:
            self.progress(self.objects)

    def _point(self, tags: Any, lat: float, lon: float) -> None:  # noqa: ANN401
        found = self.found
        number, street = tags.get("addr:housenumber"), tags.get("addr:street")
        if number and street and street_key(street):
            found.points.append(("address", f"{number.strip().lower()} {street_key(street)}",
                                 f"{number} {street}", lat, lon, {}))
        if not tags.get("name") and not tags.get("brand"):
            return
        place = tags.get("place")
        category = _category(tags)
        kind = "area" if place in AREA_PLACES else "place" if category else None
        if kind is None:
            return
        label = tags.get("name") or tags.get("brand")
        data: dict[str, Any] = {"category": place or category}
        if street and street_key(street):
            data["street"] = street_key(street)
        if tags.get("brand"):
            data["brand"] = tags.get("brand")
        seen: set[str] = set()
        for key in NAME_KEYS:
            value = tags.get(key)
            for name in (value.split(";") if value else []):
                spoken = phrase(name)
                if spoken and spoken not in seen and len(spoken) >= 3:
                    seen.add(spoken)
                    found.points.append((kind, spoken, label, lat, lon, data))

    def node(self, n: Any) -> None:  # noqa: ANN401 - osmium's Node
        self._tick()
        if n.tags and n.location.valid():
            self._point(n.tags, n.location.lat, n.location.lon)
            number, street = n.tags.get("addr:housenumber"), n.tags.get("addr:street")
            if number and street:
                self.found.numbered[n.id] = (number.strip(), street)

    def area(self, a: Any) -> None:  # noqa: ANN401 - osmium's Area
        """A multipolygon relation (a park, a school's grounds, a neighbourhood's boundary):
        named at its outer ring's centre. Closed ways are read as ways."""
        if a.from_way() or not a.tags:
            return
        for ring in a.outer_rings():
            centre = _centre([(node.lat, node.lon) for node in ring if node.location.valid()])
            if centre is not None:
                self._point(a.tags, *centre)
            return

    def _interpolate(self, w: Any, style: str) -> None:  # noqa: ANN401
        """House numbers between the two address nodes at the ends of an addr:interpolation way
        (odd, even or all), spread evenly on the line between them."""
        ends = [self.found.numbered.get(node.ref) for node in (w.nodes[0], w.nodes[-1])]
        points = [(n.location.lat, n.location.lon) for n in w.nodes if n.location.valid()]
        if None in ends or len(points) < 2:
            return
        (first, street), (last, _) = ends  # type: ignore[misc]
        if not (first.isdigit() and last.isdigit()) or not street_key(street):
            return
        low, high = sorted((int(first), int(last)))
        step = 1 if style == "all" else 2
        if high - low > 2000 or high == low:
            return
        start, end = points[0], points[-1]
        ascending = int(first) <= int(last)
        for number in range(low + step, high, step):
            share = (number - low) / (high - low)
            share = share if ascending else 1 - share
            lat = start[0] + (end[0] - start[0]) * share
            lon = start[1] + (end[1] - start[1]) * share
            self.found.points.append(("address", f"{number} {street_key(street)}",
                                      f"{number} {street}", lat, lon, {"interpolated": True}))

    def way(self, w: Any) -> None:  # noqa: ANN401 - osmium's Way
        self._tick()
        tags = w.tags
        coords: dict[int, tuple[float, float]] = {}
        for node in w.nodes:
            if node.location.valid():
                coords[node.ref] = (node.location.lat, node.location.lon)
        name = tags.get("name")
        style = tags.get("addr:interpolation")
        if style in ("odd", "even", "all") and len(w.nodes) >= 2:
            self._interpolate(w, style)
            return
        if tags.get("highway") in STREETS and name and street_key(name):
            found = self.found
            key = street_key(name)
            found.street_nodes.setdefault(name, {}).update(coords)
            found.street_labels.setdefault(name, key)
            for ref, at in coords.items():
                found.node_keys.setdefault(ref, set()).add(name)
                found.node_at[ref] = at
            return
        centre = _centre(list(coords.values()))
        if centre is not None and len(tags):
            self._point(tags, *centre)


def read_extract(path: Path, progress: Callable[[int], None] | None = None
                 ) -> tuple[list[tuple[str, str, str, float, float, dict[str, Any]]], Counts]:
    """The features of an extract: (kind, key, label, lat, lon, data), and their counts."""
    started = time.monotonic()
    reader = _Reader(progress)
    reader.apply_file(str(path), locations=True)
    found = reader.found
    features: list[tuple[str, str, str, float, float, dict[str, Any]]] = []
    counts = Counts(objects=reader.objects)
    for name, nodes in found.street_nodes.items():
        middle = _centre(list(nodes.values()))
        if middle is None:
            continue
        # the street's node nearest its mean: a point on the street itself
        at = min(nodes.values(), key=lambda c: metres(c, middle))
        features.append(("street", found.street_labels[name], name, at[0], at[1],
                         {"nodes": len(nodes)}))
        counts.streets += 1
    corners: dict[str, list[tuple[float, float]]] = {}
    for ref, names in found.node_keys.items():
        keys = sorted({street_key(n): n for n in names}.items())
        for i, (first, first_name) in enumerate(keys):
            for second, second_name in keys[i + 1:]:
                at = found.node_at[ref]
                pair = f"{first}|{second}"
                if any(metres(at, seen) < CORNER_SAME_M for seen in corners.get(pair, [])):
                    continue  # the same corner, drawn with two nodes
                corners.setdefault(pair, []).append(at)
                features.append(("corner", pair, f"{first_name} & {second_name}", at[0], at[1],
                                 {"node": ref}))
                counts.corners += 1
    for kind, key, label, lat, lon, data in found.points:
        features.append((kind, key, label, lat, lon, data))
        if kind == "address":
            counts.addresses += 1
        elif kind == "place":
            counts.places += 1
        else:
            counts.areas += 1
    counts.seconds = time.monotonic() - started
    return features, counts


def _batches(rows: list[dict[str, Any]], size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def store_features(session: Session, slug: str,
                   features: list[tuple[str, str, str, float, float, dict[str, Any]]]) -> int:
    """Replace the jurisdiction's imported features with these (flushes, never commits)."""
    jurisdiction_id = session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == slug))
    if jurisdiction_id is None:
        raise ValueError(f"unknown jurisdiction {slug!r} (load the config first)")
    session.execute(delete(GeoFeature).where(GeoFeature.jurisdiction_id == jurisdiction_id))
    rows = [{"jurisdiction_id": jurisdiction_id, "kind": kind, "key": key[:200],
             "label": label[:300], "lat": lat, "lon": lon, "data": data}
            for kind, key, label, lat, lon, data in features]
    for batch in _batches(rows):
        session.execute(insert(GeoFeature), batch)
    # the gazetteer of every process is rebuilt when a jurisdiction changes
    session.get(Jurisdiction, jurisdiction_id).updated_at = utcnow()
    session.flush()
    return len(rows)
