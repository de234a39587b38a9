"""The `hotline` command."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from hotline.core.settings import SettingsError

if TYPE_CHECKING:
    from flask import Flask


def _app(**overrides: Any) -> Flask:
    from hotline import create_app

    try:
        return create_app(overrides or None)
    except SettingsError as exc:
        raise click.ClickException(f"setting error: {exc}") from None


@click.group()
@click.version_option(package_name="hotline")
def main() -> None:
    """Hotline: rapid-response alert and hotline backend."""


# -- database -------------------------------------------------------------------------------

@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head); at head, also seal decision notes that
    older versions kept in clear."""
    from datetime import timedelta

    from hotline.core.database import upgrade
    from hotline.core.extensions import db as database
    from hotline.incidents.sealing import seal_plaintext_notes
    from hotline.models import utcnow

    app = _app()
    upgrade(app, revision)
    if revision == "head":
        days = app.config["SETTINGS"].retention_days
        with app.app_context():
            sealed = seal_plaintext_notes(database.session, app.extensions["hotline_vault"],
                                          utcnow() - timedelta(days=days))
        if any(sealed.values()):
            click.echo(f"sealed plaintext notes: {sealed['events']} decisions, "
                       f"{sealed['holds']} holds, {sealed['blocked']} blocked reporters")
    click.echo(f"database at {revision}")


# -- config ---------------------------------------------------------------------------------

@main.group()
def config() -> None:
    """YAML configuration."""


@config.command("load")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
def config_load(path: Path | None) -> None:
    """Load jurisdictions, networks and responders from PATH (default: HOTLINE_CONFIG_DIR)."""
    from hotline.config_loader import ConfigError, load_config
    from hotline.core.extensions import db as database

    app = _app()
    directory = path or app.config["SETTINGS"].config_dir
    with app.app_context():
        try:
            summary = load_config(database.session, app.extensions["hotline_vault"], directory,
                                  app.config["SETTINGS"].default_region)
        except ConfigError as exc:
            database.session.rollback()
            raise click.ClickException(str(exc)) from None
        database.session.commit()
    for line in summary.created:
        click.echo(f"created {line}")
    for line in summary.updated:
        click.echo(f"updated {line}")
    click.echo(f"{len(summary.created)} created, {len(summary.updated)} updated, "
               f"{summary.unchanged} unchanged")


# -- geography ------------------------------------------------------------------------------

@main.group()
def geo() -> None:
    """Geographic data: OpenStreetMap imports."""


@geo.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--jurisdiction", "slug", required=True,
              help="The jurisdiction the extract covers (its slug); replaces its earlier import.")
def geo_import(file: Path, slug: str) -> None:
    """Import streets, corners, addresses, places and neighbourhoods from an OpenStreetMap
    extract (.osm.pbf, .osm, .osm.bz2) for one jurisdiction."""
    import resource

    from hotline.core.extensions import db as database
    from hotline.geodata.osm_import import read_extract, store_features

    app = _app()
    with app.app_context():
        from sqlalchemy import select

        from hotline.models import Jurisdiction

        if database.session.scalar(select(Jurisdiction.id).where(
                Jurisdiction.slug == slug)) is None:
            raise click.ClickException(f"--jurisdiction: no jurisdiction {slug!r} "
                                       "(hotline config load first)")
    click.echo(f"reading {file} ...")
    try:
        features, counts = read_extract(
            file, progress=lambda n: click.echo(f"  {n:,} OSM objects read"))
    except RuntimeError as exc:  # osmium: not a readable extract
        raise click.ClickException(f"{file}: cannot be read as an OpenStreetMap extract: "
                                   f"{exc}") from None
    with app.app_context():
        stored = store_features(database.session, slug, features)
        database.session.commit()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    click.echo(f"{slug}: {counts.line()}")
    click.echo(f"stored {stored} features (replacing the earlier import); peak memory "
               f"{peak:.0f} MB")


# -- users and tokens -----------------------------------------------------------------------

@main.group()
def users() -> None:
    """Dashboard users."""


@users.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(["admin", "dispatcher", "lawyer",
                                                          "viewer"]))
@click.option("--password", help="Prompted for (hidden) when not given.")
@click.option("--jurisdiction", "jurisdictions", multiple=True,
              help="Limit the user to a jurisdiction slug (repeatable; none = all).")
@click.option("--network", "network_slug", help="A lawyer's legal network (slug).")
@click.option("--responder", "responder_key", help="A lawyer's responder key in config.")
@click.option("--ui-language", type=click.Choice(["en", "es"]),
              help="The dashboard's language for this user (default: the browser's).")
def users_create(email: str, role: str, password: str | None,
                 jurisdictions: tuple[str, ...], network_slug: str | None,
                 responder_key: str | None, ui_language: str | None) -> None:
    """Create a dashboard user."""
    from hotline.accounts import users as accounts
    from hotline.core.extensions import db as database

    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    app = _app()
    with app.app_context():
        try:
            user = accounts.create_user(database.session, email, role, password,
                                        list(jurisdictions), network_slug=network_slug,
                                        responder_key=responder_key)
        except accounts.UserError as exc:
            raise click.ClickException(str(exc)) from None
        user.ui_language = ui_language
        database.session.commit()
        click.echo(f"created {user.role} {user.email}")


@main.group()
def tokens() -> None:
    """API tokens."""


@tokens.command("create")
@click.argument("name")
@click.option("--role", default="dispatcher", show_default=True,
              type=click.Choice(["admin", "dispatcher", "lawyer", "viewer"]))
@click.option("--jurisdiction", "jurisdictions", multiple=True,
              help="Limit the token to a jurisdiction slug (repeatable; none = all), "
                   "exactly as a dashboard user is limited.")
@click.option("--network", "network_slug",
              help="A lawyer token's legal network (slug): it reads what that network was "
                   "paged about. Required for --role lawyer.")
def tokens_create(name: str, role: str, jurisdictions: tuple[str, ...],
                  network_slug: str | None) -> None:
    """Create an API token and print it (this is the only time it is shown)."""
    from hotline.accounts import tokens as api_tokens
    from hotline.core.extensions import db as database

    app = _app()
    with app.app_context():
        try:
            row, token = api_tokens.create_token(database.session, name, role,
                                                 list(jurisdictions), network_slug)
        except api_tokens.TokenError as exc:
            raise click.ClickException(str(exc)) from None
        scope = api_tokens.describe_scope(row)
        database.session.commit()
    click.echo(f"created {role} token {name} (scope: {scope})", err=True)
    click.echo(token)


# -- triage ---------------------------------------------------------------------------------

@main.command()
@click.option("--from", "from_number", help="The sender's number (its area code is a hint).")
@click.option("--language", "language_hint", metavar="CODE",
              help="The reporter's remembered language (a configured code such as es, zh or "
                   "zh-Hant), used only to break ties.")
@click.argument("text")
def triage(from_number: str | None, language_hint: str | None, text: str) -> None:
    """Print the triage of one message as JSON; touches nothing."""
    from hotline.core.settings import _config_dir
    from hotline.triage import gazetteer_from_config, triage_text

    try:
        directory = _config_dir(os.environ.get("HOTLINE_CONFIG_DIR"))
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    from hotline.core.config_files import ConfigError
    from hotline.core.languages import load_languages

    try:
        languages = load_languages(directory)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    if language_hint and language_hint.partition("-")[0] not in languages:
        raise click.BadParameter(f"{language_hint!r} is not a configured language "
                                 f"({', '.join(languages.codes)})", param_hint="--language")
    from hotline.geodata.stored import existing_database_url, read_imported

    # the places imported from OpenStreetMap, when a database with an import exists already
    osm = read_imported(existing_database_url())
    result = triage_text(text, gazetteer_from_config(directory, osm), from_number,
                         language_hint, languages=languages)
    click.echo(json.dumps(result.public(), ensure_ascii=False, indent=2))


# -- processes ------------------------------------------------------------------------------

@main.command()
@click.option("--queue", "queues", multiple=True, help="Queue to listen on (repeatable).")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option("--max-jobs", type=click.IntRange(min=1), default=None,
              help="Exit after this many jobs, for a supervisor to start a fresh process.")
def worker(queues: tuple[str, ...], burst: bool, max_jobs: int | None) -> None:
    """Run an RQ worker (with the scheduler and the outbox sweeper)."""
    from workers.start import run_worker

    app = _app()
    if app.config["SETTINGS"].queue_mode != "rq":
        raise click.ClickException("REDIS_URL: required for `hotline worker` (without it, "
                                   "`hotline run` executes jobs in-process)")
    run_worker(app, queues or None, burst=burst, max_jobs=max_jobs)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Run everything in one process: the embedded default (SQLite, in-process jobs)."""
    from hotline.embedded import serve

    serve(_app(), host, port)


@main.command()
def purge() -> None:
    """Delete raw PII older than the retention period (HOTLINE_RETENTION_DAYS): blank it,
    destroy the expired days' data keys, delete the records at Twilio."""
    from hotline.core.extensions import db as database
    from hotline.privacy.retention import TwilioDeletionError, purge_expired

    app = _app()
    with app.app_context():
        settings = app.config["SETTINGS"]
        try:
            counts = purge_expired(database.session, settings.retention_days, settings,
                                   app.extensions["hotline_vault"].keyring)
        except TwilioDeletionError as exc:
            raise click.ClickException(f"{exc}; everything else was purged") from None
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


@main.group()
def keys() -> None:
    """PII encryption keys."""


@keys.command("new")
def keys_new() -> None:
    """Print a new random HOTLINE_PII_KEY."""
    from hotline.core.settings import new_pii_key

    click.echo(new_pii_key())


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt everything with HOTLINE_PII_KEY (old keys in HOTLINE_PII_OLD_KEYS) and
    recompute phone HMACs; safe to run while Hotline serves, and to run again."""
    from hotline.core.extensions import db as database
    from hotline.privacy.keys import rotate

    app = _app()
    with app.app_context():
        report = rotate(database.session, app.extensions["hotline_vault"])
    click.echo(f"{report.rewrapped} data keys re-wrapped, "
               f"{report.reencrypted} re-encrypted, {report.rehashed} re-hashed, "
               f"{report.merged_reporters} reporters merged")
    if report.unreadable:
        raise click.ClickException(
            f"{report.unreadable} value(s) no key opens were left as they were: is a retired "
            "key missing from HOTLINE_PII_OLD_KEYS?")


@main.command("twilio-standin")
@click.option("--port", default=8099, show_default=True, type=int)
@click.option("--deliver/--no-deliver", default=True, show_default=True,
              help="Post signed 'sent' and 'delivered' callbacks for each message.")
def twilio_standin(port: int, deliver: bool) -> None:
    """Run a local stand-in of Twilio's Messages API (for demos without Twilio)."""
    from hotline.devtools.twilio_standin import TwilioStandIn

    app = _app()
    settings = app.config["SETTINGS"]
    server = TwilioStandIn(settings.twilio_account_sid, settings.twilio_auth_token,
                           auto_deliver=deliver).start(port)
    click.echo(f"Twilio stand-in at {server.url}: set TWILIO_API_BASE_URL={server.url} and "
               "TWILIO_FROM_NUMBER=+15555550100 for Hotline")
    try:
        while True:
            time.sleep(5)
            click.echo(f"  {len(server.sent)} message(s) accepted")
    except KeyboardInterrupt:
        server.stop()


@main.command("simulate-sms")
@click.option("--from", "from_number", required=True, help="Sender, e.g. +13125550123.")
@click.option("--to", "to_number", default="+15555550100", show_default=True)
@click.option("--url", default=None, help="Base URL of the running Hotline "
              "(default: HOTLINE_PUBLIC_URL or http://127.0.0.1:5000).")
@click.option("--wait", default=15.0, show_default=True, help="Seconds to wait for the incident.")
@click.option("--whatsapp", is_flag=True, help="As a WhatsApp message (whatsapp:+... on both "
              "sides), the way Twilio delivers WhatsApp to the same webhook.")
@click.argument("text")
def simulate_sms(from_number: str, to_number: str, url: str | None, wait: float,
                 whatsapp: bool, text: str) -> None:
    """Send one SMS (or WhatsApp message) through the real pipeline as a signed Twilio
    webhook."""
    from hotline.simulate import find_incident_for, send_signed_sms

    app = _app()
    settings = app.config["SETTINGS"]
    base = (url or settings.public_url or "http://127.0.0.1:5000").rstrip("/")
    try:
        if whatsapp:
            from_number, to_number = f"whatsapp:{from_number}", f"whatsapp:{to_number}"
        sid, status, reply = send_signed_sms(settings, base, from_number, to_number, text)
    except OSError as exc:
        raise click.ClickException(f"cannot reach Hotline at {base}: {exc}") from None
    click.echo(f"webhook: HTTP {status}")
    click.echo(f"reply: {reply or '(none)'}")
    if status != 200:
        sys.exit(1)
    deadline = time.monotonic() + wait
    with app.app_context():
        while True:
            found = find_incident_for(sid)
            if found is not None or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    if found is None:
        click.echo(f"incident: not yet (message {sid} is stored and queued for triage)")
        return
    click.echo("incident: " + json.dumps(found, ensure_ascii=False))


if __name__ == "__main__":
    main()
