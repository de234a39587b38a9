"""Questions told from reports: "what are my rights?" and "is ICE in Santa Ana today?" need an
answer, not an incident.

Cautious by design, because a report taken for a question is a report lost. A message is a
question only when it asks: a question mark, or it opens with a question word of English or
Spanish (a rumour check must open with one; "hay", "que", "esta" count only with a question
mark, since "hay migra en la 18" says there is). And it must read like nobody seeing anything
now: no count, no vehicles, nobody being arrested, watched or knocked on, nobody taken, no
"here", "outside", "at my door", "right now", "I see" (and no spot named: the caller checks
that, `SPOT_PRECISIONS`). Then it is
`rights` when it asks about rights (a rights phrase of any configured language, or "open the
door", "remain silent", "a warrant" and their Spanish), `rumour` when it asks about agents
somewhere (ICE, la migra, a raid, a checkpoint), and a report otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

from hotline.core.languages import Languages
from hotline.triage.places import fold
from hotline.triage.salute import EQUIPMENT, size_of

WORD = re.compile(r"\w+")
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
    r"\b(?:open the door|open my door|remain silent|stay silent|a warrant|sign anything|"
    r"have to (?:answer|talk|open|sign)|abrir la puerta|abro la puerta|guardar silencio|"
    r"una orden|firmar algo|tengo que (?:abrir|contestar|responder|firmar|hablar)|"
    r"derecho a)\b")
ENFORCEMENT = re.compile(
    r"\b(?:ice|i\.c\.e|migra|la migra|inmigracion|immigration|agents?|agentes|raids?|"
    r"redadas?|operativos?|checkpoints?|reten|retenes|border patrol|patrulla fronteriza|cbp|"
    r"federales|feds)\b")


def kind_of(text: str, rights_phrases: Iterable[str] = ()) -> str | None:
    """`rights` or `rumour` for a question of that kind, None for a report (or anything
    else). `rights_phrases` are the languages' rights keywords ("derechos", "mes droits"),
    folded."""
    folded = fold(text or "").strip()
    if not folded or len(folded) > MAX_LENGTH:
        return None
    marked = any(mark in text for mark in QUESTION_MARKS)
    opens_asking = QUESTION_START.match(folded) is not None or \
        (marked and MAYBE_QUESTION_START.match(folded) is not None)
    if not (opens_asking or marked):
        return None
    if SIGHTING.search(folded) or DOING.search(folded) or size_of(folded) is not None or \
            any(re.search(rf"\b(?:{pattern})", folded) for pattern in EQUIPMENT.values()):
        return None
    words = " " + " ".join(WORD.findall(folded)) + " "
    if RIGHTS.search(folded) or any(f" {phrase} " in words for phrase in rights_phrases
                                    if phrase):
        return "rights"
    if opens_asking and ENFORCEMENT.search(folded):  # "ICE at the Home Depot?" is a report
        return "rumour"
    return None


@lru_cache(maxsize=8)
def rights_phrases(languages: Languages) -> frozenset[str]:
    """The rights keywords of every configured language, folded (for `kind_of`)."""
    return frozenset(fold(phrase) for code in languages.codes
                     for phrase in languages[code].keywords.get("rights") or [])
