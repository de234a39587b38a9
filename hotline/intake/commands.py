"""Replies from responders: YES/NO/ETA/UNABLE for verifiers, ACCEPT/DECLINE (or 1/2) for
lawyers, MSG to relay to a reporter, REPORT to report like anyone else. Parsed without the
database so the webhook can tell them apart, and leniently: case, accents, punctuation and a
`#` before the code do not matter ("Yes 8372!", "ACCEPT #8372"), and an ETA may be written in
words ("eta 8372 ten minutes", "eta 8372 media hora")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.triage.places import fold

_CODE = r"([2-9a-hjkmnp-tw-z]{4,5})"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("yes", re.compile(rf"^(?:yes|y|si|confirm(?:ed)?|confirmado)\s+{_CODE}\b(.*)$")),
    ("no", re.compile(rf"^(?:no|n|false|falso|nothing|nada)\s+{_CODE}\b(.*)$")),
    ("eta", re.compile(rf"^eta\s+{_CODE}\b(.*)$")),
    ("accept", re.compile(rf"^(?:accept|ack|aceptar|acepto)\s+{_CODE}\b(.*)$")),
    ("decline", re.compile(rf"^(?:decline|rechazar|rechazo)\s+{_CODE}\b(.*)$")),
    # the short numeric forms only as the whole message: "1 agent at 60608" is a report
    ("accept", re.compile(rf"^1\s+{_CODE}()$")),
    ("decline", re.compile(rf"^2\s+{_CODE}()$")),
    ("msg", re.compile(rf"^msg\s+{_CODE}\s+(.+)$", re.S)),
    ("unable", re.compile(rf"^(?:unable|cant|no puedo)\s+{_CODE}\b(.*)$")),
    ("report", re.compile(r"^(?:report|reporte|reportar)\s+(.+)$", re.S)),
]
# what separates words of a command and is otherwise ignored
_PUNCTUATION = re.compile(r"[#:;,.!?¡¿()\[\]\"'*_~-]+")
_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40,
    "forty five": 45, "sixty": 60, "an hour": 60, "one hour": 60, "half an hour": 30,
    "half hour": 30, "a few": 5, "uno": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4,
    "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "quince": 15,
    "veinte": 20, "treinta": 30, "cuarenta": 40, "cuarenta y cinco": 45, "una hora": 60,
    "media hora": 30, "unos": 5,
}
DEFAULT_ETA = 15  # minutes, when a verifier's ETA names none
_BARE = {"1": "accept", "2": "decline", "accept": "accept", "decline": "decline"}


@dataclass(frozen=True)
class Command:
    """A parsed responder reply; `code` is None for a bare 1/2 (the latest alert)."""

    verb: str
    code: str | None
    argument: str = ""


def minutes_in(text: str) -> int | None:
    """Minutes named in an ETA: digits ("10", "10min", "1h") or words in English or Spanish."""
    digits = re.match(r"^\s*(\d{1,3})\s*(h|hr|hrs|hour|hours|hora|horas)?\b", text)
    if digits:
        return int(digits.group(1)) * (60 if digits.group(2) else 1)
    words = re.sub(r"\s+", " ", text).strip()
    for phrase in sorted(_NUMBERS, key=len, reverse=True):
        if words == phrase or words.startswith(phrase + " "):
            return _NUMBERS[phrase]
    return None


def parse_command(body: str | None) -> Command | None:
    """The command in a message, or None when it is not one."""
    if not body:
        return None
    folded = fold(body).strip()
    text = re.sub(r"\s+", " ", _PUNCTUATION.sub(" ", folded)).strip()
    if text in _BARE:
        return Command(_BARE[text], None)
    for verb, pattern in _PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        if verb == "report":
            # the report itself, as written (after the keyword)
            original = re.match(r"^\s*\S+\s+(.+)$", body.strip(), re.S)
            return Command(verb, None, original.group(1) if original else match.group(1))
        code = match.group(1).upper()
        if verb == "msg":
            # keep the original text (case, accents) of the relayed message
            original = re.match(r"^\s*\S+\s*#?\s*\S+\s+(.+)$", body.strip(), re.S)
            return Command(verb, code, original.group(1) if original else match.group(2))
        if verb == "eta":
            minutes = minutes_in(match.group(2)) or DEFAULT_ETA
            return Command(verb, code, str(minutes))
        return Command(verb, code, match.group(2).strip())
    return None
