"""Media of MMS kept as evidence: fetched from the Twilio stand-in after the webhook, checked,
sealed, hashed, deleted at Twilio; a photo's GPS places its report; retention purges it."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image
from sqlalchemy import func, select, text

from hotline.core.extensions import db
from hotline.models import Jurisdiction, MediaItem, Message, OutboxJob, Report, utcnow
from hotline.privacy.retention import purge_expired
from tests.conftest import drain, run_due_timers, sending_settings
from tests.media.conftest import CAMERA_MARK, PILSEN, SANTA_ANA, jpeg, mms, png, post

PHONE = "+13125550199"


def _slug(report: Report) -> str | None:
    return db.session.scalar(select(Jurisdiction.slug).where(
        Jurisdiction.id == report.jurisdiction_id))


def test_two_media_items_are_fetched_sealed_hashed_and_deleted_at_twilio(
        sms_app, twilio, standin, tmp_path):
    photo, picture = jpeg(PILSEN), png()
    client = sms_app.test_client()
    form = mms(twilio, standin, "la migra esta aqui", [("image/jpeg", photo),
                                                      ("image/png", picture)],
               from_number=PHONE)
    assert post(client, twilio, form).status_code == 200
    drain(sms_app)
    fetched = [r for r in standin.requests if "/Media/ME" in r.path and r.method == "GET"]
    assert len(fetched) == 2 and all(r.answered == 307 for r in fetched)  # then its storage
    assert len(standin.deleted_media) == 2 and not standin.media  # nothing left at Twilio
    vault = sms_app.extensions["hotline_vault"]
    with sms_app.app_context():
        items = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert [i.status for i in items] == ["stored", "stored"]
        assert [i.content_type for i in items] == ["image/jpeg", "image/png"]
        assert items[0].sha256 == hashlib.sha256(photo).hexdigest()
        assert items[1].sha256 == hashlib.sha256(picture).hexdigest()
        assert all(i.deleted_at_twilio is not None for i in items)
        # sealed under the day's key, and the evidence is the very bytes received
        assert items[0].data_enc.startswith(b"v2.") and photo not in items[0].data_enc
        assert vault.open_bytes(items[0].data_enc, "media.data") == photo
        # what people see has no EXIF: no GPS, no camera serial
        shown = vault.open_bytes(items[0].display_enc, "media.data")
        assert CAMERA_MARK.encode() not in shown
        assert not Image.open(io.BytesIO(shown)).getexif()
        assert Image.open(io.BytesIO(vault.open_bytes(items[0].thumb_enc,
                                                      "media.data"))).format == "JPEG"
        meta = json.loads(vault.decrypt(items[0].meta_enc, "media.meta"))
        assert abs(meta["lat"] - PILSEN[0]) < 1e-4 and abs(meta["lon"] - PILSEN[1]) < 1e-4
        # no Twilio URL is kept: the message and report point at the rows
        message = db.session.scalar(select(Message).where(Message.direction == "inbound"))
        assert "twilio.com" not in json.dumps(message.media)
        assert [m["media_id"] for m in message.media] == [items[0].id, items[1].id]
        report = db.session.scalar(select(Report))
        assert "twilio.com" not in json.dumps(report.media)
        # the photo placed a report whose text names no place
        assert report.location["source"] == "photo" and _slug(report) == "chicago"
        assert report.needs_location is False and report.state == "complete"
        url = str(db.engine.url.database)
    raw = Path(url).read_bytes()  # a seizure of the database file
    assert CAMERA_MARK.encode() not in raw and photo[:2000] not in raw


def test_a_place_in_the_text_beats_the_photo_and_an_old_photo_says_nothing(
        sms_app, twilio, standin):
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at the Home Depot in Santa Ana",
                             [("image/jpeg", jpeg(PILSEN))], from_number=PHONE))
    stale = jpeg(SANTA_ANA, taken=datetime.now(UTC) - timedelta(days=3))
    post(client, twilio, mms(twilio, standin, "agents everywhere",
                             [("image/jpeg", stale)], from_number="+13125550142"))
    drain(sms_app)
    with sms_app.app_context():
        first, second = db.session.scalars(select(Report).order_by(Report.id)).all()
        assert first.location["source"] != "photo" and _slug(first) == "santa-ana"
        assert second.location["source"] == "area_code"  # the old photo's place is unused
        assert second.state == "awaiting_location"


def test_refused_media_is_recorded_and_deleted_at_twilio(make_app, twilio, standin):
    app = make_app(**sending_settings(standin, HOTLINE_MEDIA_MAX_BYTES="4096"))
    client = app.test_client()
    big = jpeg(size=(400, 400), noise=True)
    assert len(big) > 4096
    pdf = b"%PDF-1.4\n" + b"0" * 100
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [
        ("image/jpeg", big), ("application/pdf", pdf), ("image/jpeg", pdf),
        ("image/png", png())], from_number=PHONE))
    drain(app)
    with app.app_context():
        items = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert [i.status for i in items] == ["refused", "refused", "refused", "stored"]
        assert "too large" in items[0].reason and "4096" in items[0].reason
        assert "not an allowed type" in items[1].reason
        assert "declared image/jpeg" in items[2].reason
        assert items[1].sha256 == hashlib.sha256(pdf).hexdigest()  # recorded, not kept
        assert all(i.data_enc is None for i in items[:3])
        assert all(i.deleted_at_twilio is not None for i in items)
    assert len(standin.deleted_media) == 4


def test_a_forged_media_url_is_never_fetched(sms_app, twilio, standin):
    client = sms_app.test_client()
    form = twilio.sms("ICE at 60608", from_number=PHONE, NumMedia="1",
                      MediaUrl0="http://169.254.169.254/latest/meta-data",
                      MediaContentType0="image/jpeg")
    post(client, twilio, form)
    drain(sms_app)
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "refused" and "not a Twilio media URL" in item.reason
    assert not [r for r in standin.requests if "/Media/" in r.path]


def test_a_passing_failure_is_fetched_again_later(sms_app, twilio, standin):
    standin.fail_media = 1
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [("image/jpeg", jpeg())],
                             from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "pending" and item.attempts == 1
        assert db.session.scalar(select(func.count(OutboxJob.id)).where(
            OutboxJob.job == "fetch_media", OutboxJob.done_at.is_(None))) == 1
    run_due_timers(sms_app, "fetch_media")
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "stored" and item.deleted_at_twilio is not None
        # the report made meanwhile says so too
        assert db.session.scalar(select(Report)).media[0]["status"] == "stored"


def test_a_photo_only_mms_is_asked_where_and_a_photo_is_no_answer(sms_app, twilio, standin):
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", jpeg())], from_number=PHONE))
    drain(sms_app)
    asked = [m for m in standin.sent if "Where" in m["body"]]
    assert len(asked) == 1
    # another photo without GPS: joins the report, the question stands (asked once more)
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", jpeg())], from_number=PHONE))
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", jpeg())], from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert db.session.scalar(select(func.count(Report.id))) == 1
        assert report.state == "awaiting_location" and report.incident_id is None
        assert len(report.media) == 3
    assert len([m for m in standin.sent if "Where" in m["body"]]) == 2
    # a photo with GPS answers it
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", jpeg(PILSEN))],
                             from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert report.state == "complete" and report.location["source"] == "photo"
        assert report.incident_id is not None and len(report.media) == 4


def test_photos_sent_after_a_report_join_it(sms_app, twilio, standin):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE vans at Home Depot on Cermak and Pulaski 60623",
                    from_number=PHONE)
    drain(sms_app)
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", jpeg(PILSEN))],
                             from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        report = db.session.scalar(select(Report))
        assert db.session.scalar(select(func.count(Report.id))) == 1
        assert len(report.media) == 1 and report.location["source"] != "photo"
        kinds = db.session.scalars(text("SELECT kind FROM incident_events")).all()
        assert "media_added" in kinds
    assert not [m for m in standin.sent if "Where" in m["body"]]


def test_retention_purges_media(sms_app, twilio, standin):
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [("image/jpeg", jpeg(PILSEN))],
                             from_number=PHONE))
    drain(sms_app)
    with sms_app.app_context():
        old = (utcnow() - timedelta(days=31)).replace(tzinfo=None)
        db.session.execute(text("UPDATE messages SET received_at = :t"), {"t": old})
        db.session.commit()
        counts = purge_expired(db.session, 30, sms_app.config["SETTINGS"])
        assert counts["media"] == 1
        item = db.session.scalar(select(MediaItem))
        assert item.status == "purged" and item.purged_at is not None
        assert (item.data_enc, item.display_enc, item.thumb_enc, item.meta_enc) == (
            None, None, None, None)
        assert item.sha256  # the chain of custody's record stays


def test_hostile_media_fields_lose_nothing_and_break_nothing(sms_app, twilio, standin):
    client = sms_app.test_client()
    form = mms(twilio, standin, "ICE <b>here</b> \U0001F6A8", [("image/jpeg", jpeg())],
               from_number=PHONE)
    form["MediaContentType0"] = "image/jpeg\x00<script>alert(1)</script>"
    form["NumMedia"] = "2"
    form["MediaUrl1"] = "https://api.twilio.com/2010-04-01/Accounts/AC\x00/Messages/x/Media/y"
    form["MediaContentType1"] = "image/png"
    assert post(client, twilio, form).status_code == 200
    drain(sms_app)
    with sms_app.app_context():
        items = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert [i.status for i in items] == ["stored", "refused"]
        assert "\x00" not in items[0].declared_type and "<" not in items[0].declared_type
        report = db.session.scalar(select(Report))
        vault = sms_app.extensions["hotline_vault"]
        assert vault.decrypt(report.text_enc, "report.text") == "ICE <b>here</b> \U0001F6A8"


def test_passing_failures_and_surprises_leave_the_item_to_the_next_try(
        sms_app, twilio, standin, monkeypatch):
    from hotline.triage import photos

    standin.fail_media = 2  # two 503s in a row
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [("image/jpeg", jpeg(PILSEN))],
                             from_number=PHONE))
    drain(sms_app)
    run_due_timers(sms_app, "fetch_media")
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "pending" and item.attempts == 2 and item.claimed_at is None
    # then Pillow raises something nobody expected: still pending, claim released, retried
    real = photos.facts
    monkeypatch.setattr(photos, "facts", lambda data: (_ for _ in ()).throw(
        __import__("struct").error("bad EXIF")))
    run_due_timers(sms_app, "fetch_media")
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "pending" and item.claimed_at is None and "error" in item.reason
    monkeypatch.setattr(photos, "facts", real)
    run_due_timers(sms_app, "fetch_media")
    with sms_app.app_context():
        item = db.session.scalar(select(MediaItem))
        assert item.status == "stored" and item.deleted_at_twilio is not None
    assert not standin.media  # nothing left at Twilio


def test_a_damaged_photo_is_kept_as_received_and_a_photo_s_point_is_kept_coarse(
        sms_app, twilio, standin):
    photo = jpeg(PILSEN)
    damaged = jpeg(size=(200, 200), noise=True)[:1500]  # cut off mid-way
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "", [("image/jpeg", photo),
                                                  ("image/jpeg", damaged)],
                             from_number=PHONE))
    drain(sms_app)
    vault = sms_app.extensions["hotline_vault"]
    with sms_app.app_context():
        first, second = db.session.scalars(select(MediaItem).order_by(MediaItem.position))
        assert second.status == "stored" and "kept as received" in second.reason
        assert vault.open_bytes(second.data_enc, "media.data") == damaged
        assert second.display_enc is None and second.thumb_enc is None
        # the report keeps the photo's point to about 100 m; the exact one stays sealed
        report = db.session.scalar(select(Report))
        assert (report.lat, report.lon) == (round(PILSEN[0], 3), round(PILSEN[1], 3))
        meta = json.loads(vault.decrypt(first.meta_enc, "media.meta"))
        assert (meta["lat"], meta["lon"]) == PILSEN


def test_sixteen_bit_and_icc_photos_are_shown_faithfully_without_metadata():
    from hotline.triage import photos

    image = Image.new("I;16", (4, 1))
    image.putdata([0, 16384, 32768, 65535])
    out = io.BytesIO()
    image.save(out, "PNG")
    shown, _ = photos.without_metadata(out.getvalue())
    grey = list(Image.open(io.BytesIO(shown)).convert("L").tobytes())  # JPEG: near, not equal
    assert all(abs(a - b) <= 4 for a, b in zip(grey, [0, 64, 128, 255], strict=True)), grey
    rgba = Image.new("RGBA", (8, 8), (10, 20, 30, 128))
    out = io.BytesIO()
    rgba.save(out, "PNG", icc_profile=b"\x00" * 200)
    shown, kind = photos.without_metadata(out.getvalue())
    assert kind == "image/png" and "icc_profile" not in Image.open(io.BytesIO(shown)).info
