"""What Hotline says: templates from `config/templates.yaml`, in the reader's language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from hotline.core.config_files import ConfigError, parse_templates

LANGUAGES = ("en", "es")
# every template the code sends (a file without one of them is refused when it is loaded)
REQUIRED = frozenset({
    "ack", "ask_location", "location_thanks", "help", "responder_help", "stopped", "started",
    "rate_limited", "voice_menu", "voice_prompt", "voice_thanks", "consent_thanks",
    "help_coming", "verify_request", "verify_place", "verify_thanks", "eta_thanks", "page",
    "accepted", "claimed_by_other", "declined", "already_closed", "not_alerted",
    "unknown_code", "no_consent", "relay_to_reporter", "relay_to_lawyer", "relay_new_report",
    "all_clear",
    "retraction", "escalation_exhausted",
})


class Templates:
    """Message templates by name and language."""

    def __init__(self, path: Path) -> None:
        data = parse_templates(path)
        missing = sorted(REQUIRED - data.keys())
        if missing:
            raise ConfigError(f"{path}: templates: missing {', '.join(missing)}")
        self._data: dict[str, dict[str, str]] = data

    def text(self, name: str, language: str | None, /, **values: object) -> str:
        """The template in `language` (English when missing), filled with `values`."""
        texts = self._data[name]
        template = texts.get(language or "en") or texts["en"]
        return template.format(**values) if values else template

    def twiml_message(self, name: str, language: str | None) -> str:
        """A TwiML `<Message>` reply with the template (cached: it is on the webhook's path)."""
        return _twiml(self.text(name, language))


@lru_cache(maxsize=256)
def _twiml(text: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
            f"{escape(text)}</Message></Response>")


EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


@lru_cache(maxsize=8)
def load_templates(path: Path) -> Templates:
    """Templates from a file, loaded once per process."""
    return Templates(path)
