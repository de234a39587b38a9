"""The language catalogue: every file in config/languages/ complete, consistent and short enough.

Runs over every `config/languages/<code>.yaml` on disk (configured or not yet), so a translation
is checked before it is switched on.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.core.config_files import read_yaml
from hotline.core.config_schema import LanguageFile, validate_file
from hotline.core.languages import KEYWORD_KINDS, fold_phrase, load_languages, placeholders
from hotline.messaging.segments import encoding, length, segments
from hotline.messaging.templates import MAX_ACK_SEGMENTS, REPORTER_FACING, REQUIRED, Templates

CONFIG = Path(__file__).resolve().parent.parent / "config"
FILES = sorted((CONFIG / "languages").glob("*.yaml"))
CODES = [f.stem for f in FILES]
# what the triage glossary may turn words into: the English words triage reads
GLOSS = frozenset("""
    ice immigration agents agent police officers border patrol van vans car cars truck trucks suv
    suvs unmarked vests masks plain clothes guns raid arrested arresting detained checkpoint
    knocking waiting parked watching asking for papers right now today and corner street
    avenue at near in one two three four five six seven eight nine ten school church store court
    home depot people
    here there outside front of i see saw we my door house work husband wife son daughter
    brother sister mom dad neighbor friend took taken
    a warrant open the remain silent
""".split())  # the last line: the rights words triage.questions reads (RIGHTS)
REQUIRED_CODES = {"en", "es", "zh", "ht", "vi", "ko", "tl", "ar", "fr", "ru", "pt", "bn", "pl"}


def _file(code: str) -> LanguageFile:
    path = CONFIG / "languages" / f"{code}.yaml"
    return validate_file(LanguageFile, path, read_yaml(path))


def _texts(code: str) -> dict[str, dict[str, str]]:
    """tag -> template name -> text, the script variants included."""
    parsed = _file(code)
    out = {code: dict(parsed.templates)}
    for script, variant in parsed.variants.items():
        out[f"{code}-{script}"] = dict(variant.templates)
    return out


ENGLISH = _file("en").templates


def test_the_catalogue_loads_and_every_required_language_is_configured() -> None:
    languages = load_languages.__wrapped__(CONFIG)
    Templates(languages)
    assert REQUIRED_CODES <= set(languages.codes)
    for code in languages.codes:
        assert (CONFIG / "languages" / f"{code}.yaml").exists()


@pytest.mark.parametrize("code", CODES)
def test_every_template_exists_with_the_same_placeholders(code: str) -> None:
    for tag, texts in _texts(code).items():
        missing = sorted(REQUIRED - texts.keys())
        assert not missing, f"{tag}: missing {missing}"
        extra = sorted(texts.keys() - ENGLISH.keys())
        assert not extra, f"{tag}: templates English does not have: {extra}"
        for name, text in texts.items():
            assert placeholders(text) == placeholders(ENGLISH[name]), (tag, name, text)
            assert text.strip() == text and "  " not in text, (tag, name)


@pytest.mark.parametrize("code", CODES)
def test_what_reporters_read_is_short(code: str) -> None:
    for tag, texts in _texts(code).items():
        assert segments(texts["ack"]) <= MAX_ACK_SEGMENTS, (
            tag, encoding(texts["ack"]), length(texts["ack"]))
        for name in REPORTER_FACING:
            assert segments(texts[name]) <= 3, (tag, name, encoding(texts[name]),
                                                length(texts[name]))
        assert len(texts["language_choice"]) <= 60, tag  # joined with two others and a list


@pytest.mark.parametrize("code", CODES)
def test_reporter_texts_keep_stop_and_the_language_s_own_yes(code: str) -> None:
    parsed = _file(code)
    consent = {fold_phrase(w) for w in parsed.keywords.consent}
    for tag, texts in _texts(code).items():
        assert "STOP" in texts["ack"] and "STOP" in texts["rights"], tag
        # the ack asks for consent with a word the keyword list knows
        asked = set(fold_phrase(texts["ack"]).split())
        assert asked & consent, (tag, "the ack's yes word is not a consent keyword")
    for kind in KEYWORD_KINDS:
        assert getattr(parsed.keywords, kind) or kind == "start", (code, kind)
    assert parsed.names, code


@pytest.mark.parametrize("code", CODES)
def test_the_glossary_turns_words_into_english_triage_reads(code: str) -> None:
    for phrase, english in _file(code).words.items():
        assert set(english.split()) <= GLOSS, (code, phrase, english)


@pytest.mark.parametrize("code", CODES)
def test_every_translation_has_a_back_translation_for_reviewers(code: str) -> None:
    if code == "en":
        return
    review = CONFIG / "languages" / f"{code}.review.md"
    assert review.exists(), f"{review.name} is missing"
    text = review.read_text(encoding="utf-8").lower()
    assert "back-translation" in text or "back translation" in text
    for name in REQUIRED:
        assert name in text, (code, f"no review of {name}")


def test_keywords_never_mean_two_things() -> None:
    """A whole message is one keyword kind whatever language it is read in."""
    kinds: dict[str, tuple[str, str]] = {}
    for code in CODES:
        parsed = _file(code)
        for kind in KEYWORD_KINDS:
            for phrase in getattr(parsed.keywords, kind):
                key = fold_phrase(phrase)
                if key in kinds and kinds[key][0] != kind:
                    pytest.fail(f"{phrase!r}: {kind} in {code}, {kinds[key][0]} in "
                                f"{kinds[key][1]}")
                kinds.setdefault(key, (kind, code))
        for name in parsed.names:
            assert fold_phrase(name) not in kinds, (code, name, "is also a keyword")


def test_segment_counting_follows_gsm_and_ucs2() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("é" * 160) == 1  # é is GSM-7
    assert encoding("á") == "UCS-2" and segments("á" * 70) == 1 and segments("á" * 71) == 2
    assert segments("中" * 201) == 3 and segments("中" * 202) == 4
    assert length("€") == 2 and length("😀") == 2
