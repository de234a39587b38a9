"""Replies from responders: YES/NO/ETA/UNABLE for verifiers, ACCEPT/DECLINE (or 1/2) for
lawyers, MSG to relay to a reporter, REPORT to report like anyone else. Parsed without the
database so the webhook can tell them apart, and leniently: case, accents, punctuation and a
`#` before the code do not matter ("Yes 8372!", "ACCEPT #8372"), and an ETA may be written in
words ("eta 8372 ten minutes", "eta 8372 media hora").

A responder's availability (OFF, OFF 3h, OFF tonight, ON, STATUS) is parsed apart, with the words
of every configured language (`keywords: away_off / away_on / away_status`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.core.languages import Languages, fold_phrase
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


# OFF <length>: a number and a unit (none: hours), in English or Spanish
_UNITS = {
    "m": 1, "min": 1, "mins": 1, "minute": 1, "minutes": 1, "minuto": 1, "minutos": 1,
    "h": 60, "hr": 60, "hrs": 60, "hour": 60, "hours": 60, "hora": 60, "horas": 60,
    "d": 1440, "day": 1440, "days": 1440, "dia": 1440, "dias": 1440,
}
# OFF <until>: till the next morning (08:00) or the next midnight, in the network's timezone
_UNTIL = {"tonight": "tonight", "esta noche": "tonight", "for tonight": "tonight",
          "por esta noche": "tonight", "today": "today", "hoy": "today", "for today": "today",
          "por hoy": "today"}
_LENGTH = re.compile(r"^(?:for |por )?(\d{1,4}) ?([a-z]+)?$")


@dataclass(frozen=True)
class Availability:
    """A responder's OFF / ON / STATUS: `minutes` or `until` ("tonight", "today") for an OFF
    with a length; neither: until they send ON."""

    verb: str  # off | on | status
    minutes: int | None = None
    until: str | None = None


def parse_availability(body: str | None, languages: Languages) -> Availability | None:
    """OFF, OFF 3h, OFF 90 min, OFF tonight, ON, STATUS (and every language's words for them),
    or None when the message is something else."""
    if not body or len(body) > 60:
        return None
    words = fold_phrase(body).split()
    for size in (3, 2, 1):
        kind = languages.away_words.get(" ".join(words[:size])) if len(words) >= size else None
        if kind is not None:
            rest = " ".join(words[size:])
            break
    else:
        return None
    verb = kind.removeprefix("away_")
    if not rest:
        return Availability(verb)
    if verb != "off":
        return None  # "on my way", "status of 8372": not an availability
    if rest in _UNTIL:
        return Availability("off", until=_UNTIL[rest])
    length = _LENGTH.match(rest)
    if length is None or (length.group(2) and length.group(2) not in _UNITS):
        return None
    minutes = int(length.group(1)) * _UNITS.get(length.group(2) or "h", 60)
    return Availability("off", minutes=minutes) if minutes > 0 else None
