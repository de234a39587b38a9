"""Key rotation without downtime, and the retention purge (recordings deleted at Twilio)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, text

from hotline.core.extensions import db
from hotline.core.settings import new_pii_key
from hotline.models import (
    IncidentEvent,
    Message,
    Report,
    Reporter,
    Responder,
    VoiceTranscript,
    utcnow,
)
from hotline.privacy.keys import rotate
from hotline.privacy.retention import purge_expired
from hotline.privacy.vault import Vault
from tests.conftest import TEST_PII_KEY, drain, sending_settings

PHONE = "+13125550180"


def test_rotation_rewrites_ciphertext_and_hmacs_while_serving(make_app, twilio):
    old = make_app()
    client = old.test_client()
    twilio.post_sms(client, "ICE at 18th and Ashland, Pilsen", from_number=PHONE)
    drain(old)
    with old.app_context():
        from hotline.incidents import actions
        from hotline.models import Incident

        incident = db.session.scalar(select(Incident))
        actions.apply_action(db.session, incident, {"action": "note", "note": "called Ana"},
                             "user:1")
        db.session.commit()
    database_url = old.config["SETTINGS"].database_url
    new_key = new_pii_key()
    new = make_app(DATABASE_URL=database_url, HOTLINE_PII_KEY=new_key,
                   HOTLINE_PII_OLD_KEYS=TEST_PII_KEY)
    # serving during the rotation window: the same person writes again
    twilio.post_sms(new.test_client(), "still there, 4 agents", from_number=PHONE)
    with new.app_context():
        assert db.session.scalar(select(func.count(Reporter.id))) == 2  # not yet linked
        result = rotate(db.session, new.extensions["hotline_vault"])
        assert result.reencrypted > 0 and result.merged_reporters == 1
        assert db.session.scalar(select(func.count(Reporter.id))) == 1
        again = rotate(db.session, new.extensions["hotline_vault"])
        assert again.reencrypted == 0 and again.rehashed == 0
    only_new = make_app(DATABASE_URL=database_url, HOTLINE_PII_KEY=new_key)
    vault: Vault = only_new.extensions["hotline_vault"]
    with only_new.app_context():
        reporter = db.session.scalar(select(Reporter))
        assert reporter.phone_hmac == vault.phone_hmac(PHONE)
        assert vault.decrypt(reporter.phone_enc, "reporter.phone") == PHONE
        bodies = [vault.decrypt(m.body_enc, "message.body")
                  for m in db.session.scalars(select(Message).order_by(Message.id))
                  if m.direction == "inbound"]
        assert bodies == ["ICE at 18th and Ashland, Pilsen", "still there, 4 agents"]
        note = db.session.scalar(select(IncidentEvent).where(IncidentEvent.kind == "note"))
        assert vault.decrypt(note.data["text_enc"], "event.note") == "called Ana"
        for responder in db.session.scalars(select(Responder)):
            assert vault.decrypt(responder.phone_enc, "responder").startswith("+1")
    # the next message from the same person finds the same reporter
    twilio.post_sms(only_new.test_client(), "gone now", from_number=PHONE)
    with only_new.app_context():
        assert db.session.scalar(select(func.count(Reporter.id))) == 1


def test_purge_blanks_old_pii_and_deletes_recordings_at_twilio(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE at 60608", from_number=PHONE)
    drain(sms_app)
    with sms_app.app_context():
        from hotline.incidents import actions
        from hotline.models import Incident

        actions.apply_action(db.session, db.session.scalar(select(Incident)),
                             {"action": "note", "note": "Ana called back"}, "user:1")
        db.session.commit()
    call = {"CallSid": "CA" + "c" * 32, "From": PHONE, "To": "+15555550100",
            "RecordingSid": "RE" + "f" * 32, "RecordingUrl": "https://api.twilio.com/rec/RE3",
            "RecordingDuration": "20"}
    path = "/twilio/voice/recorded?lang=en"
    client.post(path, data=call, headers=twilio.headers(path, call))
    # ... and the utterances of a call whose recording never came
    event = {"CallSid": "CA" + "b" * 32, "TranscriptionEvent": "transcription-content",
             "SequenceId": "1", "Final": "true", "TranscriptionData": '{"transcript": "ICE"}'}
    events = "/twilio/voice/transcription-events?lang=es"
    client.post(events, data=event, headers=twilio.headers(events, event))
    drain(sms_app)
    with sms_app.app_context():
        old = utcnow() - timedelta(days=31)
        db.session.execute(text("UPDATE messages SET received_at = :t"), {"t": old.replace(
            tzinfo=None)})
        db.session.execute(text("UPDATE reports SET created_at = :t"), {"t": old.replace(
            tzinfo=None)})
        db.session.execute(text("UPDATE reporters SET last_seen_at = :t"), {"t": old.replace(
            tzinfo=None)})
        db.session.execute(text("UPDATE incident_events SET at = :t"), {"t": old.replace(
            tzinfo=None)})
        db.session.execute(text("UPDATE voice_transcripts SET received_at = :t"),
                           {"t": old.replace(tzinfo=None)})
        db.session.commit()
        sms_sids = sorted(db.session.scalars(select(Message.twilio_sid).where(
            Message.twilio_sid.like("SM%"))))
        standin.undeletable.add(sms_sids[-1])  # Twilio is not done with this one yet
        counts = purge_expired(db.session, 30, sms_app.config["SETTINGS"])
        assert counts["recordings"] == 1 and counts["messages"] >= 2
        assert counts["event_texts"] == 1 and counts["twilio_pending"] == 1
        assert counts["twilio_messages"] == len(sms_sids) - 1
        assert sorted(standin.deleted_messages) == sms_sids[:-1]
        note = db.session.scalar(select(IncidentEvent).where(IncidentEvent.kind == "note"))
        assert note.data["text_enc"] is None and note.data["purged"] is True
        # the next purge tries the unfinished one again, and only that one
        standin.undeletable.clear()
        again = purge_expired(db.session, 30, sms_app.config["SETTINGS"])
        assert again["twilio_messages"] == 1 and again["twilio_pending"] == 0
        assert sorted(standin.deleted_messages) == sms_sids
        assert db.session.scalar(select(func.count(Message.id)).where(
            Message.body_enc.is_not(None) | Message.counterpart_enc.is_not(None))) == 0
        assert db.session.scalar(select(func.count(Report.id)).where(
            Report.text_enc.is_not(None))) == 0
        assert db.session.scalar(select(Reporter.phone_enc)) is None
        assert db.session.scalar(select(func.count(VoiceTranscript.id))) == 0
        # the facts stay: the incident, its place and its SALUTE
        assert db.session.scalar(select(func.count(Report.id))) >= 1
    assert standin.deleted_recordings == ["RE" + "f" * 32]


def test_purge_deletes_old_calls_and_their_legs_and_keeps_recent_ones(app, twilio):
    """A call row says who called which line when, and which volunteer answered: it goes
    with the rest of the day's PII."""
    from hotline.models import Call, CallLeg, Responder

    client = app.test_client()
    for n in (1, 2):
        form = {"CallSid": f"CA{n:032x}", "From": PHONE, "To": "+13125550197"}
        client.post("/twilio/voice", data=form, headers=twilio.headers("/twilio/voice", form))
    with app.app_context():
        volunteer = db.session.scalar(select(Responder.id).where(
            Responder.key == "chicago-volunteer-7"))
        old, recent = db.session.scalars(select(Call).order_by(Call.id)).all()
        old.legs.append(CallLeg(responder_id=volunteer, status="completed"))
        recent.legs.append(CallLeg(responder_id=volunteer, status="ringing"))
        old.started_at = utcnow() - timedelta(days=32)
        db.session.commit()
        counts = purge_expired(db.session, 30)
        assert counts["calls"] == 1
        assert db.session.scalars(select(Call.call_sid)).all() == [f"CA{2:032x}"]
        assert db.session.scalar(select(func.count(CallLeg.id))) == 1


def test_daily_purge_is_scheduled_once_a_day(app):
    from hotline.jobs import outbox

    with app.app_context():
        assert outbox.schedule_daily(db.session) is True
        assert outbox.schedule_daily(db.session) is False
        db.session.commit()


def test_every_encrypted_column_is_declared_and_rotated(make_app, twilio, standin):
    """Each column of the models that holds ciphertext declares its context, every real writer
    uses that context, and `rotate` re-encrypts every one of them — a dashboard user with TOTP
    included (it crashed the rotation half-way, before the HMACs were recomputed)."""
    from hotline.accounts.users import create_user, enrol_totp, new_totp_secret
    from hotline.models import Base, User, encrypted_columns

    declared = {(model.__name__, column) for model, column, _ in encrypted_columns()}
    in_models = {(mapper.class_.__name__, attr.key) for mapper in Base.registry.mappers
                 for attr in mapper.column_attrs if attr.key.endswith("_enc")}
    assert declared == in_models and len(declared) == 12

    from tests.media.conftest import PILSEN, jpeg, mms, post

    old = make_app(**sending_settings(standin))
    twilio.post_sms(old.test_client(), "ICE at 18th and Ashland, Pilsen", from_number=PHONE)
    post(old.test_client(), twilio, mms(twilio, standin, "", [("image/jpeg", jpeg(PILSEN))],
                                        from_number="+13125550177"))  # a photo, kept
    twilio.post_sms(old.test_client(), "ALERTS 60608", from_number="+13125550188")  # subscriber
    drain(old)
    # an utterance of a live transcription whose call is still going
    event = {"CallSid": "CA" + "a" * 32, "TranscriptionEvent": "transcription-content",
             "SequenceId": "1", "Final": "true", "Track": "inbound_track",
             "TranscriptionData": '{"transcript": "la migra en la 18"}'}
    path = "/twilio/voice/transcription-events?lang=es"
    assert old.test_client().post(path, data=event, headers=twilio.headers(path, event)
                                  ).status_code == 204
    import pyotp

    with old.app_context():
        user = create_user(db.session, "totp@example.org", "dispatcher",
                           "correct horse battery 9")
        secret = new_totp_secret()
        enrol_totp(user, old.extensions["hotline_vault"], secret, pyotp.TOTP(secret).now())
        db.session.commit()
    database_url = old.config["SETTINGS"].database_url
    new_key = new_pii_key()
    new = make_app(DATABASE_URL=database_url, HOTLINE_PII_KEY=new_key,
                   HOTLINE_PII_OLD_KEYS=TEST_PII_KEY)
    with new.app_context():
        result = rotate(db.session, new.extensions["hotline_vault"])
        assert result.unreadable == 0
    only_new = make_app(DATABASE_URL=database_url, HOTLINE_PII_KEY=new_key)
    vault: Vault = only_new.extensions["hotline_vault"]
    with only_new.app_context():
        for model, column, context in encrypted_columns():
            values = [getattr(row, column) for row in db.session.scalars(select(model))
                      if getattr(row, column) is not None]
            assert values, f"no {model.__name__}.{column} was written by the flow"
            for token in values:
                opened = vault.open_bytes(token, context) if isinstance(token, bytes) \
                    else vault.decrypt(token, context)
                # only the new key: rotated, and the writer used the context the model declares
                assert opened is not None
        user = db.session.scalar(select(User).where(User.email == "totp@example.org"))
        assert vault.decrypt(user.totp_secret_enc, "user.totp_secret") == secret


def test_rotation_counts_what_no_key_opens_and_finishes(make_app, twilio):
    old = make_app()
    twilio.post_sms(old.test_client(), "ICE at 60608", from_number=PHONE)
    drain(old)
    database_url = old.config["SETTINGS"].database_url
    new = make_app(DATABASE_URL=database_url, HOTLINE_PII_KEY=new_pii_key())  # old key lost
    with new.app_context():
        result = rotate(db.session, new.extensions["hotline_vault"])
        assert result.unreadable > 0 and result.reencrypted == 0
