"""The languages Hotline speaks: `config/languages.yaml` (which, in what order) and one
`config/languages/<code>.yaml` per language (its names, voice, keywords, triage glossary and
every text Hotline sends).

Loaded once per process and config directory; triage, intake, messaging and the voice webhooks
all read the same `Languages`. Nothing here touches the database.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from hotline.core.config_files import read_yaml
from hotline.core.config_schema import (
    ConfigError,
    LanguageFile,
    LanguagesFile,
    TemplatesFile,
    validate_file,
)

__all__ = ["AWAY_KINDS", "KEYWORD_KINDS", "Language", "Languages", "fold_phrase", "load_languages",
           "placeholders"]

KEYWORD_KINDS = ("stop", "start", "help", "rights", "consent")
AWAY_KINDS = ("away_off", "away_on", "away_status")  # a responder's OFF, ON and STATUS
_FORMATTER = string.Formatter()


def fold_phrase(text: str) -> str:
    """A whole message as keywords and language names are matched: lower case, accents and
    punctuation and emoji dropped, letters of every script and digits kept, spaces squeezed."""
    lowered = text.lower()
    if lowered.isascii():
        kept = re.sub(r"[^a-z0-9 ]", " ", lowered.replace("'", "").replace("`", ""))
        return " ".join(kept.split())
    decomposed = unicodedata.normalize("NFKD", lowered)
    out = []
    for char in decomposed:
        category = unicodedata.category(char)
        if category == "Mn" and _is_latin_mark(char):
            continue  # an accent on a Latin letter: "sí" is "si"
        if char in _APOSTROPHES or category == "Cf":
            continue  # "d'accord" is "daccord"; a zero-width space hides nothing ("S\u200bTOP")
        if category[0] in "LMN":
            out.append(char)
        elif char.isspace() or category[0] in "PSZC":
            out.append(" ")
    return " ".join(unicodedata.normalize("NFC", "".join(out)).split())


_APOSTROPHES = frozenset("'`\u2018\u2019\u02bc\u00b4")


def _is_latin_mark(char: str) -> bool:
    # combining diacritics (U+0300..U+036F) are the accents of Latin (and Vietnamese) letters;
    # the vowel signs of Bengali or the harakat of Arabic are other blocks: Arabic harakat are
    # dropped too (people rarely write them), Indic and Ethiopic marks are kept (they spell)
    code = ord(char)
    return 0x0300 <= code <= 0x036F or 0x064B <= code <= 0x065F or code == 0x0670


def placeholders(text: str) -> set[str]:
    """The {names} a template is filled with."""
    return {name for _, name, _, _ in _FORMATTER.parse(text) if name}


@dataclass(frozen=True)
class Language:
    """One configured language."""

    code: str
    name: str
    english: str
    names: tuple[str, ...]
    say: str | None
    voice: str | None
    transcription: str | None
    prompt_url: dict[str, str]
    keywords: dict[str, tuple[str, ...]]
    words: dict[str, str]
    templates: dict[str, str]
    variants: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    variant_names: dict[str, tuple[str, ...]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    markers: tuple[str, ...] = ()
    weekdays: tuple[str, ...] = ()

    def when(self, moment: datetime) -> str:
        """A weekday and a 24-hour time as the language writes them ("lunes 08:00"): the
        language file's weekdays when it has them, else CLDR's (Babel), else English."""
        clock = moment.strftime("%H:%M")
        if self.weekdays:
            return f"{self.weekdays[moment.weekday()]} {clock}"
        from babel import Locale, UnknownLocaleError  # noqa: PLC0415 - only calls need it
        try:
            names = Locale.parse(self.code).days["format"]["wide"]
        except (UnknownLocaleError, ValueError):
            return moment.strftime("%A %H:%M")
        return f"{names[moment.weekday()]} {clock}"

    def tag_name(self, tag: str) -> str:
        """The name of this language or of one of its script variants ("zh-Hant")."""
        script = tag.partition("-")[2]
        return self.variants[script][0] if script in self.variants else self.name


class Languages:
    """The configured languages and what is derived from them (keyword and name lookups)."""

    def __init__(self, languages: Iterable[Language], fallback: Iterable[str],
                 directory: Path | None = None) -> None:
        self.directory = directory
        self.by_code: dict[str, Language] = {lang.code: lang for lang in languages}
        self.codes: tuple[str, ...] = tuple(self.by_code)
        self.fallback: tuple[str, ...] = tuple(fallback)
        # folded whole message -> (kind, language); a phrase two languages share says no language
        self._keywords: dict[str, tuple[str, str | None]] = {}
        for lang in self.by_code.values():
            for kind in KEYWORD_KINDS:
                for phrase in lang.keywords.get(kind, ()):
                    key = fold_phrase(phrase)
                    seen = self._keywords.get(key)
                    if seen is None:
                        self._keywords[key] = (kind, lang.code)
                    elif seen[0] == kind and seen[1] != lang.code:
                        self._keywords[key] = (kind, None)
        # a responder's OFF / ON / STATUS words of every language (folded) -> kind
        self.away_words: dict[str, str] = {
            fold_phrase(phrase): kind for lang in self.by_code.values()
            for kind in AWAY_KINDS for phrase in lang.keywords.get(kind, ())}
        self._names: dict[str, str] = {}
        for lang in self.by_code.values():
            for phrase in (lang.name, lang.english, *lang.names,
                           *(name for name, _ in lang.variants.values())):
                self._names.setdefault(fold_phrase(phrase), lang.code)
        for lang in self.by_code.values():
            for script, (name, _) in lang.variants.items():
                for phrase in (name, *lang.variant_names.get(script, ())):
                    self._names[fold_phrase(phrase)] = f"{lang.code}-{script}"

    def __contains__(self, tag: object) -> bool:
        return isinstance(tag, str) and tag.partition("-")[0] in self.by_code

    def __getitem__(self, code: str) -> Language:
        return self.by_code[code.partition("-")[0]]

    def keyword(self, body: str | None) -> tuple[str, str | None] | None:
        """(kind, language or None) when the whole message is a keyword of some language."""
        if not body:
            return None
        key = fold_phrase(body)
        if not key or len(key) > 40:
            return None
        return self._keywords.get(key)

    def named(self, body: str | None) -> str | None:
        """The language (or script variant) a whole message names: "Kreyòl", "中文", "한국어"."""
        if not body or len(body) > 40:
            return None
        return self._names.get(fold_phrase(body))

    def name(self, tag: str | None) -> str:
        """What a language calls itself ("Tiếng Việt"); the tag itself when not configured."""
        if not tag:
            return ""
        code = tag.partition("-")[0]
        return self.by_code[code].tag_name(tag) if code in self.by_code else tag

    def english_name(self, tag: str | None) -> str:
        """The language's English name, for dispatchers ("Vietnamese")."""
        if not tag:
            return ""
        code = tag.partition("-")[0]
        return self.by_code[code].english if code in self.by_code else tag

    def templates(self) -> dict[str, dict[str, str]]:
        """Template name -> language tag -> text, script variants as "zh-Hant"."""
        out: dict[str, dict[str, str]] = {}
        for lang in self.by_code.values():
            for name, text in lang.templates.items():
                out.setdefault(name, {})[lang.code] = text
            for script, (_, texts) in lang.variants.items():
                for name, text in texts.items():
                    out.setdefault(name, {})[f"{lang.code}-{script}"] = text
        return out

    def file_of(self, tag: str) -> str:
        """The file a language's texts are in (for error messages)."""
        name = f"languages/{tag.partition('-')[0]}.yaml"
        return str(self.directory / name) if self.directory else name

    def offered(self, preferred: Iterable[str] = ()) -> list[str]:
        """A jurisdiction's languages first (in its order), then the others configured."""
        first = [code for code in preferred if code in self.by_code]
        return first + [code for code in self.codes if code not in first]


def _language(file: Path) -> Language:
    parsed = validate_file(LanguageFile, file, read_yaml(file))
    if parsed.code != file.stem:
        raise ConfigError(f"{file}: code: {parsed.code!r} does not match the file name")
    return Language(
        code=parsed.code, name=parsed.name, english=parsed.english, names=tuple(parsed.names),
        say=parsed.voice.say, voice=parsed.voice.voice,
        transcription=parsed.voice.transcription, prompt_url=dict(parsed.voice.prompt_url),
        keywords={kind: tuple(getattr(parsed.keywords, kind))
                  for kind in (*KEYWORD_KINDS, "alerts", "alerts_off", *AWAY_KINDS, "asks")},
        words=dict(parsed.words),  # as written: triage.gloss normalises by script
        templates=dict(parsed.templates),
        variants={script: (v.name, dict(v.templates)) for script, v in parsed.variants.items()},
        variant_names={script: tuple(v.names) for script, v in parsed.variants.items()},
        labels=dict(parsed.labels), markers=tuple(fold_phrase(m) for m in parsed.markers),
        weekdays=tuple(parsed.weekdays or ()))


@lru_cache(maxsize=8)
def load_languages(config_dir: Path) -> Languages:
    """The languages of a config directory, loaded once per process.

    `templates.yaml`, when present, overrides single texts (name -> language -> text)."""
    index = config_dir / "languages.yaml"
    parsed = validate_file(LanguagesFile, index, read_yaml(index))
    languages = []
    for code in parsed.languages:
        file = config_dir / "languages" / f"{code}.yaml"
        if not file.exists():
            raise ConfigError(f"{index}: languages: no file {file.relative_to(config_dir)} "
                              f"for {code!r}")
        languages.append(_language(file))
    overrides = config_dir / "templates.yaml"
    if overrides.exists():
        extra = validate_file(TemplatesFile, overrides, read_yaml(overrides))
        by_code = {lang.code: lang for lang in languages}
        for name, texts in extra.templates.items():
            for tag, text in texts.items():
                code, _, script = tag.partition("-")
                if code not in by_code:
                    raise ConfigError(f"{overrides}: templates.{name}.{tag}: {code!r} is not "
                                      "a configured language")
                target = (by_code[code].variants[script][1] if script in by_code[code].variants
                          else by_code[code].templates)
                target[name] = text
    return Languages(languages, parsed.fallback, config_dir)
