"""Where is it happening? Places in a message, from the finest to the coarsest, in both languages.

Precision, finest first: address, intersection, landmark, street, neighbourhood, zip, city, state.
The jurisdiction comes from the most specific place that has one; the reporter's area code only
breaks ties between candidates and fills in when the text names no place at all.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from hotline.triage.gazetteer import Gazetteer
from hotline.triage.places import STATES, Place, fold

FINE = ("address", "intersection", "landmark", "street", "neighbourhood", "zip")

STREET_SUFFIX = (r"st|street|str|ave|av|avenue|blvd|boulevard|rd|road|dr|drive|ln|lane|way|pl|"
                 r"place|ct|court|pkwy|parkway|hwy|highway|expy|expressway|ter|terrace|cir|sq|"
                 r"plaza")
ORDINAL = r"\d{1,3}(?:st|nd|rd|th|va|vo|a|o)?"
WORD = r"[a-z][a-z'.]*"
# a street name: an ordinal ("18th", "la 24"), or words ending in a street suffix, or a known name
STREET_NAME = rf"(?:(?:[nsew]\.?\s+)?{ORDINAL}(?:\s+(?:{STREET_SUFFIX})\b)?|(?:{WORD}\s+){{0,2}}(?:{STREET_SUFFIX})\b)"
ADDRESS = re.compile(
    rf"\b(\d{{1,6}}\s+(?:[nsew]\.?\s+)?(?:{ORDINAL}|{WORD})(?:\s+{WORD}){{0,2}}?\s+"
    rf"(?:{STREET_SUFFIX}))\b"
)
CONNECTOR = r"(?:and|&|y|e|with|con|at|@|/|n|an)"
INTERSECTION = re.compile(
    rf"(?:^|[^a-z0-9])((?:calle\s+|la\s+|el\s+)?({ORDINAL}|{WORD}(?:\s+{WORD})?)\s+{CONNECTOR}\s+"
    rf"(?:la\s+|el\s+|calle\s+)?({ORDINAL}|{WORD}(?:\s+{WORD})?))(?=$|[^a-z0-9])"
)
STREET_ONLY = re.compile(
    rf"\b(?:on|en|in|at|along|por|sobre|la|calle)\s+((?:{WORD}\s+){{0,2}}(?:{STREET_SUFFIX})"
    rf"|{ORDINAL}\s+(?:{STREET_SUFFIX}))\b"
)
CALLE = re.compile(rf"\b(calle|avenida|av\.?)\s+({ORDINAL}|{WORD}(?:\s+{WORD})?)")
ZIP = re.compile(r"(?<![\d#-])(\d{5})(?:-\d{4})?(?![\d])")
STATE_ABBR = "|".join(STATES)
CITY_STATE = re.compile(
    rf"([a-z][a-z .'-]{{1,40}}?)\s*,?\s+({STATE_ABBR.lower()}|"
    rf"{'|'.join(sorted(STATES.values(), key=len, reverse=True))})\.?(?=$|[^a-z])"
)
BRANDS = re.compile(
    r"\b(home depot|homedepot|lowe'?s|walmart|wal-mart|target|costco|7-?eleven|swap meet|"
    r"la pulga|flea market|car ?wash|laundromat|lavanderia|food 4 less|el super|vallarta|"
    r"northgate|cardenas|fiesta mart|h-?e-?b|mcdonald'?s|dunkin|bodega|la michoacana)\b"
)
PLACE_KIND = re.compile(
    r"\b((?:(?!(?:at|a|the|in|on|en|la|el|de|near|by|to|from|and|y)\s)[a-z]+\s+){1,3}"
    r"(?:elementary|middle school|high school|school|park|station|church|"
    r"market|mall|hospital|clinic|library|courthouse|apartments|plaza|church))\b|"
    r"\b((?:escuela|iglesia|parque|mercado|tienda|clinica|hospital|estacion|apartamentos|"
    r"corte|la corte de|plaza)\s+(?:de\s+|del\s+|la\s+|el\s+)?[a-z]+(?:\s+[a-z]+)?)\b|"
    r"\b(courthouse|immigration court|federal building|federal plaza|la corte|metro station|"
    r"bus stop|subway station|train station|la parada)\b"
)
# words that look like streets or places in the patterns above but are not
NOT_STREET = frozenset(fold(w) for w in """
    agents agent ice cops police policia migra cars car vans van trucks suv suvs people men
    women guys kids ninos children family familia they them we us he she it there here now
    ahora aqui alli ahi then and y e or o the la el los las un una a an my mi su his her
    arrest arresting raid raiding asking knocking running taking looking waiting parked
    morning tarde noche night today hoy minutes minutos hours horas am pm one two three
    four five six seven eight nine ten dos tres cuatro cinco seis siete ocho nueve diez
    agentes hombres mujeres personas gente carros camionetas patrullas vests chalecos help
    ayuda please por favor is are was were esta estan hay son with con at en in on of de del
    this that watch careful cuidado be stay safe just right more many several some
""".split())
CITY_STOPWORDS = frozenset(fold(w) for w in """
    mission commerce industry bell orange union media ice police home depot target most
    many more much so la el los las hope joy deal eagle eagle pass bay lake river park
    center centre city town village county hills beach port north south east west
    fair haven riverside cornelius roosevelt nice davis may june march paris london florence
    national franklin washington lincoln jefferson madison clinton jackson marion salem
    troy dover auburn burlington vernon manchester aurora columbia springfield greenville
    kent vista pinole hollywood wheeling round rock sugar land live oak buda kyle mesa
    como luna plata rosa mora vida sun valley palm many ice agents now today
""".split())
LA_CONTEXT = re.compile(r"(?:^|\b(?:in|at|near|from|around|east|downtown|across|all over)\s+)"
                        r"(?:la|l\.a\.?)(?=$|[^a-z])")


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

    @property
    def is_specific(self) -> bool:
        """True when a verifier could go there: finer than a whole city."""
        return self.precision in FINE

    def public(self) -> dict[str, Any]:
        """The `location` object of the triage output."""
        data = asdict(self)
        data.pop("jurisdiction")
        data.pop("precision")
        return data


@dataclass
class _Candidate:
    place: Place
    source: str  # zip | landmark | neighbourhood | city_state | alias_city | city | alternate
    text: str
    slug: str | None
    rank: int  # lower is stronger for jurisdiction


_RANK = {"zip": 0, "landmark": 1, "neighbourhood": 2, "city_state": 3, "alias_city": 4,
         "city": 5, "alternate": 6}


def _ngrams(words: list[str], max_n: int) -> list[tuple[int, int, str]]:
    grams = []
    for n in range(max_n, 0, -1):
        for i in range(len(words) - n + 1):
            grams.append((i, i + n, " ".join(words[i:i + n])))
    return grams


def _looks_like_street(name: str, gazetteer: Gazetteer) -> bool:
    name = name.strip()
    if not name or name in NOT_STREET:
        return False
    words = name.split()
    if any(w in NOT_STREET for w in words[:1]) and len(words) == 1:
        return False
    if re.fullmatch(ORDINAL, name) or re.fullmatch(rf"{ORDINAL}\s+(?:{STREET_SUFFIX})", name):
        number = int(re.match(r"\d+", name).group())
        return 1 <= number <= 250
    if re.search(rf"\b(?:{STREET_SUFFIX})$", name):
        return not all(w in NOT_STREET for w in words[:-1]) or len(words) == 1 and False
    return name in gazetteer.streets or any(name == s.split()[0] for s in gazetteer.streets) \
        or name in _street_first_words(gazetteer)


def _street_first_words(gazetteer: Gazetteer) -> set[str]:
    cached = getattr(gazetteer, "_street_first_words", None)
    if cached is None:
        cached = {s.split()[0] for s in gazetteer.streets if not s.split()[0].isdigit()}
        gazetteer._street_first_words = cached  # type: ignore[attr-defined]
    return cached


def _street_slugs(names: list[str], gazetteer: Gazetteer) -> set[str]:
    slugs: set[str] = set()
    for name in names:
        for street, owners in gazetteer.streets.items():
            if name == street or name == street.split()[0] or street == name.split()[0]:
                slugs |= owners
    return slugs


def find_location(text: str, gazetteer: Gazetteer, from_number: str | None = None,
                  language: str = "en") -> Location:
    """The best location in `text`, with its jurisdiction (None when outside all of them)."""
    folded = fold(text)
    # keep digits, letters and the punctuation that separates streets
    clean = re.sub(r"[^a-z0-9&@/,.'\-#\s]", " ", folded)
    clean = re.sub(r"\s+", " ", clean).strip()
    words = re.findall(r"[a-z0-9][a-z0-9'.\-]*", clean.replace(",", " "))
    words = [w.strip(".'-") for w in words]
    hint = gazetteer.area_code_place(from_number)
    hint_state = hint.state if hint else None
    candidates: list[_Candidate] = []
    places = gazetteer.places

    # ZIP codes, not house numbers
    for match in ZIP.finditer(clean):
        after = clean[match.end():match.end() + 20]
        if re.match(rf"\s+(?:[nsew]\.?\s+)?(?:{ORDINAL}|{WORD})(?:\s+{WORD})?\s+"
                    rf"(?:{STREET_SUFFIX})\b", after):
            continue
        place = places.zip(match.group(1))
        if place is not None:
            candidates.append(_Candidate(place, "zip", match.group(1),
                                         gazetteer.jurisdiction_for(place), 0))

    # config phrases: landmarks, neighbourhoods, nicknames
    used_spans: list[tuple[int, int]] = []
    for start, end, gram in _ngrams(words, gazetteer.max_phrase_words):
        named = gazetteer.named.get(gram)
        if named is None or any(s < end and start < e for s, e in used_spans):
            continue
        if gram in ("la", "sea", "den", "chi", "nh", "sj", "bk") and not _nickname_ok(
                gram, text, clean, language):
            continue
        used_spans.append((start, end))
        source = {"landmark": "landmark", "neighbourhood": "neighbourhood"}.get(named.kind,
                                                                               "alias_city")
        label = named.label if named.kind == "landmark" else gram
        candidates.append(_Candidate(named.place, source, label, named.slug, _RANK[source]))

    # Los Angeles written "LA" / "L.A." (never the Spanish article)
    if _says_los_angeles(text, clean, language):
        place = places.city("Los Angeles", "CA")
        if place is not None:
            candidates.append(_Candidate(place, "alias_city", "LA",
                                         gazetteer.jurisdiction_for(place), _RANK["alias_city"]))

    # "City, ST" and "City state"
    for match in CITY_STATE.finditer(clean):
        state_raw = match.group(2)
        state = state_raw.upper() if len(state_raw) == 2 else next(
            (k for k, v in STATES.items() if v == state_raw), None)
        if state is None or (len(state_raw) == 2 and state_raw in ("in", "me", "or", "oh", "hi",
                                                                    "ok", "la", "de", "pa", "co",
                                                                    "al", "ma", "ga", "id", "mi",
                                                                    "mo", "ne", "wa")
                             and "," not in match.group(0) and not text.count(state_raw.upper())):
            continue
        head = match.group(1).strip().split()
        for n in (3, 2, 1):
            if len(head) < n:
                continue
            name = " ".join(head[-n:])
            place = places.city(name, state)
            if place is None:
                alt = places.alternate(name, state)
                place = alt
            if place is not None:
                candidates.append(_Candidate(place, "city_state", f"{name}, {state}",
                                             gazetteer.jurisdiction_for(place), 3))
                break

    # city names alone and alternate (neighbourhood) names from the ZIP data
    street, precision = _street_detail(clean, gazetteer)
    street_words = set(re.findall(r"[a-z]+", street or ""))
    taken = {c.text for c in candidates}
    for _start, _end, gram in _ngrams(words, 3):
        if gram in taken or set(gram.split()) <= street_words or gram in CITY_STOPWORDS or len(gram) < 4 or gram.isdigit():
            continue
        states = places.cities_named(gram)
        if states:
            state = _pick_state(gram, states, hint_state, gazetteer)
            if state is None:
                continue
            place = places.city(gram, state)
            if place is not None:
                candidates.append(_Candidate(place, "city", place.city or gram,
                                             gazetteer.jurisdiction_for(place), 5))
                taken.add(gram)
            continue
        alt_states = places.alternate_states(gram)
        if alt_states and (len(gram.split()) > 1 or len(gram) >= 6):
            state = hint_state if hint_state in alt_states else (
                alt_states[0] if len(alt_states) == 1 else None)
            if state is not None:
                place = places.alternate(gram, state)
                if place is not None:
                    candidates.append(_Candidate(place, "alternate", gram,
                                                 gazetteer.jurisdiction_for(place), 6))
                    taken.add(gram)

    landmark = next((c for c in candidates if c.source == "landmark"), None)
    generic_landmark = None
    if landmark is None:
        found = BRANDS.search(clean) or PLACE_KIND.search(clean)
        if found:
            generic_landmark = next(g for g in found.groups() if g) if found.groups() else \
                found.group(0)

    best = _choose(candidates, hint_state, street, gazetteer)
    loc = Location()
    if best is not None:
        p = best.place
        loc.city, loc.county, loc.state, loc.lat, loc.lon = p.city, p.county, p.state, p.lat, \
            p.lon
        loc.zip = p.zip if best.source in ("zip", "landmark", "neighbourhood", "alternate") \
            else None
        loc.source = best.source
        loc.jurisdiction = best.slug
        loc.precision = {"zip": "zip", "landmark": "landmark", "neighbourhood": "neighbourhood",
                         "alternate": "neighbourhood"}.get(best.source, "city")
        loc.text = best.text
    elif street is not None or generic_landmark is not None:
        # a street or place but no town: the configured street names, then the area code
        slugs = _street_slugs([s.strip() for s in re.split(r" & ", street or "")], gazetteer) \
            if street else set()
        slug = None
        if len(slugs) == 1:
            slug = next(iter(slugs))
        elif hint is not None:
            hinted = gazetteer.jurisdiction_for(hint) if hint.city else None
            if hinted and (not slugs or hinted in slugs):
                slug = hinted
        if slug is not None:
            j = gazetteer.jurisdictions[slug]
            loc.state = j.state
            loc.source = "street_name" if len(slugs) == 1 else "area_code"
            loc.jurisdiction = slug
            if hint is not None and hint.city and gazetteer.jurisdiction_for(hint) == slug:
                loc.city, loc.county, loc.lat, loc.lon = hint.city, hint.county, hint.lat, \
                    hint.lon
    elif hint is not None and hint.city:
        loc.city, loc.county, loc.state, loc.lat, loc.lon = hint.city, hint.county, \
            hint.state, hint.lat, hint.lon
        loc.source = "area_code"
        loc.precision = "area_code"
        loc.jurisdiction = gazetteer.jurisdiction_for(hint)

    if street is not None:
        loc.street = street
        loc.precision = precision
        loc.text = street if loc.text is None else f"{street}, {loc.text}"
    if landmark is not None:
        loc.precision = loc.precision if loc.precision in ("address", "intersection") \
            else "landmark"
    elif generic_landmark is not None and loc.precision not in ("address", "intersection"):
        loc.precision = "landmark"
        loc.text = generic_landmark if loc.text is None else f"{generic_landmark}, {loc.text}"
    return loc


def _nickname_ok(gram: str, text: str, clean: str, language: str) -> bool:
    """Short nicknames ("sea", "den") count only when written as a name, not as a word."""
    return bool(re.search(rf"(?<![A-Za-z]){gram.upper()}(?![A-Za-z])", text)) or \
        bool(re.search(rf"\b(?:in|at|near|en|from|de)\s+{gram}$", clean))


def _says_los_angeles(text: str, clean: str, language: str) -> bool:
    if re.search(r"(?<![A-Za-z])(?:LA|L\.A\.?)(?![A-Za-z])", text):
        following = re.search(r"(?<![A-Za-z])LA\s+([a-záéíóúñ]+)", text)
        return not (following and following.group(1).lower() in
                    {"migra", "policia", "esquina", "calle", "tienda", "escuela", "casa",
                     "iglesia", "parada", "corte", "24", "18"})
    return language == "en" and bool(LA_CONTEXT.search(clean))


def _pick_state(name: str, states: list[str], hint_state: str | None,
                gazetteer: Gazetteer) -> str | None:
    if hint_state in states:
        return hint_state
    served = [s for s in states if any(j.state == s for j in gazetteer.jurisdictions.values())]
    pool = served or states
    best = max(pool, key=lambda s: gazetteer.places.city_population(name, s))
    # a small town named like a word is not worth a guess
    return best if gazetteer.places.city_population(name, best) >= 50_000 else None


def _street_detail(clean: str, gazetteer: Gazetteer) -> tuple[str | None, str | None]:
    address = ADDRESS.search(clean)
    if address:
        return address.group(1), "address"
    for match in INTERSECTION.finditer(clean):
        a, b = match.group(2).strip(), match.group(3).strip()
        a = re.sub(r"^(?:on|at|en|in|of|de|near|the|la|el|calle)\s+", "", a)
        b = re.sub(r"^(?:the|la|el|calle)\s+", "", b)
        if _looks_like_street(a, gazetteer) and _looks_like_street(b, gazetteer):
            return f"{a} & {b}", "intersection"
        # "Western and 47th": one side a street-looking ordinal, the other a known/suffixed name
        if (_looks_like_street(a, gazetteer) or _looks_like_street(b, gazetteer)) and \
                (re.fullmatch(ORDINAL, a) or re.fullmatch(ORDINAL, b)) and \
                a not in NOT_STREET and b not in NOT_STREET and \
                a.split()[-1] not in NOT_STREET and b.split()[-1] not in NOT_STREET:
            return f"{a} & {b}", "intersection"
    for match in re.finditer(r"\b(?:on|en|at|along|por|sobre|calle)\s+([a-z]+(?:\s[a-z]+)?)",
                             clean):
        name = match.group(1)
        if name in gazetteer.streets or name.split()[0] in _street_first_words(gazetteer):
            return name if name in gazetteer.streets else name.split()[0], "street"
    street = STREET_ONLY.search(clean)
    if street and not all(w in NOT_STREET for w in street.group(1).split()[:-1] or ["x"]):
        return street.group(1), "street"
    calle = CALLE.search(clean)
    if calle and calle.group(2) not in NOT_STREET:
        return f"{calle.group(1)} {calle.group(2)}", "street"
    return None, None


def _choose(candidates: list[_Candidate], hint_state: str | None, street: str | None,
            gazetteer: Gazetteer) -> _Candidate | None:
    if not candidates:
        return None
    # a place in the text always beats the area code; the hint only orders equals
    def key(c: _Candidate) -> tuple[int, int, int]:
        return (c.rank, 0 if c.place.state == hint_state else 1, 0 if c.slug else 1)

    ordered = sorted(candidates, key=key)
    best = ordered[0]
    # a neighbourhood or ZIP in another state than an explicit "City, ST" loses to it
    explicit = next((c for c in ordered if c.source == "city_state"), None)
    if explicit is not None and best.place.state != explicit.place.state:
        return explicit
    return best
