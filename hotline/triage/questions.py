"""Questions told from reports: "what are my rights?" and "is ICE in Santa Ana today?" need an
answer, not an incident.

Cautious by design, because a report taken for a question is a report lost. A message is a
question only when it asks: a question mark, or it opens with a question word of English or
Spanish, or it holds one of its language's `asks` phrases ("est-ce que", "吗", "ли"; a rumour
check must have one of these; "hay", "que", "esta" count only with a question mark, since "hay
migra en la 18" says there is). A message of another language is also read through its
glossary (`triage.gloss`), so what follows applies to the English words it glosses into.
And it must read like nobody seeing anything now: no count, no vehicles, nobody being
arrested, watched or knocked on, nobody taken, no "here", "outside", "at my door", "right now",
"I see" (and no spot named: the caller checks that, `SPOT_PRECISIONS`). Then it is
`rights` when it asks about rights (a rights phrase of any configured language, or "open the
door", "remain silent", "a warrant", "warrant" alone as Tagalog and romanised Urdu use it, and
their Spanish; other languages' words for them come through their glossaries), `rumour` when
it asks about agents somewhere (ICE, la migra, a raid, a checkpoint), and a report otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from hotline.core.languages import Language, Languages
from hotline.triage.gloss import gloss
from hotline.triage.places import fold
from hotline.triage.salute import EQUIPMENT, size_of

# a word: letters and digits, with the vowel signs of Indic scripts (which \w leaves out)
WORD = re.compile(r"[\w\u0900-\u0dff]+")
# scripts written without spaces (Hangul folded into its jamo too): phrases match inside words
UNSPACED = re.compile(
    r"[\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
MAX_LENGTH = 280  # longer than a question usually is: a story, read as a report
# a place this precise names where something is seen (a corner, an address, a Home Depot): a
# question naming one is a report; an area (a neighbourhood, a ZIP, a city) is a rumour check's
SPOT_PRECISIONS = frozenset({"address", "intersection", "street", "landmark", "photo"})
QUESTION_MARKS = ("?", "¿", "？", "؟", "՞")  # noqa: RUF001 (the marks of other scripts)
QUESTION_START = re.compile(
    r"^\W*(?:what|whats|what's|is|are|do|does|did|can|could|should|how|where|when|will|any|"
    r"anyone|anybody|cuales?|donde|cuando|puedo|puede|tengo que|debo|es verdad|sera|"
    r"alguien sabe)\b")
# Spanish that opens a question as often as a statement ("hay migra en la 18" says there is):
# asking only with a question mark
MAYBE_QUESTION_START = re.compile(r"^\W*(?:hay|esta|estan|anda|andan|que|como)\b")
# someone seeing it now, or here, or someone taken: a report, whatever the grammar
SIGHTING = re.compile(
    r"\b(?:here|outside|right now|rn|just now|happening|in front of|across the street|still|"
    r"i see|i saw|we see|i just|they just|just saw|see them|seeing|"
    r"at my (?:door|house|home|work|job|school|building)|my (?:street|block|door)|at work|"
    r"took|taken|taking|stopped me|pulled me|pulled over|has me|have me|come to|"
    r"my (?:husband|wife|son|daughter|cousin|neighbou?r|brother|sister|mom|dad|mother|"
    r"father|friend|coworker|boss|kid|kids|child|parents?)|"
    r"aqui|aca|afuera|ahorita|ahora mismo|en este momento|enfrente|frente a|todavia|"
    r"en mi (?:puerta|casa|trabajo|escuela|cuadra|calle|edificio)|en el trabajo|"
    r"veo|vemos|vi |acabo de|acaban de|se llevaron|se lo llevaron|se la llevaron|llevaron|"
    r"me tiene|me tienen|me pararon|me detuvieron|vengan|venga|"
    r"mi (?:esposo|esposa|hijo|hija|primo|prima|vecino|vecina|hermano|hermana|mama|papa|"
    r"amigo|amiga|jefe|familia|novio|novia))\b")
# doing something to someone (arresting, knocking, watching): a report, however it is asked
DOING = re.compile(
    r"\b(?:arrest\w*|detain\w*|detuv\w*|deten\w*|agarr\w*|grabb\w*|handcuff\w*|"
    r"esposad\w*|knock\w*|tocando|banging|chasing|persigu\w*|waiting|esperando|parked|"
    r"estacionad\w*|watching|vigiland\w*|following|siguiendo|asking for|pidiendo|"
    r"checking (?:ids|papers)|stopping|parando|llevando|arrestando|raiding)\b")
RIGHTS = re.compile(
    r"\b(?:open the door|open my door|remain silent|stay silent|a warrant|warrants?|"
    r"sign anything|"
    r"have to (?:answer|talk|open|sign)|abrir la puerta|abro la puerta|guardar silencio|"
    r"una orden|firmar algo|tengo que (?:abrir|contestar|responder|firmar|hablar)|"
    r"derecho a)\b")
ENFORCEMENT = re.compile(
    r"\b(?:ice|i\.c\.e|migra|la migra|inmigracion|immigration|agents?|agentes|raids?|"
    r"redadas?|operativos?|checkpoints?|reten|retenes|border patrol|patrulla fronteriza|cbp|"
    r"federales|feds)\b")


@lru_cache(maxsize=16)
def _matcher(phrases: frozenset[str]) -> Callable[[str, str], bool]:
    """Whether any of `phrases` (folded) is in a text: as whole words (" phrase " in its
    words), or anywhere in scripts written without spaces (吗, 있나요). The phrases are split
    once, then tested in C: this runs in the webhook and again in triage, on ~300 phrases."""
    spaced = tuple(f" {p} " for p in phrases if p and not UNSPACED.search(p))
    unspaced = tuple(p for p in phrases if p and UNSPACED.search(p))

    def found(words: str, folded: str) -> bool:
        return any(map(words.__contains__, spaced)) or any(map(folded.__contains__, unspaced))

    return found


def kind_of(text: str, rights_phrases: Iterable[str] = (), asks: Iterable[str] = (),
            glossed: str | None = None) -> str | None:
    """`rights` or `rumour` for a question of that kind, None for a report (or anything
    else). `rights_phrases` are the languages' rights keywords ("derechos", "mes droits") and
    `asks` their question phrases, folded; `glossed` is the text read through its language's
    glossary (`read_as_english`), when it is not English."""
    folded = fold(text or "").strip()
    if not folded or len(folded) > MAX_LENGTH:
        return None
    words = " " + " ".join(WORD.findall(folded)) + " "
    marked = any(mark in text for mark in QUESTION_MARKS)
    opens_asking = QUESTION_START.match(folded) is not None or \
        (marked and MAYBE_QUESTION_START.match(folded) is not None) or \
        _matcher(frozenset(asks))(words, folded)
    if not (opens_asking or marked):
        return None
    readings = [folded] + ([fold(glossed).strip()] if glossed else [])
    for read in readings:  # seen now, here, done to someone: a report in either reading
        if SIGHTING.search(read) or DOING.search(read) or size_of(read) is not None or \
                any(re.search(rf"\b(?:{pattern})", read) for pattern in EQUIPMENT.values()):
            return None
    if any(RIGHTS.search(read) for read in readings) or \
            _matcher(frozenset(rights_phrases))(words, folded):
        return "rights"
    # "ICE at the Home Depot?" is a report: a rumour check asks in words
    if opens_asking and any(ENFORCEMENT.search(read) for read in readings):
        return "rumour"
    return None


def read_as_english(text: str, language: Language | None) -> str | None:
    """The text through its language's glossary ("la police de l'immigration" -> "immigration"),
    for `kind_of`; None for English or an unknown language."""
    if language is None or language.code == "en":
        return None
    return gloss(text, None, language)


def _phrase(text: str) -> str:
    """A phrase folded and split into words as `kind_of` splits a message ("est-ce que" ->
    "est ce que"); a phrase of an unspaced script stays whole."""
    folded = fold(text).strip()
    return folded if UNSPACED.search(folded) else " ".join(WORD.findall(folded))


@lru_cache(maxsize=8)
def ask_phrases(languages: Languages) -> frozenset[str]:
    """The question phrases of every configured language, folded (for `kind_of`)."""
    return frozenset(_phrase(phrase) for code in languages.codes
                     for phrase in languages[code].keywords.get("asks") or [])


@lru_cache(maxsize=8)
def rights_phrases(languages: Languages) -> frozenset[str]:
    """The rights keywords of every configured language, folded (for `kind_of`)."""
    return frozenset(_phrase(phrase) for code in languages.codes
                     for phrase in languages[code].keywords.get("rights") or [])
