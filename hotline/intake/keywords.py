"""Carrier-style keywords: STOP and its synonyms, START, HELP, in English and Spanish."""

from __future__ import annotations

import re

from hotline.triage.places import fold

STOP = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout",
                  "opt out", "revoke", "parar", "para", "alto", "basta", "cancelar", "baja",
                  "detener", "no mas", "no mas mensajes"})
START = frozenset({"start", "unstop", "subscribe", "begin", "resume", "comenzar",
                   "empezar", "reanudar", "alta"})
CONSENT = frozenset({"yes", "y", "si", "ok", "okay", "claro", "dale", "yes please",
                     "si por favor"})
HELP = frozenset({"help", "info", "ayuda", "informacion", "derechos", "rights"})


def _words(body: str) -> str:
    """The message as keywords are matched: folded, punctuation and emoji dropped, digits kept
    (so "YES 2345", a verifier's answer about incident 2345, is not the keyword YES)."""
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9 ]", "", fold(body)).strip())


def keyword_of(body: str | None) -> str | None:
    """`stop`, `start`, `help` or `consent` when the whole message is one, else None."""
    if not body:
        return None
    word = _words(body)
    if len(word) > 20:
        return None
    if word in STOP:
        return "stop"
    if word in START:
        return "start"
    if word in HELP:
        return "help"
    if word in CONSENT:
        return "consent"
    return None


SPANISH_KEYWORDS = frozenset({"parar", "para", "alto", "basta", "cancelar", "baja", "detener",
                              "no mas", "no mas mensajes", "comenzar", "empezar", "reanudar",
                              "alta", "ayuda", "informacion", "derechos", "si", "claro", "dale",
                              "si por favor"})


def keyword_language(body: str | None) -> str | None:
    """`es` when the keyword itself is Spanish (AYUDA, PARAR), else None."""
    if not body:
        return None
    return "es" if _words(body) in SPANISH_KEYWORDS else None
