"""`hotline run`: the whole system in one process on SQLite, for trying Hotline out."""

from __future__ import annotations

import json
import logging
import secrets

import click
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from hotline.accounts.users import create_user
from hotline.config_loader import load_config
from hotline.core.database import upgrade
from hotline.core.extensions import db
from hotline.jobs import inline, outbox
from hotline.models import Jurisdiction, User

logger = logging.getLogger(__name__)
DEMO_USER = "dispatcher@hotline.local"


def prepare(app: Flask) -> str | None:
    """Migrate, load the demo config on first start, make the demo dispatcher.

    Returns the demo dispatcher's password when it is known (kept in the instance folder).
    """
    settings = app.config["SETTINGS"]
    upgrade(app)
    secrets_file = settings.instance_path / "secrets.json"
    stored = json.loads(secrets_file.read_text()) if secrets_file.exists() else {}
    with app.app_context():
        if not db.session.scalar(select(func.count(Jurisdiction.id))):
            summary = load_config(db.session, app.extensions["hotline_vault"],
                                  settings.config_dir, settings.default_region)
            logger.info("loaded demo config: %d records", len(summary.created))
        if db.session.scalar(select(User.id).where(User.email == DEMO_USER)) is None:
            password = secrets.token_urlsafe(12)
            create_user(db.session, DEMO_USER, "dispatcher", password)
            if settings.embedded and secrets_file.exists():
                stored["DEMO_DISPATCHER_PASSWORD"] = password
                secrets_file.write_text(json.dumps(stored, indent=2))
            db.session.commit()
            return password
        db.session.commit()
    return stored.get("DEMO_DISPATCHER_PASSWORD")


def serve(app: Flask, host: str, port: int) -> None:
    """Prepare, start the in-process job runner, and serve until interrupted."""
    password = prepare(app)
    backend = outbox.backend_of(app)
    in_process = isinstance(backend, inline.InlineBackend)
    if in_process:
        backend.start()
    server = make_server(host, port, app, threaded=True)
    url = f"http://{host}:{server.port}/"
    click.echo(f"Hotline is running at {url}")
    click.echo(f"  log in as {DEMO_USER} with password "
               f"{password or '(set earlier; see hotline users create)'}")
    click.echo("  jobs: " + ("in-process worker thread" if in_process
                             else "RQ (run `hotline worker` too)"))
    click.echo(f'  try:  hotline simulate-sms --url http://{host}:{server.port} '
               '--from +13125550123 "ICE at the Home Depot on Western and 47th"')
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if isinstance(backend, inline.InlineBackend):
            backend.stop()
