"""Keywords: a whole message that is STOP, START, HELP, RIGHTS or YES in some configured language
(`keywords:` of `config/languages/<code>.yaml`), or the name of a language ("Kreyòl", "中文").

Matching is on the whole message, folded: case, accents, punctuation and emoji do not count,
digits do (so "YES 2345", a verifier's answer about incident 2345, is not the keyword YES).
When Twilio's Advanced Opt-Out recognised the message it says so in `OptOutType` (STOP, START or
HELP), and that wins.
"""

from __future__ import annotations

from hotline.core.languages import Languages
from hotline.triage.language import default_languages, script_tag

# Twilio's OptOutType values -> the keyword
OPT_OUT_TYPES = {"STOP": "stop", "START": "start", "HELP": "help"}


def _languages(languages: Languages | None) -> Languages:
    return languages or default_languages()


def keyword_of(body: str | None, languages: Languages | None = None,
               opt_out_type: str | None = None) -> str | None:
    """`stop`, `start`, `help`, `rights` or `consent` when the whole message is one, else None."""
    if opt_out_type and opt_out_type.strip().upper() in OPT_OUT_TYPES:
        return OPT_OUT_TYPES[opt_out_type.strip().upper()]
    found = _languages(languages).keyword(body)
    return found[0] if found else None


def keyword_language(body: str | None, languages: Languages | None = None) -> str | None:
    """The language a keyword is in (AYUDA is Spanish, 帮助 Chinese); None for English's, which
    carriers and Twilio make everyone's (STOP, HELP), and for words languages share."""
    languages = _languages(languages)
    found = languages.keyword(body)
    if not found or found[1] is None or found[1] == "en":
        return None
    return script_tag(found[1], body or "", languages)  # 幫助 is answered in Traditional


def language_named(body: str | None, languages: Languages | None = None) -> str | None:
    """The language tag a whole message names ("Português" -> pt, "中文（繁體）" -> zh-Hant)."""
    languages = _languages(languages)
    tag = languages.named(body)
    if tag is not None and "-" not in tag:
        tag = script_tag(tag, body or "", languages)  # 國語, 廣東話: Traditional
    return tag
