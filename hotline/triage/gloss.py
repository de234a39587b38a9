"""Read a message in any configured language with the English eyes the location and SALUTE
passes have: place names written in other scripts or languages become the names those passes
know (法拉盛 -> "flushing", Чикаго -> "chicago", Filadelfia -> "philadelphia"), and the
language's glossary turns what people text about a raid into English words ("ajan" -> "agents",
"移民局" -> "ice", "kounye a" -> "right now", "ak" -> "and").

Latin-script street names inside other-script text stay as they are, so "Canal St 和 Mott St"
reads "Canal St and Mott St". The language itself is detected on the original text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from hotline.core.languages import Language, fold_phrase

# scripts written without spaces between words: phrases match anywhere inside the text
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# scripts whose words take attached prefixes or case endings (Arabic "بشيكاغو", Russian
# "Бруклине"): a place name matches inside a word too
_ATTACHING = re.compile(r"[\u0400-\u052f\u0600-\u06ff\u0750-\u077f\u0980-\u09ff\u1200-\u139f]")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


_ARABIC_MARKS = re.compile("[\u064b-\u065f\u0670]")


def _nfc(text: str) -> str:
    """The form other-script phrases are matched in: lower case, composed, without Arabic
    harakat, hamza or madda marks (people rarely type them; keys are written either way)."""
    return _nfc_keep_case(text.lower())


def _is_inside_match(phrase: str) -> bool:
    # a single letter of an attaching script ("و", and) is a word of its own, never a part
    if _ATTACHING.search(phrase) and len(phrase.strip("*")) < 2:
        return False
    return bool(_UNSPACED.search(phrase) or _ATTACHING.search(phrase))


def _nfc_keep_case(text: str) -> str:
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", _ARABIC_MARKS.sub("", decomposed))


class Glossary:
    """Phrase -> English replacement, split into those that match inside words (other scripts)
    and those that match whole words (folded, with a trailing `*` for "any ending")."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        inside: dict[str, str] = {}
        exact: dict[tuple[str, ...], str] = {}
        prefixes: list[tuple[str, str]] = []
        # "<n>대" -> "3 cars": a number and its counter (Korean and Chinese count after it)
        self.counted: list[tuple[re.Pattern[str], str]] = []
        for phrase, english in entries.items():
            if "<n>" in phrase:
                pattern = re.escape(_nfc(phrase)).replace(re.escape("<n>"), r"(\d+)\s*")
                self.counted.append((re.compile(pattern, re.IGNORECASE), english))
                continue
            if _is_inside_match(phrase):
                inside[_nfc(phrase.rstrip("*"))] = english
            elif phrase.endswith("*"):
                prefixes.append((fold_phrase(phrase[:-1]), english))
            else:
                key = tuple(fold_phrase(phrase).split())
                if key:
                    exact[key] = english
        self.inside = inside
        self._inside_re = (re.compile("|".join(re.escape(p) for p in
                                               sorted(inside, key=len, reverse=True)),
                                      re.IGNORECASE)
                           if inside else None)
        self.exact = exact
        self.longest = max((len(k) for k in exact), default=0)
        self.prefixes = sorted(prefixes, key=lambda p: -len(p[0]))

    def __bool__(self) -> bool:
        return bool(self.inside or self.exact or self.prefixes or self.counted)

    def apply(self, text: str) -> str:
        """The text with every known phrase replaced by its English (space-separated)."""
        for pattern, english in self.counted:
            text = pattern.sub(lambda m, e=english: f" {m.group(1)} {e} ", text)
        if self._inside_re is not None:
            text = _nfc_keep_case(text)
            if self._inside_re.search(text):
                text = self._inside_re.sub(lambda m: f" {self.inside[_nfc(m.group(0))]} ",
                                           text)
        if not (self.exact or self.prefixes):
            return text
        out: list[str] = []
        position = 0
        matches = list(_WORD.finditer(text))
        i = 0
        while i < len(matches):
            match = matches[i]
            replaced = False
            for n in range(min(self.longest, len(matches) - i), 0, -1):
                key = tuple(fold_phrase(m.group(0)) for m in matches[i:i + n])
                if key in self.exact:
                    out.append(text[position:match.start()])
                    out.append(self.exact[key])
                    position = matches[i + n - 1].end()
                    i += n
                    replaced = True
                    break
            if replaced:
                continue
            word = fold_phrase(match.group(0))
            for prefix, english in self.prefixes:
                if word.startswith(prefix):
                    out.append(text[position:match.start()])
                    out.append(english)
                    position = match.end()
                    break
            i += 1
        out.append(text[position:])
        return "".join(out)


_glossaries: dict[int, tuple[Language, Glossary]] = {}


def language_glossary(language: Language) -> Glossary:
    """A language's triage glossary (`words` of its file), built once."""
    cached = _glossaries.get(id(language))
    if cached is None or cached[0] is not language:
        cached = (language, Glossary(language.words))
        _glossaries[id(language)] = cached
    return cached[1]


def gloss(text: str, exonyms: Glossary | None, language: Language | None) -> str:
    """`text` as the English passes read it: exonyms first (so 三藩市 is San Francisco before 三
    is three), then the language's glossary."""
    if exonyms:
        text = exonyms.apply(text)
    if language is not None and language.code != "en":
        glossary = language_glossary(language)
        if glossary:
            text = glossary.apply(text)
    return text
