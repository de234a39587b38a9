"""The dashboard's own words in English and Spanish: Flask-Babel message catalogues
(`translations/<locale>/LC_MESSAGES/messages.po`, compiled to `.mo` by `scripts/translations.sh`),
chosen per user (`users.ui_language`, set with the header's language switch), else by the
browser's Accept-Language, else English. What Hotline texts people is not here: that is
`config/languages/` in sixteen languages."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request
from flask_babel import Babel, get_locale, gettext

from hotline.dashboard.filters import status_label

UI_LANGUAGES = {"en": "English", "es": "Español"}  # locale -> its name, in itself
DEFAULT = "en"
TRANSLATIONS = Path(__file__).with_name("translations")


def select_locale() -> str:
    """The logged-in user's language, else the browser's best match, else English."""
    user = g.get("user")
    chosen = getattr(user, "ui_language", None)
    if chosen in UI_LANGUAGES:
        return chosen
    if request:
        return request.accept_languages.best_match(list(UI_LANGUAGES)) or DEFAULT
    return DEFAULT


def current() -> str:
    """The locale of this request ("en", "es")."""
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT


# values of a refusal that are themselves words to translate: an incident's status, a reason
_STATUS_PARAMS = ("status", "old", "new")


def refused(error: BaseException) -> str:
    """A refusal from outside the dashboard (an action, an override, a dispatcher's text, an
    account) in the dashboard's language: its English template looked up in the catalogue and
    filled with the same values; anything else as it reads."""
    template = getattr(error, "template", None)
    if not isinstance(template, str):
        return str(error)
    params = dict(getattr(error, "params", {}))
    for name in _STATUS_PARAMS:
        if isinstance(params.get(name), str):
            params[name] = status_label(params[name])
    if isinstance(params.get("why"), str):
        params["why"] = gettext(params["why"])
    return gettext(template, **params) if params else gettext(template)


def init_app(app: Flask) -> None:
    """Flask-Babel with the dashboard's catalogues; templates get `_`, `ngettext`,
    `{% trans %}` (new-style: variables are escaped) and `ui_language`."""
    Babel(app, locale_selector=select_locale, default_translation_directories=str(TRANSLATIONS))

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"ui_languages": UI_LANGUAGES, "ui_language": current}
