"""What Hotline says: templates from `config/templates.yaml`, in the reader's language."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from hotline.core.config_files import ConfigError, read_yaml

LANGUAGES = ("en", "es")


class Templates:
    """Message templates by name and language."""

    def __init__(self, path: Path) -> None:
        data = read_yaml(path).get("templates")
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: templates: must be a mapping")
        for name, texts in data.items():
            if not isinstance(texts, dict) or "en" not in texts:
                raise ConfigError(f"{path}: templates.{name}: needs at least an `en` text")
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
