"""Questions told from reports: "what are my rights?" and "is ICE in Santa Ana today?" need an
answer, not an incident.

Cautious by design, because a report taken for a question is a report lost. A message is a
question only when it asks: a question mark, or it opens with a question word of English or
Spanish (a rumour check must open with one; "hay", "que", "esta" count only with a question
mark, since "hay migra en la 18" says there is). And it must read like nobody seeing anything
now: no count, no vehicles, no "here", "outside", "at my door", "right now". Then it is
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
QUESTION_MARKS = ("?", "¿", "？", "؟", "՞")  # noqa: RUF001 (the marks of other scripts)
QUESTION_START = re.compile(
    r"^\W*(?:what|whats|what's|is|are|do|does|did|can|could|should|how|where|when|will|any|"
    r"anyone|anybody|cuales?|donde|cuando|puedo|puede|tengo que|debo|es verdad|sera|"
    r"alguien sabe)\b")
# Spanish that opens a question as often as a statement ("hay migra en la 18" says there is):
# asking only with a question mark
MAYBE_QUESTION_START = re.compile(r"^\W*(?:hay|esta|estan|anda|andan|que|como)\b")
# someone seeing it now, or here: a report, whatever the grammar
SIGHTING = re.compile(
    r"\b(?:here|outside|right now|just now|happening|in front of|across the street|"
    r"at my (?:door|house|home|work|job|school|building)|my (?:street|block|door)|"
    r"aqui|aca|afuera|ahorita|ahora mismo|en este momento|enfrente|frente a|"
    r"en mi (?:puerta|casa|trabajo|escuela|cuadra|calle|edificio))\b")
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
    if SIGHTING.search(folded) or size_of(folded) is not None or \
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
