"""Media on the real PostgreSQL and Redis: kept through the RQ worker, hostile fields stored
safely, and two jobs fetching one message's media at the same moment fetch each item once."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from hotline.core.extensions import db
from hotline.intake import media
from hotline.models import MediaItem, Message, Report
from tests.conftest import drain, sending_settings
from tests.media.conftest import PILSEN, jpeg, mms, png, post

PHONE = "+13125550199"


def test_media_through_the_worker_on_postgres(make_pg_app, redis_url, standin, twilio):
    app = make_pg_app(REDIS_URL=redis_url, **sending_settings(standin))
    form = mms(twilio, standin, "la migra \x00 aqui", [("image/jpeg", jpeg(PILSEN))],
               from_number=PHONE)
    form["NumMedia"] = "2"
    form["MediaUrl1"] = "https://api.twilio.com/\x00/Media/ME1"
    form["MediaContentType1"] = "image/png\x00"
    assert post(app.test_client(), twilio, form).status_code == 200
    drain(app)
    with app.app_context():
        items = db.session.scalars(select(MediaItem).order_by(MediaItem.position)).all()
        assert [i.status for i in items] == ["stored", "refused"]
        assert items[1].declared_type == "image/png"
        report = db.session.scalar(select(Report))
        assert report.location["source"] == "photo"
    assert len(standin.deleted_media) == 1


def test_two_jobs_at_once_fetch_each_item_once(make_pg_app, redis_url, standin, twilio):
    app = make_pg_app(REDIS_URL=redis_url, **sending_settings(standin))
    form = mms(twilio, standin, "ICE at 60608", [("image/jpeg", jpeg()), ("image/png", png()),
                                                 ("image/jpeg", jpeg(PILSEN))],
               from_number=PHONE)
    assert post(app.test_client(), twilio, form).status_code == 200
    with app.app_context():
        message_id = db.session.scalar(select(Message.id))
        media.register(db.session, db.session.get(Message, message_id))
        db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with app.app_context():
                barrier.wait(10)
                media.collect(db.session, message_id)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    fetches = Counter(r.path.rsplit("/", 1)[-1] for r in standin.requests
                      if r.method == "GET" and "/Media/ME" in r.path)
    assert len(fetches) == 3 and set(fetches.values()) == {1}, fetches
    with app.app_context():
        statuses = db.session.scalars(select(MediaItem.status)).all()
        assert statuses == ["stored"] * 3
    assert len(standin.deleted_media) == 3
