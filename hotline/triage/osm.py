"""Places imported from OpenStreetMap (`hotline geo import`): streets, their corners, addresses,
named places and neighbourhoods, each with its coordinates, indexed the way people write them.

Street names are matched by a key: lower case without accents, without the direction
("West", "W", "Norte"), the street type ("Street", "St", "Ave", "Blvd", "calle", "avenida") and
the ordinal's letters, and with ordinal words as numbers. So "West 47th Street", "W 47th St",
"47th", "la 47" and "Forty-Seventh Street" are all `47`, and "Wood Street" is `wood`.

Pure: the features come in as plain records (from the database, or straight from an import).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from hotline.triage.places import tokens

DIRECTION_WORDS = frozenset("""
    n s e w ne nw se sw north south east west northeast northwest southeast southwest
    norte sur este oeste
""".split())
TYPE_WORDS = frozenset("""
    st street str ave av avenue avenida blvd boulevard bulevar rd road dr drive ln lane way pl
    place ct court pkwy parkway hwy highway expy expressway ter terrace cir circle sq square
    calle camino carretera
""".split())
LEADING_WORDS = frozenset({"calle", "avenida", "av", "la", "el", "the", "camino", "bulevar"})
ORDINAL_WORDS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7,
    "eighth": 8, "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13,
    "fourteenth": 14, "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18,
    "nineteenth": 19, "twentieth": 20, "primera": 1, "segunda": 2, "tercera": 3, "cuarta": 4,
    "quinta": 5, "sexta": 6, "septima": 7, "octava": 8, "novena": 9, "decima": 10,
}
TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
        "eighty": 80, "ninety": 90}
_NUMBERED = re.compile(r"^(\d{1,3})(?:st|nd|rd|th|a|o|va|vo|ta|to|ra|ro|na|no|da|do)?$")
KINDS = ("street", "corner", "address", "place", "area")
CORNER_SAME_M = 60  # two shared nodes of one pair of streets this close are one corner
FETCHED_KEPT = 10_000  # corners and addresses kept after being read one key at a time


def _number_word(word: str) -> str | None:
    if word in ORDINAL_WORDS:
        return str(ORDINAL_WORDS[word])
    head, _, tail = word.partition("-")
    if head in TENS and tail in ORDINAL_WORDS and ORDINAL_WORDS[tail] < 10:
        return str(TENS[head] + ORDINAL_WORDS[tail])
    if head in TENS and not tail and word.endswith("ieth"):
        return None
    found = _NUMBERED.match(word)
    return str(int(found.group(1))) if found else None


def street_key(name: str) -> str:
    """The key a street is matched by (see the module's docstring); "" for no name."""
    words = [w for w in tokens(name) if w not in ("&", ".")]
    while len(words) > 1 and words[0] in LEADING_WORDS:
        words = words[1:]
    if len(words) > 1 and words[0] in DIRECTION_WORDS:
        words = words[1:]
    if len(words) > 1 and words[-1] in DIRECTION_WORDS:
        words = words[:-1]
    if len(words) > 1 and words[-1] in TYPE_WORDS:
        words = words[:-1]
    if len(words) > 1 and words[-1] in DIRECTION_WORDS:
        words = words[:-1]
    return " ".join(_number_word(w) or w for w in words)


def phrase(name: str) -> str:
    """How a place's name is looked up: its tokens (as the gazetteer's phrases)."""
    return " ".join(tokens(name))


class Spot(NamedTuple):
    """One imported point: where, what it is called, whose jurisdiction."""

    lat: float
    lon: float
    label: str
    slug: str
    data: dict[str, Any]


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance in metres between two (lat, lon), equirectangular (fine within a city)."""
    lat = math.radians((a[0] + b[0]) / 2)
    dx = math.radians(b[1] - a[1]) * math.cos(lat)
    dy = math.radians(b[0] - a[0])
    return 6_371_000 * math.hypot(dx, dy)


Row = tuple[str, str, str, float, float, dict[str, Any] | None, str]
_NO_DATA: dict[str, Any] = {}


class OsmIndex:
    """Imported features by what a message can name: a street key, a pair of street keys, a
    house number on a street, a place's name.

    Rows (kind, key, label, lat, lon, data, jurisdiction slug) are only sorted by kind when
    given; each kind's index is built the first time it is asked for. A county has hundreds of
    thousands of corners and addresses: with `fetch` (kind, key -> rows), those two kinds are
    read one key at a time when a message names one, and kept, so no process (nor a cold
    `hotline triage`) reads them all. `slugs` are the jurisdictions with anything imported."""

    def __init__(self, features: Iterable[Row] = (),
                 fetch: Callable[[str, str], Iterable[Row]] | None = None,
                 slugs: Iterable[str] = ()) -> None:
        self._rows: dict[str, list[Row]] = {kind: [] for kind in KINDS}
        self._built: dict[str, dict[Any, list[Spot]]] = {}
        self._fetch = fetch
        self._fetched: dict[tuple[str, str], list[Spot]] = {}
        self.slugs: set[str] = set(slugs)
        for row in features:
            if row[0] in self._rows:
                self._rows[row[0]].append(row)
                self.slugs.add(row[6])

    def _lookup(self, kind: str, key: str) -> list[Spot]:
        """The spots of one corner or address key: fetched (and kept) when a `fetch` reads
        them from storage, else from the rows given."""
        if self._fetch is None:
            return self._index(kind).get(_key(kind, key), [])
        found = self._fetched.get((kind, key))
        if found is None:
            if len(self._fetched) > FETCHED_KEPT:
                self._fetched.clear()
            found = self._fetched[(kind, key)] = [
                Spot(lat, lon, label, slug, data or _NO_DATA)
                for _, _, label, lat, lon, data, slug in self._fetch(kind, key)]
        return found

    def __bool__(self) -> bool:
        return bool(self.slugs)

    def _index(self, kind: str) -> dict[Any, list[Spot]]:
        built = self._built.get(kind)
        if built is None:
            built = self._built[kind] = {}
            for _, key, label, lat, lon, data, slug in self._rows[kind]:
                built.setdefault(_key(kind, key), []).append(
                    Spot(lat, lon, label, slug, data or _NO_DATA))
            self._rows[kind] = []
        return built

    @property
    def streets(self) -> dict[str, list[Spot]]:
        """Street key -> the streets of that key (their middle)."""
        return self._index("street")

    @property
    def corners(self) -> dict[frozenset[str], list[Spot]]:
        """The pair of street keys -> where they meet."""
        return self._index("corner")

    @property
    def addresses(self) -> dict[tuple[str, str], list[Spot]]:
        """(house number, street key) -> the address."""
        return self._index("address")

    @property
    def places(self) -> dict[str, list[Spot]]:
        """A place's name (as the gazetteer's phrases) -> the places of that name."""
        return self._index("place")

    @property
    def areas(self) -> dict[str, list[Spot]]:
        """A neighbourhood's name -> the neighbourhoods of that name."""
        return self._index("area")

    def corner(self, first: str, second: str, slug: str | None = None,
               near: tuple[float, float] | None = None) -> Spot | None:
        """Where two streets meet (in `slug` when given; the one nearest `near` when the pair
        meets more than once)."""
        pair = "|".join(sorted((street_key(first), street_key(second))))
        return _pick(self._lookup("corner", pair), slug, near)

    def street(self, name: str, slug: str | None = None,
               near: tuple[float, float] | None = None) -> Spot | None:
        """A street's middle (all its ways of one name)."""
        return _pick(self.streets.get(street_key(name), []), slug, near)

    def address(self, number: str, street: str, slug: str | None = None) -> Spot | None:
        """A house number on a street."""
        return _pick(self._lookup("address", f"{number.lower()} {street_key(street)}"), slug,
                     None)


def _key(kind: str, key: str) -> Any:  # noqa: ANN401 - each kind's own key
    if kind == "corner":
        first, _, second = key.partition("|")
        return frozenset((first, second))
    if kind == "address":
        number, _, street = key.partition(" ")
        return (number, street)
    return key


def _pick(spots: list[Spot], slug: str | None, near: tuple[float, float] | None) -> Spot | None:
    """The spot in `slug`, nearest `near`; None when nothing says which of several
    jurisdictions' spots is meant."""
    if slug is not None:
        spots = [s for s in spots if s.slug == slug]
    if not spots:
        return None
    if near is not None:
        return min(spots, key=lambda s: metres((s.lat, s.lon), near))
    return spots[0] if len({s.slug for s in spots}) == 1 else None
