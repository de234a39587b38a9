"""Media kept as evidence on the dashboard: a photo's EXIF-free copy and thumbnail for those who
may read report texts in scope, the original with its SHA-256 for admins, 404 for everyone
else, 410 once purged, every view audited; the incident page shows them, never Twilio."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select, text

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.models import AuditLog, Incident, MediaItem, Report, utcnow
from hotline.privacy.retention import purge_expired
from tests.conftest import drain
from tests.dashboard.conftest import login, make_user
from tests.media.conftest import CAMERA_MARK, PILSEN, jpeg, mms, png, post

PHONE = "+13125550199"
BODY = '<script>alert(1)</script> la migra esta aqui'
OGG = b"OggS" + bytes(200)
PDF = b"%PDF-1.4\n" + b"0" * 100
SANDBOX = "default-src 'none'; sandbox"
USERS = {"admin": ("admin@example.org", "admin", None),
         "dispatcher": ("chicago@example.org", "dispatcher", ["chicago"]),
         "viewer": ("viewer@example.org", "viewer", ["chicago"]),
         "elsewhere": ("sf@example.org", "dispatcher", ["san-francisco"])}


@pytest.fixture
def mms_report(sms_app, twilio, standin) -> dict[str, Any]:
    """A signed MMS with a photo (with GPS and a camera serial) and a PNG, fetched, stored and
    triaged into a Chicago incident; a user of every role."""
    photo, picture = jpeg(PILSEN), png()
    client = sms_app.test_client()
    form = mms(twilio, standin, BODY, [("image/jpeg", photo), ("image/png", picture)],
               from_number=PHONE)
    assert post(client, twilio, form).status_code == 200
    drain(sms_app)
    for email, role, jurisdictions in USERS.values():
        make_user(sms_app, email, role, jurisdictions=jurisdictions)
    with sms_app.app_context():
        items = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert [i.status for i in items] == ["stored", "stored"]
        report = db.session.scalar(select(Report))
        assert report.incident_id is not None
        code = db.session.get(Incident, report.incident_id).code
        return {"photo": photo, "png": picture, "ids": [i.id for i in items],
                "sha256": [i.sha256 for i in items], "report": report.id, "code": code}


def as_user(app: Any, who: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, USERS[who][0]).status_code == 302
    return client


def views(app: Any) -> list[dict[str, Any]]:
    with app.app_context():
        return [{"target": a.target, "user": a.user_id, **a.details}
                for a in db.session.scalars(select(AuditLog).where(
                    AuditLog.action == "dashboard.media.view").order_by(AuditLog.id))]


def assert_sandboxed(response: Any, content_type: str, disposition: str = "inline") -> None:
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == content_type
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == SANDBOX
    assert response.headers["Content-Disposition"].startswith(f"{disposition}; filename=")


@pytest.mark.parametrize("who", ["admin", "dispatcher"])
def test_those_who_read_reports_see_the_photo_without_exif_and_its_thumbnail(
        sms_app, mms_report, who):
    client = as_user(sms_app, who)
    photo_id, png_id = mms_report["ids"]
    shown = client.get(f"/media/{photo_id}")
    assert_sandboxed(shown, "image/jpeg")
    assert shown.headers["Content-Disposition"] == f'inline; filename="media-{photo_id}.jpg"'
    assert not Image.open(io.BytesIO(shown.data)).getexif()  # no GPS, no serial, no time
    assert CAMERA_MARK.encode() not in shown.data and shown.data != mms_report["photo"]
    thumb = client.get(f"/media/{photo_id}/thumb")
    assert_sandboxed(thumb, "image/jpeg")
    assert Image.open(io.BytesIO(thumb.data)).format == "JPEG"
    assert CAMERA_MARK.encode() not in thumb.data
    transparent = client.get(f"/media/{png_id}")  # kept its transparency: a PNG
    assert_sandboxed(transparent, "image/png")
    assert transparent.headers["Content-Disposition"] == \
        f'inline; filename="media-{png_id}.png"'
    assert Image.open(io.BytesIO(transparent.data)).mode == "RGBA"
    assert client.get(f"/media/{png_id}/thumb").status_code == 200
    seen = views(sms_app)
    assert [(v["target"], v["variant"]) for v in seen] == [
        (str(photo_id), "display"), (str(photo_id), "thumb"), (str(png_id), "display"),
        (str(png_id), "thumb")]
    assert all(v["incident"] == mms_report["code"] and v["report"] == mms_report["report"]
               for v in seen)


def test_only_admins_get_the_original_with_its_hash(sms_app, mms_report):
    photo_id = mms_report["ids"][0]
    original = as_user(sms_app, "admin").get(f"/media/{photo_id}/original")
    assert_sandboxed(original, "image/jpeg", "attachment")
    assert original.headers["Content-Disposition"] == \
        f'attachment; filename="media-{photo_id}.jpg"'
    assert original.data == mms_report["photo"]  # the evidence, byte for byte, with its EXIF
    assert original.headers["X-Content-SHA256"] == hashlib.sha256(original.data).hexdigest() \
        == mms_report["sha256"][0]
    assert as_user(sms_app, "dispatcher").get(f"/media/{photo_id}/original").status_code == 404
    assert [v["variant"] for v in views(sms_app)] == ["original"]


@pytest.mark.parametrize("who", ["viewer", "elsewhere"])
def test_viewers_and_users_out_of_scope_find_nothing(sms_app, mms_report, who):
    client = as_user(sms_app, who)
    for media_id in (*mms_report["ids"], 999_999):
        for suffix in ("", "/thumb", "/original"):
            assert client.get(f"/media/{media_id}{suffix}").status_code == 404
    assert views(sms_app) == []


def test_the_incident_page_shows_no_media_to_viewers(sms_app, mms_report):
    html = as_user(sms_app, "viewer").get(f"/incidents/{mms_report['code']}").text
    assert "not shown to viewers" in html
    assert "/media/" not in html and "<img" not in html and "SHA-256" not in html


def test_logged_out_is_sent_to_log_in(sms_app, mms_report):
    response = sms_app.test_client().get(f"/media/{mms_report['ids'][0]}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_incident_page_shows_thumbnails_and_never_twilio(sms_app, mms_report):
    photo_id, png_id = mms_report["ids"]
    report = mms_report["report"]
    html = as_user(sms_app, "dispatcher").get(f"/incidents/{mms_report['code']}").text
    assert f'<a href="/media/{photo_id}"><img src="/media/{photo_id}/thumb" ' \
           f'alt="photo 1 of report {report}" loading="lazy"></a>' in html
    assert f'src="/media/{png_id}/thumb" alt="photo 2 of report {report}"' in html
    sha = mms_report["sha256"][0]
    assert f'<code title="{sha}">{sha[:12]}</code>' in html
    assert "twilio.com" not in html.lower() and "/original" not in html  # not for dispatchers
    assert "<script>alert(1)</script>" not in html  # the report's text is still escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    admin = as_user(sms_app, "admin").get(f"/incidents/{mms_report['code']}").text
    assert f'href="/media/{photo_id}/original" download>download original</a>' in admin
    assert views(sms_app) == []  # the page itself reads no media


def test_purged_media_is_gone(sms_app, mms_report):
    with sms_app.app_context():  # the message is older than the retention period
        old = (utcnow() - timedelta(days=31)).replace(tzinfo=None)
        db.session.execute(text("UPDATE messages SET received_at = :t"), {"t": old})
        db.session.commit()
        assert purge_expired(db.session, 30, sms_app.config["SETTINGS"])["media"] == 2
    photo_id = mms_report["ids"][0]
    for who in ("admin", "dispatcher"):
        client = as_user(sms_app, who)
        for suffix in ("", "/thumb"):
            response = client.get(f"/media/{photo_id}{suffix}")
            assert response.status_code == 410
            assert response.mimetype == "text/plain" and "retention" in response.text
    assert as_user(sms_app, "admin").get(f"/media/{photo_id}/original").status_code == 410
    # never revealed to those who may not see it
    assert as_user(sms_app, "viewer").get(f"/media/{photo_id}").status_code == 404
    html = as_user(sms_app, "dispatcher").get(f"/incidents/{mms_report['code']}").text
    assert "photo deleted at the end of its retention period" in html
    assert f"/media/{photo_id}/thumb" not in html
    assert mms_report["sha256"][0][:12] in html  # the chain of custody's record stays


def test_audio_plays_and_refused_media_is_explained(sms_app, twilio, standin):
    client = sms_app.test_client()
    post(client, twilio, mms(twilio, standin, "ICE at 60608", [
        ("audio/ogg", OGG), ("application/pdf", PDF)], from_number=PHONE))
    drain(sms_app)
    make_user(sms_app, *USERS["dispatcher"][:2], jurisdictions=["chicago"])
    with sms_app.app_context():
        audio, pdf = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert (audio.status, pdf.status) == ("stored", "refused")
        report = db.session.scalar(select(Report))
        code = db.session.get(Incident, report.incident_id).code
    dispatcher = as_user(sms_app, "dispatcher")
    html = dispatcher.get(f"/incidents/{code}").text
    assert f'<audio controls preload="none" src="/media/{audio.id}"' in html
    assert "media refused: not an allowed type (application/pdf)" in html
    assert hashlib.sha256(PDF).hexdigest()[:12] in html
    played = dispatcher.get(f"/media/{audio.id}")
    assert_sandboxed(played, "audio/ogg")
    assert played.data == OGG
    assert played.headers["Content-Disposition"] == f'inline; filename="media-{audio.id}.ogg"'
    part = dispatcher.get(f"/media/{audio.id}", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.data == OGG[:10]  # players seek
    assert dispatcher.get(f"/media/{audio.id}/thumb").status_code == 404  # photos only
    assert dispatcher.get(f"/media/{pdf.id}").status_code == 404  # never served
    assert [v["variant"] for v in views(sms_app)] == ["display", "display"]


def test_no_media_link_leaks_into_any_page(sms_app, mms_report):
    html = as_user(sms_app, "dispatcher").get(f"/incidents/{mms_report['code']}").text
    for match in re.findall(r'(?:src|href)="(/media/[^"]*)"', html):
        assert re.fullmatch(r"/media/\d+(/thumb)?", match), match


def test_the_api_names_media_by_their_rows_never_by_url(sms_app, mms_report):
    with sms_app.app_context():
        _row, token = tokens.create_token(db.session, "media-tests")
        report = db.session.get(Report, mms_report["report"])
        # an entry from before media were kept, with Twilio's URL: never passed on
        report.media = [*report.media, {"url": "https://api.twilio.com/2010-04-01/Accounts/"
                                               "AC1/Messages/MM1/Media/ME1",
                                        "content_type": "image/jpeg"}]
        db.session.commit()
    response = sms_app.test_client().get(f"/api/v1/incidents/{mms_report['code']}",
                                         headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    media = response.json["reports"][0]["media"]
    assert media == [{"media_id": mms_report["ids"][0], "content_type": "image/jpeg",
                      "kind": "image", "status": "stored"},
                     {"media_id": mms_report["ids"][1], "content_type": "image/png",
                      "kind": "image", "status": "stored"}]
    assert "twilio.com" not in response.text and not any("url" in m for m in media)


def test_media_that_cannot_be_decrypted_is_gone_and_audited(sms_app, mms_report):
    photo_id = mms_report["ids"][0]
    with sms_app.app_context():
        item = db.session.get(MediaItem, photo_id)
        item.thumb_enc = item.thumb_enc[:-1] + bytes([item.thumb_enc[-1] ^ 1])  # altered
        db.session.commit()
    client = as_user(sms_app, "dispatcher")
    response = client.get(f"/media/{photo_id}/thumb")
    assert response.status_code == 410 and "can no longer be decrypted" in response.text
    assert client.get(f"/media/{photo_id}").status_code == 200  # the display copy is intact
    seen = views(sms_app)
    assert [(v["variant"], v.get("readable")) for v in seen] == [("thumb", False),
                                                                 ("display", None)]
