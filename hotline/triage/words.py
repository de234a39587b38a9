"""The words a message is read as (tokens, and which of them a pass has explained), and the
vocabulary the location passes share: connectors, prepositions, common words, brands, kinds."""

from __future__ import annotations

import re
import unicodedata

from hotline.triage.language import ENGLISH, SPANISH
from hotline.triage.places import STATES

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
    kroger|aldi|superior grocers|el rancho|la bonita|smart final|autozone|u-haul|greyhound|
    wawa|sheetz|meijer|publix|winco|food lion|dollar general|family dollar|h mart|hmart
""".replace("\n", " ").split("|"))
# kinds of place that name one when a proper name comes before (English) or after (Spanish)
KINDS_AFTER = frozenset("""
    school elementary academy college university park station church hospital clinic library
    courthouse mall plaza market jail apartments center centre stadium terminal bart zoo pier
    casino field arena square museum airport
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


class Words:
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
