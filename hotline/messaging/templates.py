"""What Hotline says: every template in every configured language (`config/languages/`), chosen
by the reader's language tag ("es", "zh-Hant")."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from hotline.core.config_files import ConfigError
from hotline.core.languages import Languages, load_languages, placeholders
from hotline.messaging.segments import segments

# every template the code sends (a language without one of them is refused when it is loaded)
REQUIRED = frozenset({
    "ack", "ask_location", "location_thanks", "language_choice", "language_set", "rights",
    "help", "responder_help", "stopped", "started", "rate_limited", "voice_menu",
    "voice_prompt", "voice_thanks", "voice_connecting", "voice_missed", "voice_closed",
    "voice_check", "voice_screen", "voice_screen_taken", "consent_thanks", "help_coming",
    "verify_request",
    "verify_place", "verify_thanks", "eta_thanks", "page", "accepted", "claimed_by_other",
    "declined", "already_closed", "not_alerted", "unknown_code", "no_consent",
    "relay_to_reporter", "relay_to_lawyer", "relay_new_report", "all_clear", "retraction",
    "escalation_exhausted", "verify_not_needed", "merged_notice", "rumour_none",
    "rumour_verified", "away_off_until", "away_off_open", "away_back", "away_status_on",
    "away_status_off_until", "away_status_off_open", "away_cover_lawyer", "away_cover_nobody",
    "away_cover_verifiers", "dispatcher_to_responder", "dispatcher_to_reporter",
})
# what reporters read (the rest goes to responders): each at most this many segments
REPORTER_FACING = ("ack", "ask_location", "location_thanks", "language_choice", "language_set",
                   "rights", "help", "stopped", "started", "rate_limited", "consent_thanks",
                   "help_coming", "all_clear", "retraction", "rumour_none", "rumour_verified")
MAX_ACK_SEGMENTS = 3


class Templates:
    """Message templates by name and language tag."""

    def __init__(self, languages: Languages) -> None:
        data = languages.templates()
        for name in sorted(REQUIRED):
            texts = data.get(name, {})
            if "en" not in texts:
                raise ConfigError(f"{languages.file_of('en')}: templates: missing {name}")
            wanted = placeholders(texts["en"])
            for tag in (*languages.codes, *texts):
                text = texts.get(tag)
                if text is None:
                    raise ConfigError(f"{languages.file_of(tag)}: templates: missing {name} "
                                      "(every language needs every text)")
                if placeholders(text) != wanted:
                    raise ConfigError(
                        f"{languages.file_of(tag)}: templates.{name}: placeholders "
                        f"{sorted(placeholders(text))} ({tag}) differ from English's "
                        f"{sorted(wanted)}")
        self.languages = languages
        self._data: dict[str, dict[str, str]] = data

    def has(self, name: str, language: str) -> bool:
        return language in self._data.get(name, {})

    def text(self, name: str, language: str | None, /, **values: object) -> str:
        """The template in `language` (its base language for a script it lacks, English for a
        language not configured), filled with `values`."""
        texts = self._data[name]
        tag = language or "en"
        template = texts.get(tag) or texts.get(tag.partition("-")[0]) or texts["en"]
        return template.format(**values) if values else template

    def language_choice(self, offered: list[str]) -> str:
        """The answer to a first message whose language is unclear: "we got your message, reply
        with your language" in the fallback languages, then the names of the languages offered
        (in their own words), as many as fit in three segments."""
        head = " / ".join(self.text("language_choice", code)
                          for code in self.languages.fallback)
        names: list[str] = []
        for code in offered:
            candidate = f"{head} {', '.join([*names, self.languages.name(code)])}"
            if segments(candidate) > MAX_ACK_SEGMENTS:
                break
            names.append(self.languages.name(code))
        return f"{head} {', '.join(names)}"

    def twiml_message(self, name: str, language: str | None) -> str:
        """A TwiML `<Message>` reply with the template (cached: it is on the webhook's path)."""
        return _twiml(self.text(name, language))


def twiml_text(text: str) -> str:
    """A TwiML `<Message>` reply with any text."""
    return _twiml(text)


@lru_cache(maxsize=512)
def _twiml(text: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
            f"{escape(text)}</Message></Response>")


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@lru_cache(maxsize=8)
def load_templates(config_dir: Path) -> Templates:
    """The templates of a config directory, loaded once per process."""
    return Templates(load_languages(config_dir))
