"""Jurisdiction rules plus the offline place data, indexed for matching phrases in messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import phonenumbers

from hotline.triage.gloss import Glossary
from hotline.triage.osm import OsmIndex, street_key
from hotline.triage.places import Place, Places, fold, places, tokens

STREET_SUFFIXES = frozenset("""
    st street str ave av avenue avenida blvd boulevard rd road dr drive ln lane way pl place ct
    court pkwy parkway hwy highway expy expressway ter terrace cir circle sq
""".split())
DIRECTIONS = frozenset("n s e w ne nw se sw north south east west".split())


def phrase_key(phrase: str) -> str:
    """How a configured phrase is looked up: its tokens, space separated."""
    return " ".join(tokens(phrase))


def street_base(street: str) -> str:
    """A street's name without its suffix and direction ("Rainier Ave S" -> "rainier")."""
    words = tokens(street)
    if len(words) > 1 and words[-1] in DIRECTIONS:
        words = words[:-1]
    if len(words) > 1 and words[-1] in STREET_SUFFIXES:
        words = words[:-1]
    return " ".join(words)


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
    # names of its places as other languages and scripts write them -> the name triage knows
    exonyms: dict[str, str] = field(default_factory=dict)
    languages: tuple[str, ...] = ()
    # the hotline's own numbers for it (E.164): a call or text to one names the jurisdiction
    hotline_numbers: tuple[str, ...] = ()

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
            exonyms=dict(rules.get("exonyms", {})), languages=tuple(rules.get("languages", ())),
            hotline_numbers=tuple(rules.get("hotline_numbers", ())),
        )


@dataclass(frozen=True)
class Named:
    """A phrase from config that names a place: an alias, neighbourhood or landmark."""

    phrase: str
    kind: str  # alias_city (a whole city, borough or region) | neighbourhood | landmark
    label: str
    place: Place
    slug: str
    osm: bool = False  # imported from OpenStreetMap


class Gazetteer:
    """Everything location matching needs, built once per set of jurisdictions."""

    def __init__(self, jurisdictions: Iterable[JurisdictionRules],
                 place_data: Places | None = None, osm: OsmIndex | None = None) -> None:
        self.places = place_data or places()
        self.osm = osm or OsmIndex()
        self.jurisdictions = {j.slug: j for j in jurisdictions}
        self._by_zip: dict[str, str] = {}
        self._by_city: dict[tuple[str, str], str] = {}
        self._by_county: dict[tuple[str, str], str] = {}
        self.named: dict[str, Named] = {}
        # phrases more than one jurisdiction names ("chinatown"): every one of them
        self.homonyms: dict[str, list[Named]] = {}
        self.streets: dict[str, set[str]] = {}
        self.street_names: dict[str, set[str]] = {}
        # the configured streets by their key ("primera" and "First St" are both "1")
        self.street_keys: dict[str, set[str]] = {}
        self.states = frozenset(j.state for j in self.jurisdictions.values())
        self._by_number = {number: j.slug for j in self.jurisdictions.values()
                           for number in j.hotline_numbers}
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
                    whole = target.get("kind") == "area" or ("city" in target
                                                             and "zip" not in target)
                    kind = "alias_city" if whole else "neighbourhood"
                    key = phrase_key(phrase)
                    self._name(Named(key, kind, phrase, place, j.slug))
            for landmark in j.landmarks:
                place = self._resolve_target(landmark, j.state)
                if place is None:
                    continue
                for phrase in landmark["match"]:
                    key = phrase_key(phrase)
                    self._name(Named(key, "landmark", landmark["name"], place, j.slug))
            for street in j.streets:
                self.streets.setdefault(fold(street), set()).add(j.slug)
                self.street_names.setdefault(street_base(street), set()).add(j.slug)
                self.street_keys.setdefault(street_key(street), set()).add(j.slug)
        self._add_imported()
        self.max_phrase_words = max((len(p.split()) for p in self.named), default=1)
        exonyms: dict[str, str] = {}
        for j in self.jurisdictions.values():
            for phrase, name in j.exonyms.items():
                exonyms.setdefault(phrase, name)
        self.exonyms = Glossary(exonyms)

    def _add_imported(self) -> None:
        """Imported places and neighbourhoods are named like the config's (which win for the
        same name in the same jurisdiction); imported streets are known streets."""
        configured = {(n.phrase, n.slug) for n in self.named.values()} | {
            (n.phrase, n.slug) for others in self.homonyms.values() for n in others}
        for kinds, kind in ((self.osm.places, "landmark"), (self.osm.areas, "neighbourhood")):
            for key, spots in kinds.items():
                for slug in dict.fromkeys(s.slug for s in spots):
                    j = self.jurisdictions.get(slug)
                    if j is None or (key, slug) in configured:
                        continue
                    spot = next(s for s in spots if s.slug == slug)
                    place = Place(None, j.counties[0] if j.counties else None, j.state,
                                  spot.lat, spot.lon)
                    self._name(Named(key, kind, spot.label, place, slug, osm=True))
        for spots in self.osm.streets.values():
            for spot in spots:
                if spot.slug in self.jurisdictions:
                    self.streets.setdefault(fold(spot.label), set()).add(spot.slug)
                    self.street_names.setdefault(street_base(spot.label), set()).add(spot.slug)

    def _name(self, named: Named) -> None:
        first = self.named.get(named.phrase)
        if first is None:
            self.named[named.phrase] = named
        elif first.slug != named.slug:
            self.homonyms.setdefault(named.phrase, [first]).append(named)
        else:
            self.named[named.phrase] = named  # the same jurisdiction: the later entry wins

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

    def jurisdiction_for_area(self, place: Place) -> str | None:
        """The jurisdiction an area code's place falls in, by county rules only.

        An area code spans many towns, so it never satisfies a city rule.
        """
        if place.county is None or place.state is None:
            return None
        return self._by_county.get((fold(place.county), place.state))

    def jurisdiction_of_streets(self, *names: str) -> str | None:
        """The one jurisdiction whose configured streets include all of these ("Grand and
        Ferry" is New Haven's), or None when none or several do."""
        slugs: set[str] | None = None
        for name in names:
            found = self.street_keys.get(street_key(name), set())
            slugs = set(found) if slugs is None else slugs & found
        return next(iter(slugs)) if slugs and len(slugs) == 1 else None

    def jurisdiction_for_number(self, e164: str | None) -> str | None:
        """The jurisdiction whose hotline number was called or texted (`To`), or None."""
        return self._by_number.get((e164 or "").strip()) if e164 else None

    def centre(self, slug: str) -> Place | None:
        """Where a jurisdiction is, to a city: its first city, else its first county, else its
        first ZIP code's city."""
        j = self.jurisdictions.get(slug)
        if j is None:
            return None
        for city in j.cities:
            place = self.places.city(city, j.state)
            if place is not None:
                return place
        for county in j.counties:
            place = self.places.county(county, j.state)
            if place is not None:
                return place
        for zip_code in j.zips:
            place = self.places.zip(zip_code)
            if place is not None:
                return Place(place.city, place.county, place.state, place.lat, place.lon)
        return None

    def area_code_place(self, e164: str | None) -> Place | None:
        """The principal city and county of a US number's area code (a weak hint), or None."""
        if not e164:
            return None
        try:
            number = phonenumbers.parse(e164, "US")
        except phonenumbers.NumberParseException:
            return None
        if number.country_code != 1:
            return None
        national = str(number.national_number)
        return self.places.area_code(national[:3]) if len(national) == 10 else None
