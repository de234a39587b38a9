"""Where is it happening? Places in a message, from the finest to the coarsest, in both languages.

A message is read as a list of tokens, in four passes, each taking the words it explains:

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
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from hotline.triage.gazetteer import DIRECTIONS, STREET_SUFFIXES, Gazetteer, Named
from hotline.triage.language import ENGLISH, SPANISH
from hotline.triage.places import STATES, Place

# precisions a verifier could go to
FINE = frozenset({"address", "intersection", "landmark", "street", "neighbourhood", "zip"})

ORDINAL = re.compile(r"\d{1,3}(?:st|nd|rd|th|va|vo|ta|to|ra|ro|na|no|da|do|a|o)?")
CONNECTORS = frozenset({"and", "&", "y", "@", "/", "n"})
SPANISH_STREET_WORDS = frozenset({"calle", "avenida", "av"})
# words before a place or street that say "here is where"
PLACE_PREPOSITIONS = frozenset("""
    at on in near by en por sobre de del la calle cerca corner esquina off along around between
    entre frente outside afuera
""".split())
STREET_ARTICLES = frozenset({"la", "el", "calle", "avenida", "av", "the"})
# common words that never name a street, a town or a place (beyond the language word lists)
COMMON = frozenset("""
    ice migra la el los las agents agent agentes cops police policia polis nypd lapd feds
    federales officers people men women guys kids ninos children family familia everyone todos
    raid redada border patrol checkpoint reten vests chalecos masks mascaras guns armas dogs
    perros vans van cars carros trucks trocas suvs camionetas patrullas right now ahora ahorita
    rn today hoy morning tarde noche night minutes minutos hours horas am pm help ayuda please
    careful cuidado ppl folks someone somebody anyone nobody nadie alguien tienda escuela
    esquina casa iglesia corte parada clinica oficina fabrica lavanderia pulga puerta puertas
    entrada salida parte madrugada manana trabajo job work house home apartment apartments
    building school church store shop restaurant park parque mercado market station estacion bus
    stop corner neighborhood neighbourhood area zone zona city ciudad town pueblo downtown
    centro county condado state estado mom dad mama papa husband wife esposo esposa neighbor
    neighbour vecino vecina brother sister hermano hermana son daughter hijo hija hijos primo
    tio tia wait stay safe careful alert alerta urgent urgente emergency emergencia happening
    going coming leaving left arrived llegaron llego vienen fueron taking took detained
    detaining arrest arresting arrested knocking tocando asking preguntando checking parked
    waiting esperando lot lots bunch many several some few more mas muchos muchas varios varias
    all both black white gray grey dark unmarked plain clothes tactical armed armados masked
    enmascarados one two three four five six seven eight nine ten uno dos tres cuatro cinco seis
    siete ocho nueve diez also too tambien just solo only still todavia again otra vez hay
""".split()) | ENGLISH | SPANISH
CITY_STOPWORDS = frozenset("""
    mission commerce industry bell orange union media home depot target most deal eagle pass
    bay lake river park center centre city town village county hills beach port north south
    east west fair haven riverside cornelius roosevelt nice davis may june march paris london
    florence national franklin washington lincoln jefferson madison clinton jackson marion
    salem troy dover auburn burlington vernon manchester aurora columbia springfield
    greenville kent vista pinole hollywood wheeling sugar land live oak buda kyle mesa como
    luna plata rosa mora vida sun valley palm federal grand broad front main king story
    warner harbor pico soto vermont california state central university college
""".split())
# nicknames that are also everyday words: they count when written as a name or after "in"
SHORT_NICKNAMES = frozenset({"la", "sea", "den", "chi", "nh", "sj", "bk", "phila", "filly"})
# two-letter state codes that are also words: they need capitals or a comma ("Gary IN")
WORDLIKE_STATES = frozenset("in me or oh hi ok la de pa co al ma ga id mi mo ne wa ct".split())
TOWN_PREFIXES = frozenset({"san", "santa", "los", "las", "el", "la", "new", "fort", "st", "mount",
                           "east", "west", "north", "south", "port", "lake", "del"})
TOWN_SUFFIXES = frozenset({"city", "park", "heights", "beach", "springs", "falls", "hills",
                           "valley", "village", "gardens", "grove", "center", "town"})
STREET_PARTICLES = frozenset({"van", "de", "del", "la", "el", "los", "las", "san", "santa",
                              "st", "saint", "old", "new", "martin", "luther", "king", "front",
                              "main", "grand", "broad", "mission", "park", "lake", "river"})
STATE_NAMES = {name: code for code, name in STATES.items()}

BRANDS = tuple(tuple(b.split()) for b in """
    home depot|homedepot|lowes|walmart|wal-mart|costco|7-eleven|7-11|seven eleven|food 4 less|
    el super|vallarta|northgate|cardenas|fiesta mart|heb|h-e-b|mcdonalds|dunkin|la michoacana|
    king soopers|pick n save|jewel osco|jewel|walgreens|cvs|shoprite|fred meyer|safeway|
    kroger|aldi|superior grocers|el rancho|la bonita|smart final|autozone|u-haul|greyhound
""".replace("\n", " ").split("|"))
# kinds of place that name one when a proper name comes before (English) or after (Spanish)
KINDS_AFTER = frozenset("""
    school elementary academy college university park station church hospital clinic library
    courthouse mall plaza market jail apartments center centre stadium terminal bart
""".split())
KINDS_BEFORE = frozenset("""
    escuela iglesia parque mercado clinica hospital estacion colegio secundaria primaria
    preparatoria universidad
""".split())
GENERIC_NAMES = frozenset("""
    bus train gas police fire local public charter big small new old flea swap kids my our your
    their his her the a an this that elementary middle high grocery corner shopping community
    medical health nearby same other apartment
""".split())
COURTS = (("immigration", "court"), ("federal", "building"), ("federal", "courthouse"),
          ("courthouse",), ("corte", "de", "inmigracion"), ("la", "corte"), ("ice", "office"),
          ("field", "office"))
TRANSIT_LINES = frozenset("red blue green orange brown pink purple yellow silver gold expo".split())


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


@dataclass
class _Candidate:
    place: Place
    source: str  # city_state | zip | landmark | neighbourhood | alias_city | county | city | ...
    text: str
    slug: str | None
    position: int


# lower is stronger: an explicit state beats everything, then the finest places
_RANK = {"city_state": 0, "zip": 1, "landmark": 2, "neighbourhood": 3, "alias_city": 4,
         "county": 5, "city": 6, "alternate": 7}
_PRECISION = {"zip": "zip", "landmark": "landmark", "neighbourhood": "neighbourhood",
              "alternate": "neighbourhood"}


class _Message:
    """The tokens of a message and which of them a pass has already explained."""

    def __init__(self, text: str) -> None:
        plain = "".join(c for c in unicodedata.normalize("NFKD", text)
                        if not unicodedata.combining(c))
        # "L.A." -> "L.A", "St." -> "St", "Walker's" -> "Walkers"
        self.raw = re.findall(r"[A-Za-z0-9]+(?:[.\-][A-Za-z0-9]+)*|[&@/,;:!?]",
                              plain.replace("'", "").replace("\u2019", ""))
        self.words = [t.lower() for t in self.raw]
        self.used = [w in ",;:!?" for w in self.words]
        letters = [c for c in plain if c.isalpha()]
        self.all_caps = bool(letters) and sum(c.isupper() for c in letters) > 0.8 * len(letters)
        self.phrases: list[str] = []

    def __len__(self) -> int:
        return len(self.words)

    def free(self, start: int, end: int) -> bool:
        return 0 <= start and end <= len(self.words) and not any(self.used[start:end])

    def take(self, start: int, end: int, record: bool = True) -> None:
        """Mark words as explained; `record` them as place words SALUTE should not read."""
        for i in range(start, end):
            self.used[i] = True
        if record:
            self.phrases.append(" ".join(self.words[start:end]))

    def word(self, i: int) -> str:
        return self.words[i] if 0 <= i < len(self.words) else ""

    def in_capitals(self, i: int) -> bool:
        """The word is written in capitals ("LA", "SEA", "IN") in a message that is not."""
        return not self.all_caps and self.raw[i].isupper()


def find_location(text: str, gazetteer: Gazetteer, from_number: str | None = None,
                  language: str = "en") -> Location:
    """The best location in `text`, with its jurisdiction (None when outside all of them).

    `language` is accepted for callers' convenience; the rules that tell the Spanish article
    "la" from Los Angeles read the neighbouring words instead.
    """
    msg = _Message(text)
    hint = gazetteer.area_code_place(from_number)
    hint_state = hint.state if hint else None
    candidates: list[_Candidate] = []

    _zip_codes(msg, gazetteer, candidates)
    _named_places(msg, gazetteer, hint_state, candidates)
    street, precision = _streets(msg, gazetteer)
    _city_names(msg, gazetteer, hint_state, candidates)
    landmark = next((c for c in candidates if c.source == "landmark"), None)
    generic = None if landmark is not None else _generic_landmark(msg)

    loc = Location(phrases=tuple(msg.phrases))
    best = _choose(candidates, hint_state)
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
    elif hint is not None:
        # no place in the text: the area code is the only clue, and only to a county
        loc.jurisdiction = gazetteer.jurisdiction_for_area(hint)
        loc.source, loc.precision = "area_code", "area_code"
        if loc.jurisdiction is not None:
            loc.city, loc.county, loc.state = hint.city, hint.county, hint.state
            loc.lat, loc.lon = hint.lat, hint.lon

    if street is not None:
        loc.street, loc.precision = street, precision
        loc.text = street if loc.text is None else f"{street}, {loc.text}"
    named_spot = landmark.text if landmark is not None else generic
    if named_spot is not None and loc.precision not in ("address", "intersection"):
        loc.precision = "landmark"
        if landmark is None:
            loc.text = named_spot if loc.text is None else f"{named_spot}, {loc.text}"
    return loc


# -- pass 1: strong places -------------------------------------------------------------------

def _zip_codes(msg: _Message, gazetteer: Gazetteer, candidates: list[_Candidate]) -> None:
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
            candidates.append(_Candidate(place, "zip", word[:5], gazetteer.jurisdiction_for(place),
                                         i))


def _state_after(msg: _Message, i: int) -> tuple[str, int] | None:
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


def _named_places(msg: _Message, gazetteer: Gazetteer, hint_state: str | None,
                  candidates: list[_Candidate]) -> None:
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
            street_use = _street_use(msg, i, n)
            # "Santa Ana, CA", "Aurora CO", "Corona CA" (not the Corona of Queens)
            state = _state_after(msg, i + n)
            if state is not None and not street_use:
                code = state[0]
                if code == "LA" and _in_los_angeles(gram, gazetteer):
                    code = "CA"  # "Highland Park LA" is in Los Angeles, not Louisiana
                place = places.city(gram, code) or places.alternate(gram, code)
                if place is not None:
                    msg.take(i, i + n + state[1])
                    candidates.append(_Candidate(place, "city_state", f"{place.city}, {code}",
                                                 gazetteer.jurisdiction_for(place), i))
                    continue
            if named is not None and (named.kind == "landmark" or not street_use):
                if gram in SHORT_NICKNAMES and not _nickname_ok(msg, i):
                    continue
                msg.take(i, i + n, record=named.kind != "landmark")
                candidates.append(_named_candidate(named, gram, i))
                continue
            if msg.word(i + n) == "county" and not street_use and msg.free(i + n, i + n + 1):
                place = _county(gram, gazetteer, hint_state)
                if place is not None:
                    msg.take(i, i + n + 1)
                    candidates.append(_Candidate(place, "county", f"{place.county} County",
                                                 gazetteer.jurisdiction_for(place), i))
    _los_angeles(msg, gazetteer, candidates)


def _in_los_angeles(name: str, gazetteer: Gazetteer) -> bool:
    place = gazetteer.places.city(name, "CA") or gazetteer.places.alternate(name, "CA")
    return place is not None and place.county == "Los Angeles"


def _named_candidate(named: Named, gram: str, position: int) -> _Candidate:
    source = {"landmark": "landmark", "neighbourhood": "neighbourhood"}.get(named.kind,
                                                                           "alias_city")
    label = named.label if named.kind == "landmark" else gram
    return _Candidate(named.place, source, label, named.slug, position)


def _street_use(msg: _Message, i: int, n: int) -> bool:
    """A place name used as a street name: "Kensington Ave", "en la Cicero", "calle Mission"."""
    if msg.word(i + n) in STREET_SUFFIXES and msg.word(i + n) not in ("ct", "pl"):
        return True
    return msg.word(i - 1) in ("la", "calle", "avenida", "av") and msg.word(i) not in ("la", "el")


def _nickname_ok(msg: _Message, i: int) -> bool:
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


def _los_angeles(msg: _Message, gazetteer: Gazetteer, candidates: list[_Candidate]) -> None:
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
                candidates.append(_Candidate(place, "alias_city", "LA",
                                             gazetteer.jurisdiction_for(place), i))


# -- pass 2: streets -------------------------------------------------------------------------

def _streets(msg: _Message, gazetteer: Gazetteer) -> tuple[str | None, str | None]:
    """The finest street detail: an address, an intersection or a street (and marks them)."""
    for finder, precision in ((_address, "address"), (_intersection, "intersection"),
                              (_one_street, "street")):
        found = finder(msg, gazetteer)
        if found is not None:
            start, end, label = found
            msg.take(start, end)
            return label, precision
    return None, None


def _address(msg: _Message, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
    for i, word in enumerate(msg.words):
        if not re.fullmatch(r"\d{1,6}", word) or not msg.free(i, i + 2):
            continue
        j = i + 1 + (msg.word(i + 1) in DIRECTIONS and msg.word(i + 2) not in STREET_SUFFIXES)
        for k in range(j + 1, min(j + 4, len(msg))):
            if not msg.free(j, k + 1):
                break
            if msg.words[k] in STREET_SUFFIXES:
                name = msg.words[j:k]
                if name and all(_street_word(w) for w in name):
                    end = k + 1 + (msg.word(k + 1) in DIRECTIONS)
                    return i, end, " ".join(msg.words[i:end])
                break
    return None


def _intersection(msg: _Message, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
    for c, word in enumerate(msg.words):
        if word not in CONNECTORS or msg.used[c] or (word == "n" and not msg.word(c - 1)):
            continue
        left = _side(msg, gazetteer, c, -1)
        right = _side(msg, gazetteer, c, +1)
        if left is None or right is None:
            continue
        (l_start, l_end, l_kind), (r_start, r_end, r_kind) = left, right
        loose = (l_kind == "loose") + (r_kind == "loose")
        if loose == 2 and (word == "n" or msg.word(l_start - 1) not in PLACE_PREPOSITIONS):
            continue
        a = _strip_article(msg.words[l_start:l_end])
        b = _strip_article(msg.words[r_start:r_end])
        return l_start, r_end, f"{' '.join(a)} & {' '.join(b)}"
    return None


def _strip_article(words: list[str]) -> list[str]:
    while len(words) > 1 and words[0] in STREET_ARTICLES:
        words = words[1:]
    return words


def _side(msg: _Message, gazetteer: Gazetteer, c: int, step: int
          ) -> tuple[int, int, str] | None:
    """The street name just before (step -1) or after (+1) a connector: (start, end, kind)."""
    best = None
    for n in (1, 2, 3, 4):
        start, end = (c - n, c) if step < 0 else (c + 1, c + 1 + n)
        if not msg.free(start, end):
            break
        words = msg.words[start:end]
        if step > 0 and words[0] in STREET_ARTICLES and n > 1:
            words = words[1:]
        if step < 0 and words[0] in STREET_ARTICLES and n > 1:
            continue
        kind = _street_kind(words, gazetteer)
        if kind is not None and (best is None or kind != "loose" or best[2] == "loose"):
            best = (start, end, kind)
    return best


def _street_kind(words: list[str], gazetteer: Gazetteer) -> str | None:
    """How sure `words` name a street: known | numbered | suffixed | loose, or None."""
    if not words:
        return None
    if words[-1] in DIRECTIONS and len(words) > 1:
        words = words[:-1]
    if words[0] in DIRECTIONS and len(words) > 1 and words[0] not in ("north", "south"):
        words = words[1:]
    if words[0] in SPANISH_STREET_WORDS and len(words) > 1:
        words = words[1:]
    base = words[:-1] if len(words) > 1 and words[-1] in STREET_SUFFIXES else words
    name = " ".join(base)
    if name in gazetteer.street_names and (base is not words or name not in COMMON):
        return "known"
    if len(base) == 1 and ORDINAL.fullmatch(base[0]):
        number = int(re.match(r"\d+", base[0]).group())
        return "numbered" if 1 <= number <= 250 else None
    if base is not words and all(_name_word(w) for w in base) and len(base) <= 3:
        return "suffixed"
    if len(base) <= 2 and all(_name_word(w) for w in base) and len(name) >= 3:
        return "loose"
    return None


def _name_word(word: str) -> bool:
    """A word that could be part of a proper name (not a common word, not a number)."""
    return word.replace("-", "").isalpha() and word not in COMMON and word not in CONNECTORS


def _street_word(word: str) -> bool:
    """A word of a street's name before its suffix: "Van Nuys", "18th", "St Nicholas"."""
    if word in PLACE_PREPOSITIONS or not word.replace("-", "").isalnum():
        return False
    return bool(ORDINAL.fullmatch(word)) or word in STREET_PARTICLES or _name_word(word)


def _one_street(msg: _Message, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
    # words ending in a street suffix: "Cermak Rd", "Rainier Ave S", "port richmond ave"
    for k, word in enumerate(msg.words):
        if word not in STREET_SUFFIXES or msg.used[k]:
            continue
        start = k
        while start > 0 and k - start < 3 and msg.free(start - 1, start) and \
                _street_word(msg.words[start - 1]):
            start -= 1
        if start < k and not _big_city(" ".join(msg.words[start:k + 1]), gazetteer, 50_000):
            end = k + 1 + (msg.word(k + 1) in DIRECTIONS and msg.free(k + 1, k + 2))
            return start, end, " ".join(msg.words[start:end])
    # "calle 22", "avenida Central"
    for i, word in enumerate(msg.words):
        if word in ("calle", "avenida", "av") and msg.free(i, i + 2) and \
                (ORDINAL.fullmatch(msg.word(i + 1)) or _name_word(msg.word(i + 1))):
            return i, i + 2, f"{word} {msg.word(i + 1)}"
    # a known street after a preposition, or any name after the Spanish "en la"
    for i, word in enumerate(msg.words):
        if word not in PLACE_PREPOSITIONS:
            continue
        for n in (3, 2, 1):
            if not msg.free(i + 1, i + 1 + n):
                continue
            name = " ".join(msg.words[i + 1:i + 1 + n])
            longer = f"{name} {msg.word(i + 1 + n)}"
            if name in gazetteer.street_names and msg.word(i + 1 + n) not in ("of", "de") and \
                    (word == "la" or (name not in COMMON and not _big_city(name, gazetteer)
                                      and not _big_city(longer, gazetteer, 50_000))):
                return i + 1, i + 1 + n, name
        after = msg.word(i + 1)
        if word == "la" and msg.free(i + 1, i + 2) and _name_word(after) and len(after) >= 3 \
                and msg.word(i - 1) in ("en", "por", "sobre", "de", "a", "cerca"):
            return i + 1, i + 2, after
    return None


def _big_city(name: str, gazetteer: Gazetteer, population: int = 100_000) -> bool:
    """"en Milwaukee" is the city, though Chicago has a Milwaukee Ave; so is "Federal Way"."""
    return any(gazetteer.places.city_population(name, state) >= population
               for state in gazetteer.places.cities_named(name))


# -- pass 3: city names from the data --------------------------------------------------------

def _city_names(msg: _Message, gazetteer: Gazetteer, hint_state: str | None,
                candidates: list[_Candidate]) -> None:
    places = gazetteer.places
    for n in (3, 2, 1):
        for i in range(len(msg) - n + 1):
            if not msg.free(i, i + n) or _street_use(msg, i, n):
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
                candidates.append(_Candidate(place, "city", place.city or gram,
                                             gazetteer.jurisdiction_for(place), i))
                continue
            alt_states = places.alternate_states(gram)
            if alt_states and (n > 1 or hint_state in alt_states):
                state = hint_state if hint_state in alt_states else (
                    alt_states[0] if len(alt_states) == 1 else None)
                place = places.alternate(gram, state) if state else None
                if place is not None:
                    msg.take(i, i + n)
                    candidates.append(_Candidate(place, "alternate", gram,
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

def _generic_landmark(msg: _Message) -> str | None:
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
            if any((_name_word(words[j]) and words[j] not in GENERIC_NAMES)
                   or ORDINAL.fullmatch(words[j]) for j in name):
                return " ".join(msg.raw[name[0]:i + 1])
        if word in KINDS_BEFORE:
            j = i + 1
            while msg.word(j) in ("de", "del", "la", "el", "los", "san", "santa"):
                j += 1
            if _name_word(msg.word(j)) and msg.word(j) not in GENERIC_NAMES:
                return " ".join(msg.raw[i:j + 1])
    for court in COURTS:
        n = len(court)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == court:
                return " ".join(msg.raw[i:i + n])
    return None


def _choose(candidates: list[_Candidate], hint_state: str | None) -> _Candidate | None:
    """The strongest place; the area code's state only orders equals."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (_RANK[c.source], c.place.state != hint_state,
                                          c.slug is None, c.position))
