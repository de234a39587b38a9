"""Jurisdiction rules plus the offline place data, indexed for matching phrases in messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers
from phonenumbers import geocoder

from hotline.triage.places import STATES, Place, Places, fold, places


@dataclass(frozen=True)
class JurisdictionRules:
    """What places a report in one jurisdiction (from config or the database)."""

    slug: str
    name: str
    state: str
    timezone: str
    counties: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()
    zips: tuple[str, ...] = ()
    aliases: dict[str, dict[str, Any]] = field(default_factory=dict)
    landmarks: tuple[dict[str, Any], ...] = ()
    streets: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, slug: str, name: str, state: str, timezone: str,
                    rules: dict[str, Any]) -> JurisdictionRules:
        """Build from a jurisdiction's stored `rules` mapping."""
        return cls(
            slug=slug, name=name, state=state, timezone=timezone,
            counties=tuple(rules.get("counties", ())), cities=tuple(rules.get("cities", ())),
            zips=tuple(rules.get("zips", ())), aliases=dict(rules.get("aliases", {})),
            landmarks=tuple(rules.get("landmarks", ())),
            streets=tuple(rules.get("streets", ())),
        )


@dataclass(frozen=True)
class Named:
    """A phrase from config that names a place: an alias, neighbourhood or landmark."""

    phrase: str
    kind: str  # alias_city | neighbourhood | landmark
    label: str
    place: Place
    slug: str


class Gazetteer:
    """Everything location matching needs, built once per set of jurisdictions."""

    def __init__(self, jurisdictions: Iterable[JurisdictionRules],
                 place_data: Places | None = None) -> None:
        self.places = place_data or places()
        self.jurisdictions = {j.slug: j for j in jurisdictions}
        self._by_zip: dict[str, str] = {}
        self._by_city: dict[tuple[str, str], str] = {}
        self._by_county: dict[tuple[str, str], str] = {}
        self.named: dict[str, Named] = {}
        self.streets: dict[str, set[str]] = {}
        for j in self.jurisdictions.values():
            for z in j.zips:
                self._by_zip[z] = j.slug
            for city in j.cities:
                self._by_city[(fold(city), j.state)] = j.slug
            for county in j.counties:
                self._by_county[(fold(county), j.state)] = j.slug
            for phrase, target in j.aliases.items():
                place = self._resolve_target(target, j.state)
                if place is not None:
                    kind = "alias_city" if "city" in target and "zip" not in target \
                        else "neighbourhood"
                    self.named[fold(phrase)] = Named(fold(phrase), kind, phrase, place, j.slug)
            for landmark in j.landmarks:
                place = self._resolve_target(landmark, j.state)
                if place is None:
                    continue
                for phrase in landmark["match"]:
                    self.named[fold(phrase)] = Named(fold(phrase), "landmark", landmark["name"],
                                                     place, j.slug)
            for street in j.streets:
                self.streets.setdefault(fold(street), set()).add(j.slug)
        self.max_phrase_words = max((len(p.split()) for p in self.named), default=1)

    def _resolve_target(self, target: dict[str, Any], state: str) -> Place | None:
        if target.get("zip"):
            place = self.places.zip(str(target["zip"]))
            if place is not None:
                return place
        if target.get("city"):
            place = self.places.city(target["city"], target.get("state", state))
            if place is not None:
                return place
        if "lat" in target and "lon" in target:
            return Place(target.get("city"), target.get("county"), state,
                         float(target["lat"]), float(target["lon"]))
        return None

    def jurisdiction_for(self, place: Place) -> str | None:
        """The jurisdiction whose rules cover `place`: ZIP rule, then city rule, then county."""
        if place.zip and place.zip in self._by_zip:
            return self._by_zip[place.zip]
        if place.state is None:
            return None
        if place.city and (fold(place.city), place.state) in self._by_city:
            return self._by_city[(fold(place.city), place.state)]
        if place.county and (fold(place.county), place.state) in self._by_county:
            return self._by_county[(fold(place.county), place.state)]
        return None

    def timezone(self, slug: str | None) -> str | None:
        """IANA timezone of a jurisdiction."""
        return self.jurisdictions[slug].timezone if slug in self.jurisdictions else None

    def area_code_place(self, e164: str | None) -> Place | None:
        """Where a number's area code points (a weak hint): a city, or only a state."""
        if not e164:
            return None
        try:
            number = phonenumbers.parse(e164, "US")
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.region_code_for_number(number) != "US":
            return None
        description = geocoder.description_for_number(number, "en")
        if ", " in description:
            city, state = description.rsplit(", ", 1)
            place = self.places.city(city, state)
            if place is not None:
                return place
            return Place(None, None, state if state in STATES else None, None, None)
        by_name = {v: k for k, v in STATES.items()}
        state = by_name.get(fold(description))
        return Place(None, None, state, None, None) if state else None
