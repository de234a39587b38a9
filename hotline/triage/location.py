"""Where is it happening? Places in a message, from the finest to the coarsest, in both languages.

A message is read as a list of tokens (`words.Words`), in four passes, each taking the words
it explains:

1. strong places: ZIP codes, "City, ST", configured nicknames, neighbourhoods and landmarks,
   "X County", and "LA" when it means Los Angeles (never the Spanish article "la");
2. streets: an address, an intersection ("18th and Ashland", "la 24 y Mission"), or one street;
3. city names from the offline data, in the words no pass above explained;
4. named places a verifier could find: businesses, named schools and parks, courthouses.

The jurisdiction comes from the strongest place named in the text. The reporter's area code only
breaks ties between places of the same name, and fills in when the text names no place at all;
it places someone in a county at best, so it never fills a city-only jurisdiction.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from hotline.triage.candidates import Candidate
from hotline.triage.context import (
    longer_cities,
    near_neighbourhoods,
    sender_s_own,
    where_it_is_now,
)
from hotline.triage.gazetteer import STREET_SUFFIXES, Gazetteer, Named
from hotline.triage.language import ENGLISH
from hotline.triage.places import STATES, Place
from hotline.triage.spots import place_at_spot
from hotline.triage.streets import find_street, name_word, street_use
from hotline.triage.words import (
    BRANDS,
    CITY_STOPWORDS,
    COMMON,
    COURTS,
    GENERIC_NAMES,
    KINDS_AFTER,
    KINDS_BEFORE,
    ORDINAL,
    PLACE_PREPOSITIONS,
    SHORT_NICKNAMES,
    STATE_NAMES,
    TOWN_PREFIXES,
    TOWN_SUFFIXES,
    TRANSIT_LINES,
    WORDLIKE_STATES,
    Words,
)

# precisions a verifier could go to
FINE = frozenset({"address", "intersection", "photo", "landmark", "street", "neighbourhood",
                  "zip"})

@dataclass
class Location:
    """The best place found in a message."""

    text: str | None = None
    street: str | None = None
    zip: str | None = None
    city: str | None = None
    county: str | None = None
    state: str | None = None
    lat: float | None = None
    lon: float | None = None
    source: str | None = None
    precision: str | None = None
    jurisdiction: str | None = None
    # the words of the message that name places and streets (SALUTE reads around them)
    phrases: tuple[str, ...] = field(default=(), repr=False)

    @property
    def is_specific(self) -> bool:
        """True when a verifier could go there: finer than a whole city."""
        return self.precision in FINE

    def public(self) -> dict[str, Any]:
        """The `location` object of the triage output."""
        data = asdict(self)
        for key in ("jurisdiction", "precision", "phrases"):
            data.pop(key)
        return data


# lower is stronger: an explicit state beats everything, then the finest places
_RANK = {"city_state": 0, "zip": 1, "landmark": 2, "neighbourhood": 3, "alias_city": 4,
         "county": 5, "city": 6, "alternate": 7}
_PRECISION = {"zip": "zip", "landmark": "landmark", "neighbourhood": "neighbourhood",
              "alternate": "neighbourhood"}


def find_location(text: str, gazetteer: Gazetteer, from_number: str | None = None,
                  language: str = "en", called: str | None = None) -> Location:
    """The best location in `text`, with its jurisdiction (None when outside all of them).

    `called` is the jurisdiction whose hotline number the message came in on: a clue weaker
    than any place the text names, stronger than the sender's area code. `language` is
    accepted for callers' convenience; the rules that tell the Spanish article "la" from Los
    Angeles read the neighbouring words instead.
    """
    msg = Words(text)
    called = called if called in gazetteer.jurisdictions else None
    hint = gazetteer.area_code_place(from_number)
    hint_state = gazetteer.jurisdictions[called].state if called else \
        (hint.state if hint else None)
    hint_slug = called or (gazetteer.jurisdiction_for_area(hint) if hint else None)
    candidates: list[Candidate] = []

    _zip_codes(msg, gazetteer, candidates)
    longer_cities(msg, gazetteer, hint_state, candidates, hint)
    _named_places(msg, gazetteer, hint_state, candidates)
    street, precision = find_street(msg, gazetteer)
    _city_names(msg, gazetteer, hint_state, candidates)
    _settle_homonyms(candidates, hint_slug)
    landmark = next((c for c in candidates if c.source == "landmark"), None)
    generic = None if landmark is not None else _generic_landmark(msg)

    loc = Location(phrases=tuple(msg.phrases))
    near = near_neighbourhoods(candidates, hint_state, gazetteer)
    far = [c for c in candidates if c not in near and c.source == "neighbourhood"]
    best = _choose(where_it_is_now(msg, near), hint_state)
    best = sender_s_own(best, street, precision, hint_slug, gazetteer)
    if best is not None:
        # the strongest place decides the jurisdiction; the finest one that agrees with it
        # ("Fair Haven" in "Fair Haven, New Haven CT") describes where
        finest = min((c for c in candidates if c.slug == best.slug
                      and c.place.state == best.place.state),
                     key=lambda c: (_PRECISION.get(c.source) is None, _RANK[c.source]))
        place = finest.place
        loc.city, loc.county, loc.state = place.city, place.county, place.state
        loc.lat, loc.lon = place.lat, place.lon
        loc.zip = place.zip if finest.source in _PRECISION else None
        loc.source, loc.jurisdiction, loc.text = finest.source, best.slug, finest.text
        loc.precision = _PRECISION.get(finest.source, "city")
    elif called is not None:
        # no place in the text: the hotline number called says which jurisdiction, no more
        loc.jurisdiction, loc.source, loc.precision = called, "hotline_number", "area_code"
        centre = gazetteer.centre(called)
        if centre is not None:
            loc.city, loc.county, loc.state = centre.city, centre.county, centre.state
            loc.lat, loc.lon = centre.lat, centre.lon
    elif hint is not None:
        # no place in the text: the area code is the only clue, and only to a county
        loc.jurisdiction = gazetteer.jurisdiction_for_area(hint)
        loc.source, loc.precision = "area_code", "area_code"
        if loc.jurisdiction is not None:
            loc.city, loc.county, loc.state = hint.city, hint.county, hint.state
            loc.lat, loc.lon = hint.lat, hint.lon

    if best is None and loc.jurisdiction is None and hint is not None and \
            precision == "intersection" and street and " & " in street:
        # a corner of two streets Hotline knows in one jurisdiction only, no place named, from
        # a sender whose area code says nothing (with no sender at all, it stays unknown)
        slug = gazetteer.jurisdiction_of_streets(*street.split(" & ", 1))
        centre = gazetteer.centre(slug) if slug else None
        if centre is not None:
            loc.jurisdiction, loc.source = slug, "streets"
            loc.city, loc.county, loc.state = centre.city, centre.county, centre.state
            loc.lat, loc.lon = centre.lat, centre.lon
    if far and not loc.is_specific:
        # a neighbourhood of that name where the sender is: a spot someone there can find,
        # though not one Hotline can put on its map
        loc.precision = "neighbourhood"
        loc.text = far[0].text if loc.text is None else f"{far[0].text}, {loc.text}"
    if street is not None:
        loc.street, loc.precision = street, precision
        loc.text = street if loc.text is None else f"{street}, {loc.text}"
    named_spot = landmark.text if landmark is not None else generic
    if named_spot is not None and loc.precision not in ("address", "intersection"):
        loc.precision = "landmark"
        if landmark is None:
            loc.text = named_spot if loc.text is None else f"{named_spot}, {loc.text}"
    place_at_spot(loc, gazetteer, hint, landmark.imported if landmark is not None else None)
    return loc


# -- pass 1: strong places -------------------------------------------------------------------

def _zip_codes(msg: Words, gazetteer: Gazetteer, candidates: list[Candidate]) -> None:
    for i, word in enumerate(msg.words):
        if not re.fullmatch(r"\d{5}(?:-\d{4})?", word):
            continue
        # "2400 Mission St": a house number, not a ZIP
        if any(w in STREET_SUFFIXES for w in msg.words[i + 2:i + 5]) and \
                msg.word(i + 1).isalpha():
            continue
        place = gazetteer.places.zip(word[:5])
        if place is not None:
            msg.take(i, i + 1)
            candidates.append(Candidate(place, "zip", word[:5], gazetteer.jurisdiction_for(place),
                                         i))


def _state_after(msg: Words, i: int) -> tuple[str, int] | None:
    """A state written at token `i` ("CA", "california", "new york"), with its length."""
    if i < len(msg) and msg.word(i) == ",":
        i += 1
        comma = True
    else:
        comma = False
    for n in (3, 2, 1):
        name = " ".join(msg.words[i:i + n])
        if len(msg.words[i:i + n]) == n and name in STATE_NAMES:
            return STATE_NAMES[name], n + comma
    word = msg.word(i)
    if len(word) == 2 and word.upper() in STATES:
        wordlike = word in WORDLIKE_STATES and not comma and i + 1 < len(msg) and \
            not msg.in_capitals(i)
        if not wordlike:
            return word.upper(), 1 + comma
    return None


def _named_places(msg: Words, gazetteer: Gazetteer, hint_state: str | None,
                  candidates: list[Candidate]) -> None:
    places = gazetteer.places
    longest = max(gazetteer.max_phrase_words, 4)
    for n in range(longest, 0, -1):
        for i in range(len(msg) - n + 1):
            if not msg.free(i, i + n):
                continue
            gram = " ".join(msg.words[i:i + n])
            if not re.search(r"[a-z]", gram):
                continue
            named = gazetteer.named.get(gram)
            as_street = street_use(msg, i, n)
            # "Santa Ana, CA", "Aurora CO", "Corona CA" (not the Corona of Queens)
            state = _state_after(msg, i + n)
            if state is not None and not as_street:
                code = state[0]
                if code == "LA" and _in_los_angeles(gram, gazetteer):
                    code = "CA"  # "Highland Park LA" is in Los Angeles, not Louisiana
                place = places.city(gram, code) or places.alternate(gram, code)
                if place is not None:
                    msg.take(i, i + n + state[1])
                    candidates.append(Candidate(place, "city_state", f"{place.city}, {code}",
                                                 gazetteer.jurisdiction_for(place), i))
                    continue
            if named is not None and state is not None and not as_street and \
                    named.place.state and state[0] != named.place.state:
                continue  # "Capitol Hill DC": that state's, not the configured one
            if named is not None and (named.kind == "landmark" or not as_street):
                if gram in SHORT_NICKNAMES and not _nickname_ok(msg, i):
                    continue
                msg.take(i, i + n, record=named.kind != "landmark")
                candidate = _named_candidate(named, gram, i)
                others = gazetteer.homonyms.get(gram, ())
                if others:
                    candidate = replace(candidate, others=tuple(o for o in others
                                                                if o is not named))
                candidates.append(candidate)
                continue
            if msg.word(i + n) == "county" and not as_street and msg.free(i + n, i + n + 1):
                place = _county(gram, gazetteer, hint_state)
                if place is not None:
                    msg.take(i, i + n + 1)
                    candidates.append(Candidate(place, "county", f"{place.county} County",
                                                 gazetteer.jurisdiction_for(place), i))
    _los_angeles(msg, gazetteer, candidates)


def _settle_homonyms(candidates: list[Candidate], hint_slug: str | None) -> None:
    """A name several jurisdictions have ("Chinatown") is the one of the jurisdiction the rest
    of the message names ("Chinatown, Seattle"), else of the sender's area code."""
    for index, candidate in enumerate(candidates):
        if not candidate.others:
            continue
        named_slugs = {c.slug for c in candidates if not c.others and c.slug}
        options = {o.slug: o for o in candidate.others}
        wanted = next((s for s in named_slugs if s in options), None)
        if wanted is None and candidate.slug not in named_slugs and hint_slug in options:
            wanted = hint_slug
        if wanted is not None and wanted != candidate.slug:
            other = options[wanted]
            candidates[index] = replace(_named_candidate(other, candidate.text,
                                                         candidate.position), others=())


def _in_los_angeles(name: str, gazetteer: Gazetteer) -> bool:
    place = gazetteer.places.city(name, "CA") or gazetteer.places.alternate(name, "CA")
    return place is not None and place.county == "Los Angeles"


def _named_candidate(named: Named, gram: str, position: int) -> Candidate:
    source = {"landmark": "landmark", "neighbourhood": "neighbourhood"}.get(named.kind,
                                                                           "alias_city")
    label = named.label if named.kind == "landmark" else gram
    return Candidate(named.place, source, label, named.slug, position,
                      imported=named.phrase if named.osm else None)


def _nickname_ok(msg: Words, i: int) -> bool:
    """Short nicknames ("SEA", "den") count when written as a name, not as a word."""
    if msg.in_capitals(i) and len(msg.words[i]) > 1:
        return True
    return msg.word(i - 1) in ("in", "at", "near", "from", "around") or \
        (msg.word(i) != "la" and msg.word(i - 1) in ("en", "de"))


def _county(name: str, gazetteer: Gazetteer, hint_state: str | None) -> Place | None:
    states = gazetteer.places.county_states(name)
    if not states:
        return None
    served = [s for s in states if s in gazetteer.states]
    state = hint_state if hint_state in states else (served or states)[0]
    return gazetteer.places.county(name, state)


def _los_angeles(msg: Words, gazetteer: Gazetteer, candidates: list[Candidate]) -> None:
    """"LA" / "L.A." / "in la" in English is Los Angeles; "la" in Spanish is an article."""
    for i, word in enumerate(msg.words):
        if word not in ("la", "l.a") or msg.used[i]:
            continue
        raw = msg.raw[i]
        capitals = raw in ("LA", "L.A", "L.A.") and not msg.all_caps
        after = msg.word(i + 1)
        before = msg.word(i - 1)
        # an article: "la migra", "en la 24", "la Garvey", "LA MIGRA EN LA VILLITA"
        article = after.isalnum() and not (after in ENGLISH or after in ("county", "area"))
        english_place = before in ("in", "at", "near", "around", "from", "across", "downtown",
                                   "to", "all") and (not after or after in ENGLISH or
                                                     after in ",;:!?")
        if word == "l.a" or (capitals and (not article or before in ("en", "de"))) or \
                english_place:
            place = gazetteer.places.city("Los Angeles", "CA")
            if place is not None:
                msg.take(i, i + 1)
                candidates.append(Candidate(place, "alias_city", "LA",
                                             gazetteer.jurisdiction_for(place), i))


# -- pass 3: city names from the data --------------------------------------------------------

def _city_names(msg: Words, gazetteer: Gazetteer, hint_state: str | None,
                candidates: list[Candidate]) -> None:
    places = gazetteer.places
    for n in (3, 2, 1):
        for i in range(len(msg) - n + 1):
            if not msg.free(i, i + n) or street_use(msg, i, n):
                continue
            words = msg.words[i:i + n]
            gram = " ".join(words)
            if not _could_be_town(words, gram):
                continue
            states = places.cities_named(gram)
            state = _pick_state(gram, states, hint_state, gazetteer) if states else None
            place = places.city(gram, state) if state else None
            if place is not None:
                msg.take(i, i + n)
                candidates.append(Candidate(place, "city", place.city or gram,
                                             gazetteer.jurisdiction_for(place), i))
                continue
            alt_states = places.alternate_states(gram) if (gram,) not in BRANDS else []
            if alt_states and (n > 1 or hint_state in alt_states):
                state = hint_state if hint_state in alt_states else (
                    alt_states[0] if len(alt_states) == 1 else None)
                place = places.alternate(gram, state) if state else None
                if place is not None:
                    msg.take(i, i + n)
                    candidates.append(Candidate(place, "alternate", gram,
                                                 gazetteer.jurisdiction_for(place), i))


def _could_be_town(words: list[str], gram: str) -> bool:
    if len(gram) < 4 or not gram.replace(" ", "").isalpha() or gram in CITY_STOPWORDS:
        return False
    # "the", "agents", "ahora" are never a town, but "San Jose", "Los Gatos", "El Monte" are
    return not (words[0] in COMMON and (len(words) == 1 or words[0] not in TOWN_PREFIXES)) \
        and (words[-1] not in COMMON or (len(words) > 1 and words[-1] in TOWN_SUFFIXES))


def _pick_state(name: str, states: list[str], hint_state: str | None,
                gazetteer: Gazetteer) -> str | None:
    if hint_state in states:
        return hint_state
    served = [s for s in states if s in gazetteer.states]
    pool = served or states
    best = max(pool, key=lambda s: gazetteer.places.city_population(name, s))
    # a small town named like a word is not worth a guess
    return best if gazetteer.places.city_population(name, best) >= 50_000 else None


# -- pass 4: named places a verifier could find ----------------------------------------------

def _generic_landmark(msg: Words) -> str | None:
    words = msg.words
    for brand in BRANDS:
        n = len(brand)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == brand:
                return " ".join(msg.raw[i:i + n])
    for i, word in enumerate(words):
        if word in ("target", "ralphs", "vons") and msg.word(i - 1) in ("the", "at", "el", "del"):
            return msg.raw[i]
        if word == "ps" and re.fullmatch(r"\d{1,3}", msg.word(i + 1)):
            return f"PS {msg.word(i + 1)}"
        if word == "line" and msg.word(i - 1) in TRANSIT_LINES:
            return " ".join(msg.raw[max(i - 3, 0):i + 1])
        if word in KINDS_AFTER and not msg.used[i]:
            name: list[int] = []
            for j in range(i - 1, max(i - 4, -1), -1):
                if words[j] in PLACE_PREPOSITIONS or words[j] in ",;:!?&" or (
                        words[j] in COMMON and words[j] not in GENERIC_NAMES
                        and words[j] not in STREET_SUFFIXES):
                    break
                name.insert(0, j)
            if any((name_word(words[j]) and words[j] not in GENERIC_NAMES)
                   or ORDINAL.fullmatch(words[j]) for j in name):
                return " ".join(msg.raw[name[0]:i + 1])
        if word in KINDS_BEFORE:
            j = i + 1
            while msg.word(j) in ("de", "del", "la", "el", "los", "san", "santa"):
                j += 1
            if name_word(msg.word(j)) and msg.word(j) not in GENERIC_NAMES:
                return " ".join(msg.raw[i:j + 1])
    for court in COURTS:
        n = len(court)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == court:
                return " ".join(msg.raw[i:i + n])
    return None


def _choose(candidates: list[Candidate], hint_state: str | None) -> Candidate | None:
    """The strongest place; the area code's state only orders equals."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (_RANK[c.source], c.place.state != hint_state,
                                          c.slug is None, c.position))
