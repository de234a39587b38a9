"""PII at rest: keyed HMAC plus authenticated encryption."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hotline.core.logs import RedactPhones
from hotline.core.phones import mask_phone, normalize_phone
from hotline.privacy.vault import DecryptionError, Vault

KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def test_round_trip_any_text():
    vault = Vault(KEY)
    for text in ["", "ICE en la 24 y Mission 🚨", "<script>alert(1)</script>", "ñ" * 1600, "\x00"]:
        token = vault.encrypt(text, "message.body")
        assert text not in token or text == ""
        assert vault.decrypt(token, "message.body") == text


def test_encryption_is_randomised_and_bound_to_its_column():
    vault = Vault(KEY)
    a, b = vault.encrypt("+13125550123", "x"), vault.encrypt("+13125550123", "x")
    assert a != b
    with pytest.raises(DecryptionError):
        vault.decrypt(a, "another column")


def test_tampering_is_detected():
    vault = Vault(KEY)
    token = vault.encrypt("hello", "c")
    version, key_id, blob = token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(blob))
    raw[-1] ^= 1
    with pytest.raises(DecryptionError):
        vault.decrypt(f"{version}.{key_id}.{base64.urlsafe_b64encode(bytes(raw)).decode()}", "c")


def test_old_keys_still_decrypt_and_are_flagged_for_rotation():
    old = Vault(OTHER)
    token = old.encrypt("secret", "c")
    new = Vault(KEY, old_keys=(OTHER,))
    assert new.decrypt(token, "c") == "secret"
    assert new.needs_rotation(token)
    assert not new.needs_rotation(new.encrypt("x", "c"))
    with pytest.raises(DecryptionError):
        Vault(KEY).decrypt(token, "c")


def test_hmac_is_keyed_and_stable():
    assert Vault(KEY).phone_hmac("+13125550123") == Vault(KEY).phone_hmac("+13125550123")
    assert Vault(KEY).phone_hmac("+13125550123") != Vault(OTHER).phone_hmac("+13125550123")
    assert "3125550123" not in Vault(KEY).phone_hmac("+13125550123")


@pytest.mark.parametrize(("raw", "e164"), [
    ("+13125550123", "+13125550123"),
    ("(312) 555-0123", "+13125550123"),
    ("312.555.0123", "+13125550123"),
    ("+52 55 1234 5678", "+525512345678"),
])
def test_normalize_phone(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["", "hello", "12"])
def test_normalize_phone_rejects(raw):
    with pytest.raises(ValueError):
        normalize_phone(raw)


def test_mask_phone():
    assert mask_phone("+13125550123") == "+1 ••• ••• 0123"


def test_log_filter_masks_numbers():
    import logging

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "from %s and %s",
                               ("+13125550123", "(415) 555-0199"), None)
    RedactPhones().filter(record)
    assert "5550123" not in record.getMessage()
    assert "555-0199" not in record.getMessage()


def test_log_filter_leaves_twilio_sids_alone():
    """Regression: the masking used to eat the last ten digits of a MessageSid."""
    import logging

    sid = "SM9675e3339abdb79474d22c3125550123"
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "inbound sms %s stored",
                               (sid,), None)
    RedactPhones().filter(record)
    assert record.getMessage() == f"inbound sms {sid} stored"


def test_any_sender_text_hashes():
    """Regression: a non-ASCII From (a malformed webhook) raised UnicodeEncodeError: a 500."""
    assert len(Vault(KEY).phone_hmac("\x80ñ🚨")) == 64


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"\A\+1[2-9][0-9]{9}\Z"))
def test_nanp_fast_path_agrees_with_phonenumbers(raw):
    import phonenumbers

    parsed = phonenumbers.parse(raw, "US")
    assert phonenumbers.is_possible_number(parsed)
    assert normalize_phone(raw) == phonenumbers.format_number(
        parsed, phonenumbers.PhoneNumberFormat.E164) == raw


@pytest.mark.parametrize("raw", ["+1312555012\u0663", "+13125550123\n", " +13125550123"])
def test_nanp_fast_path_takes_only_plain_ascii_numbers(raw):
    # other digits and stray whitespace go through phonenumbers, which canonicalises them
    assert normalize_phone(raw) == "+13125550123"


def test_a_dispatchers_note_with_a_decision_is_never_stored_in_clear(app, twilio):
    """The note typed with verify / dismiss / resolve / all_clear / hold / block (it can hold a
    name or a number) is an encrypted timeline note; nothing of it is in clear anywhere."""
    from sqlalchemy import select, text

    from hotline.core.extensions import db
    from hotline.incidents import actions
    from hotline.models import Incident, IncidentEvent, Report
    from tests.conftest import drain

    secret = "caller at 312-555-0201, ask for Ana"
    client = app.test_client()
    for i, action in enumerate(("hold", "verify", "resolve")):
        twilio.post_sms(client, f"ICE at {60601 + i}", from_number=f"+1773555070{i}")
        drain(app)
        with app.app_context():
            incident = db.session.scalars(select(Incident).order_by(Incident.id.desc())).first()
            actions.apply_action(db.session, incident, {"action": action, "note": secret},
                                 "user:1")
            db.session.commit()
    with app.app_context():
        incident = db.session.scalars(select(Incident).order_by(Incident.id)).first()
        report_id = db.session.scalar(select(Report.id).where(
            Report.incident_id == incident.id))
        actions.apply_action(db.session, incident, {"action": "block", "report": report_id,
                                                    "note": secret}, "user:1")
        db.session.commit()
        dump = "\n".join(str(row) for table in ("incidents", "incident_events", "reporters",
                                                "reports", "audit_log")
                         for row in db.session.execute(text(f"SELECT * FROM {table}")))
        assert "555-0201" not in dump and "Ana" not in dump
        vault = app.extensions["hotline_vault"]
        notes = [vault.decrypt(e.data["text_enc"], "event.note") for e in db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.kind == "note"))]
        assert notes == [secret] * 4


def test_decision_notes_older_versions_kept_in_clear_are_sealed(app, twilio):
    """Rows as the previous version wrote them: the note in the status event's reason or note,
    in the hold marker, in reporters.blocked_reason. Sealing leaves none of it in clear, keeps
    every text as an encrypted note, and leaves the system's own reasons alone."""
    from sqlalchemy import select, text

    from hotline.core.extensions import db
    from hotline.incidents.sealing import seal_plaintext_notes
    from hotline.models import Incident, IncidentEvent, Reporter, utcnow
    from tests.conftest import drain

    client = app.test_client()
    twilio.post_sms(client, "ICE at 60601", from_number="+17735550700")
    drain(app)
    texts = ["verified: caller Ana 312-555-0201", "resolved: Ana's brother left",
             "hold: Ana 312-555-0201 may be a troll", "blocked: ex of Ana, 312-555-0201"]
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        now = utcnow()
        db.session.add_all([
            IncidentEvent(incident_id=incident.id, kind="status", actor="user:1", at=now,
                          data={"old": "new", "new": "verified", "reason": texts[0]}),
            IncidentEvent(incident_id=incident.id, kind="status", actor="token:ops", at=now,
                          data={"old": "verified", "new": "resolved", "note": texts[1]}),
            IncidentEvent(incident_id=incident.id, kind="status", actor="system", at=now,
                          data={"old": "new", "new": "verified",
                                "reason": "auto-verified: three reports"}),
            IncidentEvent(incident_id=incident.id, kind="held", actor="user:1", at=now,
                          data={})])
        incident.flags = {**(incident.flags or {}), "hold": texts[2]}
        reporter = db.session.scalar(select(Reporter))
        reporter.blocked, reporter.blocked_reason = True, texts[3]
        db.session.commit()
        vault = app.extensions["hotline_vault"]
        counts = seal_plaintext_notes(db.session, vault)
        assert counts == {"events": 2, "holds": 1, "blocked": 1}
        assert seal_plaintext_notes(db.session, vault) == {"events": 0, "holds": 0, "blocked": 0}
        dump = "\n".join(str(row) for table in ("incidents", "incident_events", "reporters")
                         for row in db.session.execute(text(f"SELECT * FROM {table}")))
        assert "555-0201" not in dump and "Ana" not in dump
        assert "auto-verified: three reports" in dump
        notes = sorted(vault.decrypt(e.data["text_enc"], "event.note") for e in db.session.scalars(
            select(IncidentEvent).where(IncidentEvent.kind == "note")))
        assert notes == sorted(texts)
        assert db.session.scalar(select(Incident.flags))["hold"] == "held by a dispatcher"
