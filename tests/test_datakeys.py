"""Day data keys and the PII ratchet (privacy.datakeys): one-way, shared by every process,
made once under concurrency, re-wrapped by rotation, and never a reason to lose a value."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from hotline.core.extensions import db, make_engine
from hotline.core.settings import new_pii_key
from hotline.models import DataKey
from hotline.privacy.datakeys import Keyring, Ratchet, period_of
from hotline.privacy.vault import DecryptionError, Vault
from tests.conftest import create_database, drop_database

KEY = new_pii_key()
TODAY = datetime.now(UTC).date()


def _key(raw: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(raw)  # new_pii_key's alphabet


def test_the_ratchet_only_goes_forward(tmp_path):
    ratchet = Ratchet(tmp_path / "r.json")
    ratchet.state(today=date(2026, 1, 1))
    steps = {d: ratchet.step(date(2026, 1, d)) for d in (1, 2, 10)}
    assert len(set(steps.values())) == 3
    assert ratchet.advance(date(2026, 1, 2))
    assert ratchet.step(date(2026, 1, 1)) is None  # forgotten
    # later days are the same as before: their keys still unwrap
    assert ratchet.step(date(2026, 1, 2)) == steps[2] and ratchet.step(date(2026, 1, 10)) == \
        steps[10]
    assert not ratchet.advance(date(2026, 1, 1))  # never backwards
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o600
    # another process reading the file sees the same chain, and no more of it
    other = Ratchet(tmp_path / "r.json")
    assert other.step(date(2026, 1, 10)) == steps[10] and other.step(date(2026, 1, 1)) is None


def test_a_purge_in_one_process_is_seen_by_another(app, tmp_path):
    path = tmp_path / "r.json"
    Ratchet(path).state(today=TODAY - timedelta(days=10))
    engine = db.state(app).engine
    first = Keyring(engine, (_key(KEY),), Ratchet(path))
    second = Keyring(engine, (_key(KEY),), Ratchet(path))
    old = datetime.now(UTC) - timedelta(days=5)
    first.clock = lambda: old
    vault_a, vault_b = Vault(_key(KEY), keyring=first), Vault(_key(KEY), keyring=second)
    token = vault_a.encrypt("+13125550123", "reporter.phone")
    assert token.startswith(f"v2.{period_of(old.date())}.")
    assert vault_b.decrypt(token, "reporter.phone") == "+13125550123"  # b caches the key
    with app.app_context():
        assert first.destroy_before(db.session, TODAY - timedelta(days=2)) == 1
    for vault in (vault_a, vault_b):  # b's cache is dropped as soon as the file moved
        try:
            vault.decrypt(token, "reporter.phone")
            raise AssertionError("an expired day's value decrypted")
        except DecryptionError:
            pass


def test_two_processes_make_one_key_for_a_day(tmp_path):
    """Two keyrings (as two processes) ask for a new day's key at the same instant."""
    url = create_database(prefix="hotline_keys")
    try:
        path = tmp_path / "r.json"
        Ratchet(path).state(today=TODAY - timedelta(days=1))
        day = datetime.now(UTC) + timedelta(days=5)  # nobody prepared this one
        barrier = threading.Barrier(2)
        tokens: list[str] = []
        engines = [make_engine(url) for _ in range(2)]

        def write(engine) -> None:
            keyring = Keyring(engine, (_key(KEY),), Ratchet(path))
            keyring.clock = lambda: day
            barrier.wait()
            tokens.append(Vault(_key(KEY), keyring=keyring).encrypt("body", "message.body"))

        threads = [threading.Thread(target=write, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(tokens) == 2 and all(t.startswith("v2.") for t in tokens)
        reader = Vault(_key(KEY), keyring=Keyring(engines[0], (_key(KEY),), Ratchet(path)))
        assert [reader.decrypt(t, "message.body") for t in tokens] == ["body", "body"]
        with engines[0].connect() as connection:
            assert connection.scalar(select(func.count()).select_from(DataKey).where(
                DataKey.period == period_of(day.date()))) == 1
        for engine in engines:
            engine.dispose()
    finally:
        drop_database(url)


def _own_keys(app) -> None:
    """This test's ratchet is the database's only one: forget the keys made at app start."""
    from sqlalchemy import delete

    with app.app_context():
        db.session.execute(delete(DataKey))
        db.session.commit()


def test_a_lost_ratchet_never_loses_a_value(app, tmp_path, caplog):
    path = tmp_path / "r.json"
    engine = db.state(app).engine
    _own_keys(app)
    keyring = Keyring(engine, (_key(KEY),), Ratchet(path))
    keyring.prepare()
    path.unlink()  # the ratchet is lost: today's wrapped key can no longer be opened
    fresh = Keyring(engine, (_key(KEY),), Ratchet(path))
    vault = Vault(_key(KEY), keyring=fresh)
    caplog.set_level(logging.WARNING)
    token = vault.encrypt("ICE at 18th and Ashland", "report.text")
    assert token.startswith("v1.")  # sealed under HOTLINE_PII_KEY instead
    assert vault.decrypt(token, "report.text") == "ICE at 18th and Ashland"
    assert "sealing under HOTLINE_PII_KEY" in caplog.text and "Ashland" not in caplog.text


def test_a_lost_ratchet_is_never_replaced_silently(app, tmp_path):
    """Regression (review): a process without the ratchet file minted its own, so its keys
    opened nowhere else and its purge deleted rows while the real ratchet never moved."""
    from hotline.privacy.datakeys import RatchetMissing

    path = tmp_path / "r.json"
    engine = db.state(app).engine
    _own_keys(app)
    Keyring(engine, (_key(KEY),), Ratchet(path)).prepare()
    path.unlink()
    elsewhere = Keyring(engine, (_key(KEY),), Ratchet(path))
    assert Vault(_key(KEY), keyring=elsewhere).encrypt("x", "message.body").startswith("v1.")
    assert not path.exists()  # no new ratchet
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(DataKey))
        try:
            elsewhere.destroy_before(db.session, TODAY + timedelta(days=30))
            raise AssertionError("a purge without the ratchet went ahead")
        except RatchetMissing as exc:
            assert "HOTLINE_PII_RATCHET" in str(exc)
        assert db.session.scalar(select(func.count()).select_from(DataKey)) == before > 0


def test_two_purges_at_once_never_move_the_ratchet_back(tmp_path):
    """Two processes' purges (say, the daily one and an emergency one with fewer days) race
    to move the ratchet: it ends at the later day whatever the order."""
    path = tmp_path / "r.json"
    Ratchet(path).state(today=date(2026, 1, 1))
    barrier = threading.Barrier(2)

    def purge(day: int) -> None:
        ratchet = Ratchet(path)
        ratchet.state()
        barrier.wait()
        ratchet.advance(date(2026, 1, day))

    for _round in range(20):
        threads = [threading.Thread(target=purge, args=(d,)) for d in (10, 20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert Ratchet(path).first_day() == date(2026, 1, 20)


def test_kept_values_stay_under_the_master_key(app):
    vault: Vault = app.extensions["hotline_vault"]
    assert vault.encrypt("+13125550100", "responder").startswith("v1.")
    assert vault.encrypt("JBSWY3DPEHPK3PXP", "user.totp_secret").startswith("v1.")
    assert vault.encrypt("+13125550123", "reporter.phone").startswith("v2.")


def test_values_sealed_together_are_sealed_as_one_by_one(app, monkeypatch):
    """`encrypt_all` (the webhook's three values): each under its own context's key, each
    with its own nonce, each opened by `decrypt` with its context and with no other."""
    vault: Vault = app.extensions["hotline_vault"]
    lookups = []
    for_encrypt = vault.keyring.for_encrypt
    monkeypatch.setattr(vault.keyring, "for_encrypt",
                        lambda *a, **k: lookups.append(1) or for_encrypt(*a, **k))
    number, body = "+13125550123", "ICE en la escuela 🚨 <b>ahora</b>"
    phone, kept, text = vault.encrypt_all(
        (number, "reporter.phone"), (number, "responder"), (body, "message.body"))
    assert len(lookups) == 1  # the day's key, looked up once for both values it seals
    assert phone.startswith("v2.") and text.startswith("v2.") and kept.startswith("v1.")
    assert phone.split(".")[1] == text.split(".")[1]
    assert (vault.decrypt(phone, "reporter.phone"), vault.decrypt(kept, "responder"),
            vault.decrypt(text, "message.body")) == (number, number, body)
    again = vault.encrypt_all((number, "reporter.phone"), (number, "reporter.phone"))
    assert len({phone, *again}) == 3  # fresh nonces
    with pytest.raises(DecryptionError):
        vault.decrypt(phone, "message.counterpart")


def test_rotation_rewraps_day_keys_and_leaves_their_rows_alone(make_app):
    from hotline.privacy.keys import rotate
    from tests.conftest import TEST_PII_KEY

    old_app = make_app()
    token = old_app.extensions["hotline_vault"].encrypt("a body", "message.body")
    new_key = new_pii_key()
    url = old_app.config["SETTINGS"].database_url
    rotating = make_app(DATABASE_URL=url, HOTLINE_PII_KEY=new_key,
                        HOTLINE_PII_OLD_KEYS=TEST_PII_KEY)
    with rotating.app_context():
        report = rotate(db.session, rotating.extensions["hotline_vault"])
        assert report.rewrapped >= 1 and report.unreadable == 0
    only_new = make_app(DATABASE_URL=url, HOTLINE_PII_KEY=new_key)
    vault: Vault = only_new.extensions["hotline_vault"]
    assert not vault.needs_rotation(token)
    assert vault.decrypt(token, "message.body") == "a body"  # the same token, not rewritten
