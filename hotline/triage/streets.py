"""Pass 2 of reading a place: streets. An address ("2400 S Western Ave"), an intersection
("18th and Ashland", "la 24 y Mission") or one street, the finest found."""

from __future__ import annotations

import re

from hotline.triage.gazetteer import DIRECTIONS, STREET_SUFFIXES, Gazetteer
from hotline.triage.words import (
    COMMON,
    CONNECTORS,
    ORDINAL,
    PLACE_PREPOSITIONS,
    SPANISH_STREET_WORDS,
    STREET_ARTICLES,
    STREET_PARTICLES,
    Words,
)


def find_street(msg: Words, gazetteer: Gazetteer) -> tuple[str | None, str | None]:
    """The finest street detail: an address, an intersection or a street (and marks them)."""
    for finder, precision in ((_address, "address"), (_intersection, "intersection"),
                              (_one_street, "street")):
        found = finder(msg, gazetteer)
        if found is not None:
            start, end, label = found
            msg.take(start, end)
            return label, precision
    return None, None


def _address(msg: Words, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
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


def _intersection(msg: Words, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
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


def _side(msg: Words, gazetteer: Gazetteer, c: int, step: int
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
    if base is not words and all(name_word(w) for w in base) and len(base) <= 3:
        return "suffixed"
    if len(base) <= 2 and all(name_word(w) for w in base) and len(name) >= 3:
        return "loose"
    return None


def name_word(word: str) -> bool:
    """A word that could be part of a proper name (not a common word, not a number)."""
    return word.replace("-", "").isalpha() and word not in COMMON and word not in CONNECTORS


def _street_word(word: str) -> bool:
    """A word of a street's name before its suffix: "Van Nuys", "18th", "St Nicholas"."""
    if word in PLACE_PREPOSITIONS or not word.replace("-", "").isalnum():
        return False
    return bool(ORDINAL.fullmatch(word)) or word in STREET_PARTICLES or name_word(word)


def _one_street(msg: Words, gazetteer: Gazetteer) -> tuple[int, int, str] | None:
    # words ending in a street suffix: "Cermak Rd", "Rainier Ave S", "port richmond ave"
    for k, word in enumerate(msg.words):
        if word not in STREET_SUFFIXES or msg.used[k]:
            continue
        start = k
        while start > 0 and k - start < 3 and msg.free(start - 1, start) and \
                _street_word(msg.words[start - 1]):
            start -= 1
        if start < k and not big_city(" ".join(msg.words[start:k + 1]), gazetteer, 50_000):
            end = k + 1 + (msg.word(k + 1) in DIRECTIONS and msg.free(k + 1, k + 2))
            return start, end, " ".join(msg.words[start:end])
    # "calle 22", "avenida Central"
    for i, word in enumerate(msg.words):
        if word in ("calle", "avenida", "av") and msg.free(i, i + 2) and \
                (ORDINAL.fullmatch(msg.word(i + 1)) or name_word(msg.word(i + 1))):
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
                    (word == "la" or (name not in COMMON and not big_city(name, gazetteer)
                                      and not big_city(longer, gazetteer, 50_000))):
                return i + 1, i + 1 + n, name
        after = msg.word(i + 1)
        if word == "la" and msg.free(i + 1, i + 2) and name_word(after) and len(after) >= 3 \
                and msg.word(i - 1) in ("en", "por", "sobre", "de", "a", "cerca"):
            return i + 1, i + 2, after
    return None


def big_city(name: str, gazetteer: Gazetteer, population: int = 100_000) -> bool:
    """"en Milwaukee" is the city, though Chicago has a Milwaukee Ave; so is "Federal Way"."""
    return any(gazetteer.places.city_population(name, state) >= population
               for state in gazetteer.places.cities_named(name))


def street_use(msg: Words, i: int, n: int) -> bool:
    """A place name used as a street name: "Kensington Ave", "en la Cicero", "calle Mission"."""
    if msg.word(i + n) in STREET_SUFFIXES and msg.word(i + n) not in ("ct", "pl"):
        return True
    return msg.word(i - 1) in ("la", "calle", "avenida", "av") and msg.word(i) not in ("la", "el")
