"""Retention holds for backups: a pg_dump and a Redis dump taken before the purge, restored after
it, give up no expired phone number, body, relayed text or note to anyone holding every key the
running system still holds — while what is not expired still decrypts.

Real PostgreSQL (pg_dump / pg_restore of the server's own version), real Redis (RQ carries the
jobs; its keys are DUMPed), the real webhook and worker path for the messages.
"""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy import select, text

from hotline import create_app
from hotline.core.extensions import db
from hotline.incidents import actions
from hotline.models import DataKey, Incident, IncidentEvent, Message, Report, Reporter
from hotline.privacy.datakeys import Ratchet
from hotline.privacy.retention import purge_expired
from hotline.privacy.vault import DecryptionError, Vault
from tests.conftest import PG_ADMIN, base_settings, create_database, drain, drop_database

OLD_PHONE, NEW_PHONE = "+13125550141", "+13125550142"
OLD_BODY = "ICE at the Home Depot on Western and 47th, agents with vests"
NEW_BODY = "migra en la 26 y California ahora mismo"
OLD_NOTE, NEW_NOTE = "called back Ana at 312-555-0141", "second caller on 26th"
OLD_RELAY = "lawyer asked: how many agents?"
DAYS = 30


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _ciphertexts(session: Any) -> dict[str, list[tuple[str, str]]]:  # noqa: ANN401
    """Every PII ciphertext in a database: (context, token) by what it holds."""
    found: dict[str, list[tuple[str, str]]] = {"phone": [], "body": [], "text": [], "note": []}
    for row in session.execute(text("SELECT phone_enc FROM reporters "
                                    "WHERE phone_enc IS NOT NULL")):
        found["phone"].append(("reporter.phone", row[0]))
    for counterpart, body in session.execute(text("SELECT counterpart_enc, body_enc "
                                                  "FROM messages")):
        if counterpart:
            found["phone"].append(("message.counterpart", counterpart))
        if body:
            found["body"].append(("message.body", body))
    for (token,) in session.execute(text("SELECT text_enc FROM reports "
                                         "WHERE text_enc IS NOT NULL")):
        found["text"].append(("report.text", token))
    for kind, data in session.execute(text("SELECT kind, data FROM incident_events")):
        if isinstance(data, dict) and data.get("text_enc"):
            context = "event.relay" if kind.startswith("relay") else "event.note"
            found["note"].append((context, data["text_enc"]))
    return found


def _readable(vault: Vault, found: dict[str, list[tuple[str, str]]]) -> set[str]:
    plain = set()
    for tokens in found.values():
        for context, token in tokens:
            try:
                plain.add(vault.decrypt(token, context))
            except DecryptionError:
                pass
    return plain


@pytest.fixture
def databases():
    made: list[str] = []

    def make(restore_from: Path | None = None) -> str:
        if restore_from is None:
            url = create_database(prefix="hotline_shred")
        else:
            name = f"hotline_restored_{len(made)}_{datetime.now(UTC):%H%M%S%f}"
            with psycopg.connect(_libpq(PG_ADMIN), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            url = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://",
                                                     "postgresql+psycopg://") + f"/{name}"
            subprocess.run(["pg_restore", "--no-owner", "-d", _libpq(url), str(restore_from)],
                           check=True, capture_output=True)
        made.append(url)
        return url

    yield make
    for url in made:
        drop_database(url)


def test_a_backup_from_before_the_purge_decrypts_nothing_expired(
        databases, redis_url, tmp_path, twilio):
    now = datetime.now(UTC)
    old = now - timedelta(days=DAYS + 5)
    ratchet_file = tmp_path / "keys" / "pii-ratchet.json"
    Ratchet(ratchet_file).state(today=old.date() - timedelta(days=5))  # a ratchet in service
    # the worker's own daily purge keeps everything here (the "old" rows are only made old
    # below); the purge under test is the explicit one with DAYS
    settings = base_settings(DATABASE_URL=databases(), REDIS_URL=redis_url,
                             HOTLINE_PII_RATCHET=str(ratchet_file),
                             HOTLINE_RETENTION_DAYS="3650")
    app = create_app(settings)
    vault: Vault = app.extensions["hotline_vault"]
    keyring = vault.keyring
    client = app.test_client()

    # 35 days ago: a report, its auto-reply, a dispatcher's note and a relayed text
    keyring.clock = lambda: old
    twilio.post_sms(client, OLD_BODY, from_number=OLD_PHONE)
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        actions.apply_action(db.session, incident, {"action": "note", "note": OLD_NOTE},
                             "user:1")
        db.session.add(IncidentEvent(incident_id=incident.id, kind="relay_to_lawyer",
                                     actor="reporter",
                                     data={"text_enc": vault.encrypt(OLD_RELAY, "event.relay")}))
        db.session.commit()
        stamp = old.replace(tzinfo=None)
        for statement in ("UPDATE messages SET received_at = :t",
                          "UPDATE reports SET created_at = :t",
                          "UPDATE reporters SET last_seen_at = :t",
                          "UPDATE incident_events SET at = :t"):
            db.session.execute(text(statement), {"t": stamp})
        db.session.commit()
    # today: another person, another report and note
    keyring.clock = lambda: datetime.now(UTC)
    twilio.post_sms(client, NEW_BODY, from_number=NEW_PHONE)
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident).order_by(Incident.id.desc()))
        actions.apply_action(db.session, incident, {"action": "note", "note": NEW_NOTE},
                             "user:1")
        db.session.commit()
        before = _ciphertexts(db.session)
        assert {t.split(".")[0] for tokens in before.values() for _, t in tokens} == {"v2"}
        assert {OLD_PHONE, OLD_BODY, OLD_NOTE, OLD_RELAY, NEW_PHONE, NEW_BODY, NEW_NOTE} <= \
            _readable(vault, before)

    # the backups, taken before the purge
    dump = tmp_path / "before.dump"
    subprocess.run(["pg_dump", "-Fc", "-f", str(dump), _libpq(settings["DATABASE_URL"])],
                   check=True, capture_output=True)
    store = redis.Redis.from_url(redis_url)
    redis_dump = b"".join(key + (store.dump(key) or b"") for key in store.scan_iter())
    assert redis_dump, "RQ kept its jobs and queues in Redis"

    with app.app_context():
        counts = purge_expired(db.session, DAYS, app.config["SETTINGS"], keyring)
        assert counts["data_keys"] >= 1 and counts["event_texts"] == 2
        left = {p for p in db.session.scalars(select(DataKey.period))}
        assert min(left) >= f"{(now - timedelta(days=DAYS)):%Y%m%d}"

    # the old backup, restored into a fresh database, read with every key still held
    restored = databases(restore_from=dump)
    later = create_app({**settings, "DATABASE_URL": restored})
    fresh: Vault = later.extensions["hotline_vault"]
    with later.app_context():
        found = _ciphertexts(db.session)
        assert db.session.scalar(select(DataKey.period).where(
            DataKey.period == f"{old:%Y%m%d}")) is not None  # the dump holds the old key...
        for vault_now in (fresh, vault):  # ...a new process, and the one that purged
            readable = _readable(vault_now, found)
            assert not readable & {OLD_PHONE, OLD_BODY, OLD_NOTE, OLD_RELAY}
            assert {NEW_PHONE, NEW_BODY, NEW_NOTE} <= readable
        # the old rows are really there, sealed: only their keys are gone
        assert len(found["phone"]) >= 3 and len(found["note"]) == 3
        assert not any(re.search(p, token) for tokens in found.values()
                       for _, token in tokens for p in ("5550141", "Western"))
        report = db.session.scalar(select(Report).order_by(Report.id))
        with pytest.raises(DecryptionError):
            fresh.decrypt(report.text_enc, "report.text")
        assert db.session.scalar(select(Reporter.id).where(
            Reporter.phone_hmac == fresh.phone_hmac(NEW_PHONE))) is not None
        assert db.session.query(Message).count() >= 4
    # Redis held no plaintext and no ciphertext of either day
    for secret in (OLD_PHONE, OLD_BODY, NEW_PHONE, NEW_BODY, "5550141", "Western"):
        assert secret.encode() not in redis_dump
    assert not re.search(rb"v[12]\.[0-9a-f]{8}\.", redis_dump)
    for application in (app, later):
        db.state(application).engine.dispose()
