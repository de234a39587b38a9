"""Triage: turn what someone texted or said into language, location, jurisdiction and SALUTE.

Pure functions over a `Gazetteer`: no database, no network. `triage_text` is what the
`hotline triage` command prints and what the triage job stores on a report.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hotline.core.languages import Languages
from hotline.triage.gazetteer import Gazetteer, JurisdictionRules
from hotline.triage.gloss import gloss
from hotline.triage.language import default_languages, detect
from hotline.triage.location import Location, find_location
from hotline.triage.osm import OsmIndex
from hotline.triage.salute import extract_salute

__all__ = ["Gazetteer", "JurisdictionRules", "Triage", "gazetteer_from_config", "triage_text",
           "with_photo"]


@dataclass
class Triage:
    """The result of triaging one message."""

    language: str
    language_confidence: float
    location: Location
    salute: dict[str, Any]
    confidence: float
    # the language replies use: the code, or the code and its script ("zh-Hant")
    language_tag: str = ""
    # clear enough to switch a reporter to it, usable enough for one with no language yet
    # (see Detection.clear and .usable)
    language_clear: bool = False
    language_usable: bool = False

    @property
    def jurisdiction(self) -> str | None:
        """Slug of the jurisdiction, or None (fallback queue)."""
        return self.location.jurisdiction

    @property
    def needs_location(self) -> bool:
        """True when nothing places the report finer than a whole city."""
        return not self.location.is_specific

    def public(self) -> dict[str, Any]:
        """The JSON shape of DESIGN.md's `hotline triage`."""
        return {
            "language": self.language,
            "language_confidence": self.language_confidence,
            "jurisdiction": self.jurisdiction,
            "needs_location": self.needs_location,
            "location": self.location.public(),
            "salute": self.salute,
            "confidence": self.confidence,
        }


_PRECISION_WEIGHT = {"address": 1.0, "intersection": 0.95, "photo": 0.85, "landmark": 0.85,
                     "street": 0.75,
                     "neighbourhood": 0.7, "zip": 0.7, "city": 0.4, "area_code": 0.15, None: 0.0}


def triage_text(text: str, gazetteer: Gazetteer, from_number: str | None = None,
                language_hint: str | None = None, now: datetime | None = None,
                languages: Languages | None = None, called: str | None = None) -> Triage:
    """Triage one message (`language_hint`: the reporter's remembered language, as a tag;
    `called`: the jurisdiction of the hotline number it was sent to)."""
    languages = languages or default_languages()
    found = detect(text, language_hint, languages)
    language, language_confidence = found.code, found.confidence
    # place names in other scripts, and the language's raid words, as the passes read them
    read = gloss(text, gazetteer.exonyms, languages.by_code.get(language))
    location = find_location(read, gazetteer, from_number, language, called)
    salute = extract_salute(read, location.text, now or datetime.now(UTC),
                            gazetteer.timezone(location.jurisdiction), location.phrases)
    filled = sum(1 for key in ("size", "activity", "uniform", "time", "equipment")
                 if salute[key])
    confidence = (0.55 * _PRECISION_WEIGHT.get(location.precision, 0.0)
                  + 0.15 * (1.0 if location.jurisdiction else 0.0)
                  + 0.2 * min(filled, 3) / 3
                  + 0.1 * language_confidence)
    return Triage(language, language_confidence, location, salute, round(confidence, 2),
                  found.tag, found.clear, found.usable)


# the sources of a location that say nothing of where it happens, only of where the line or
# the sender's number belongs
_NO_PLACE_NAMED = frozenset({None, "area_code", "hotline_number", "streets"})
# a photo's point, as the report keeps it in clear: to about 100 m (where it is happening,
# not the doorstep the photo was taken from; the exact point stays sealed with the photo)
PHOTO_DECIMALS = 3


def with_photo(result: Triage, lat: float, lon: float, gazetteer: Gazetteer) -> Triage:
    """The triage of a message read with the GPS position of its photo: stronger than the
    area code or the line texted, weaker than a place the text names. The photo places the
    report (source `photo`, at its point) when the text names no spot, and the point lies in
    a jurisdiction that agrees with any town the text does name; otherwise nothing changes."""
    loc = result.location
    if loc.is_specific:
        return result  # the text names a spot: it wins
    place = gazetteer.places.nearest_zip(lat, lon)
    slug = gazetteer.jurisdiction_for(place) if place is not None else None
    if place is None or slug is None:
        return result  # taken outside every jurisdiction (or far from any town)
    if loc.source not in _NO_PLACE_NAMED and loc.jurisdiction and loc.jurisdiction != slug:
        return result  # the text names a town elsewhere: the photo may be an old one
    near = f"photo location near {place.city}, {place.state} {place.zip}"
    located = replace(loc, text=loc.text if loc.source not in _NO_PLACE_NAMED and loc.text
                      else near, zip=place.zip, city=place.city, county=place.county,
                      state=place.state, lat=round(lat, PHOTO_DECIMALS),
                      lon=round(lon, PHOTO_DECIMALS), source="photo", precision="photo",
                      jurisdiction=slug)
    confidence = result.confidence + 0.55 * (_PRECISION_WEIGHT["photo"] - _PRECISION_WEIGHT.get(
        loc.precision, 0.0)) + (0.15 if not loc.jurisdiction else 0.0)
    return replace(result, location=located, confidence=round(min(confidence, 1.0), 2))


def gazetteer_from_config(config_dir: Path, osm: OsmIndex | None = None) -> Gazetteer:
    """A gazetteer straight from `jurisdictions.yaml` (for the CLI: no database needed), with
    the imported OpenStreetMap places when given."""
    from hotline.core.config_files import parse_jurisdictions

    records = parse_jurisdictions(config_dir / "jurisdictions.yaml")
    return Gazetteer((JurisdictionRules.from_record(r["slug"], r["name"], r["state"],
                                                    r["timezone"], r["rules"]) for r in records),
                     osm=osm)
