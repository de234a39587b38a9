"""Hotline: rapid-response alert and hotline backend for immigrant-rights networks."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from hotline.privacy.datakeys import Keyring


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment (and `.env`), with `config` overriding both.

    Raises `hotline.core.settings.SettingsError`, naming the setting, when one is missing or wrong.
    """
    from flask import Flask
    from twilio.request_validator import RequestValidator
    from werkzeug.middleware.proxy_fix import ProxyFix

    from hotline.core import logs
    from hotline.core.extensions import db
    from hotline.core.sessions import CookieSessions
    from hotline.core.settings import load_settings
    from hotline.jobs import backends
    from hotline.privacy.datakeys import Keyring, Ratchet
    from hotline.privacy.vault import Vault

    config = dict(config or {})
    dotenv = config.pop("DOTENV_PATH", ".env")
    settings = load_settings(config, dotenv_path=dotenv)
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.session_interface = CookieSessions()
    app.config.update(
        SETTINGS=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # the embedded default serves plain http on 127.0.0.1; everything else is https
        SESSION_COOKIE_SECURE=not settings.embedded,
        SESSION_COOKIE_NAME="__Host-hotline" if not settings.embedded else "hotline",
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        MAX_CONTENT_LENGTH=1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.config.update(settings.dashboard)
    app.config.update({k: v for k, v in settings.extra.items()
                       if k.isupper() and k not in settings.dashboard})
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1,  # type: ignore
                                x_port=1, x_prefix=1)
    logs.configure(settings.log_level)

    db.init_app(app)
    backends.init_app(app)
    keyring = Keyring(db.state(app).engine, (settings.pii_key, *settings.pii_old_keys),
                      Ratchet(settings.pii_ratchet))
    app.extensions["hotline_vault"] = Vault(settings.pii_key, settings.pii_old_keys, keyring)
    _prepare_data_keys(keyring)
    app.extensions["hotline_twilio_validator"] = RequestValidator(settings.twilio_auth_token)

    from hotline import api, dashboard, health, webhooks
    from hotline.core import headers, inputs, metrics
    from hotline.routing import receivers

    receivers.connect()  # routing hears verified incidents and delivery outcomes
    app.url_map.converters["int"] = inputs.RowId  # before any route is bound
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(dashboard.bp)
    dashboard.i18n.init_app(app)
    metrics.init_app(app)
    headers.init_app(app)
    inputs.init_app(app)
    return app


def _prepare_data_keys(keyring: Keyring) -> None:
    """Make the coming days' data keys before any request (none yet before `db upgrade`)."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        keyring.prepare()
    except SQLAlchemyError:
        logging.getLogger(__name__).debug("no data keys prepared (database not migrated yet?)")
    except OSError:  # the ratchet is missing or unreadable: serve anyway, sealing under the key
        logging.getLogger(__name__).error("no data keys prepared: the PII ratchet cannot be "
                                          "used", exc_info=True)
