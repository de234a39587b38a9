"""Replies from responders: YES/NO/ETA for verifiers, ACCEPT/DECLINE (or 1/2) for lawyers,
MSG to relay to a reporter. Parsed without the database so the webhook can tell them apart."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hotline.triage.places import fold

_CODE = r"([2-9a-hjkmnp-tw-z]{4,5})"
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("yes", re.compile(rf"^(?:yes|y|si|confirm(?:ed)?|confirmado)\s+{_CODE}\b(.*)$")),
    ("no", re.compile(rf"^(?:no|n|false|falso|nothing|nada)\s+{_CODE}\b(.*)$")),
    ("eta", re.compile(rf"^eta\s+{_CODE}\s+(\d{{1,3}})\b(.*)$")),
    ("accept", re.compile(rf"^(?:accept|ack|aceptar|acepto)\s+{_CODE}\b(.*)$")),
    ("decline", re.compile(rf"^(?:decline|rechazar|rechazo)\s+{_CODE}\b(.*)$")),
    # the short numeric forms only as the whole message: "1 agent at 60608" is a report
    ("accept", re.compile(rf"^1\s+{_CODE}()$")),
    ("decline", re.compile(rf"^2\s+{_CODE}()$")),
    ("msg", re.compile(rf"^msg\s+{_CODE}\s+(.+)$", re.S)),
    ("unable", re.compile(rf"^(?:unable|cant|no puedo)\s+{_CODE}\b(.*)$")),
]
_BARE = {"1": "accept", "2": "decline", "accept": "accept", "decline": "decline"}


@dataclass(frozen=True)
class Command:
    """A parsed responder reply; `code` is None for a bare 1/2 (the latest alert)."""

    verb: str
    code: str | None
    argument: str = ""


def parse_command(body: str | None) -> Command | None:
    """The command in a message, or None when it is not one."""
    if not body:
        return None
    text = fold(body).strip()
    if text in _BARE:
        return Command(_BARE[text], None)
    for verb, pattern in _PATTERNS:
        match = pattern.match(text)
        if match:
            code = match.group(1).upper()
            if verb == "msg":
                # keep the original text (case, accents) of the relayed message
                original = re.match(r"^\s*\S+\s+\S+\s+(.+)$", body.strip(), re.S)
                return Command(verb, code, original.group(1) if original else match.group(2))
            return Command(verb, code, match.group(2).strip())
    return None
