"""Dashboard fixtures: accounts of every role, a logged-in client, incidents from real SMS."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from hotline.accounts import users
from hotline.core.extensions import db
from hotline.intake import store
from hotline.jobs import outbox
from hotline.models import Call, CallLeg, Jurisdiction, Responder, User, utcnow
from tests.conftest import run_due_timers

PASSWORD = "correct horse battery staple"
CHICAGO_SMS = "ICE at the Home Depot on Western and 47th, 3 unmarked vans"
SF_SMS = "migra en la 24 y mission sf"
OUTSIDE_SMS = "ICE raid in Phoenix AZ right now"


# calls (tests/dashboard/test_calls.py, the browser tests)
CALLER = "+17735550142"  # a Chicago caller: none of these digits may reach a page
CALLER_DIGITS = ("7735550142", "5550142", "0142")
CHICAGO_LINE, LA_LINE = "+13125550197", "+12135550198"
MARISOL = "chicago-volunteer-7"  # Marisol Reyes: es, en; on shift every day, all day
ANNA = "chicago-volunteer-8"  # Anna Kowalski: pl, en
LA_VOLUNTEER = "los-angeles-volunteer-7"
PLACE = "Home Depot on Western and 47th"


def make_call(app: Any, n: int, state: str = "ringing", jurisdiction: str = "chicago",
              rung: tuple[str, ...] = (MARISOL,), answered_by: str | None = None,
              language: str | None = "es", minutes_ago: float = 1, **columns: Any) -> int:
    """A call row as the voice webhooks leave it (the caller a reporter, legs rung)."""
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        reporter = store.upsert_reporter(db.session, vault, CALLER)
        jid = db.session.scalar(select(Jurisdiction.id).where(Jurisdiction.slug == jurisdiction))
        ids = dict(db.session.execute(select(Responder.key, Responder.id)).all())
        started = utcnow() - timedelta(minutes=minutes_ago)
        call = Call(call_sid=f"CA{n:032x}", reporter_id=reporter.id, jurisdiction_id=jid,
                    hotline_number=LA_LINE if jurisdiction == "los-angeles" else CHICAGO_LINE,
                    language=language, state=state, flags={}, started_at=started, **columns)
        call.legs = [CallLeg(responder_id=ids[key], status="ringing") for key in rung]
        if answered_by:
            call.answered_by_id, call.answered_at = ids[answered_by], started + timedelta(seconds=8)
        db.session.add(call)
        db.session.commit()
        return call.id


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD, **kwargs: Any) -> Any:
    """Log in through the form, as a browser does."""
    page = client.get("/login")
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": csrf_of(page.text)}, **kwargs)


def post_form(client: FlaskClient, path: str, data: dict[str, Any] | None = None,
              page: str = "/") -> Any:
    """POST a dashboard form with the session's CSRF token."""
    token = csrf_of(client.get(page).text)
    return client.post(path, data={**(data or {}), "csrf_token": token})


def make_user(app: Any, email: str, role: str, **kwargs: Any) -> int:
    with app.app_context():
        user = users.create_user(db.session, email, role, PASSWORD, **kwargs)
        db.session.commit()
        return user.id


def run_jobs(app: Any) -> None:
    while outbox.backend_of(app).run_pending():
        pass


@pytest.fixture
def dispatcher(app) -> int:
    return make_user(app, "dispatcher@example.org", "dispatcher")


@pytest.fixture
def admin(app) -> int:
    return make_user(app, "admin@example.org", "admin")


@pytest.fixture
def logged_in(client, dispatcher) -> FlaskClient:
    assert login(client, "dispatcher@example.org").status_code == 302
    return client


@pytest.fixture
def as_admin(client, admin) -> FlaskClient:
    assert login(client, "admin@example.org").status_code == 302
    return client


@pytest.fixture
def seeded(app, client, twilio) -> dict[str, str]:
    """Three incidents from signed SMS webhooks: Chicago, San Francisco, outside everything."""
    codes = {}
    for name, body, sender in (("chicago", CHICAGO_SMS, "+13125550123"),
                               ("san-francisco", SF_SMS, "+14155550123"),
                               ("none", OUTSIDE_SMS, "+16025550123")):
        twilio.post_sms(client, body, from_number=sender)
        run_jobs(app)
        run_due_timers(app, "follow_up_timeout")  # "where?" unanswered: it joins an incident
        with app.app_context():
            from sqlalchemy import select

            from hotline.models import Incident
            codes[name] = db.session.scalar(select(Incident.code).order_by(Incident.id.desc()))
    return codes


def get_user(app: Any, email: str) -> User:
    with app.app_context():
        from sqlalchemy import select
        user = db.session.scalar(select(User).where(User.email == email))
        db.session.expunge(user)
        return user


# -- the map (tests/dashboard/test_map.py, tests/browser/test_map_browser.py) ---------------

# Four Chicago streets as OpenStreetMap has them, crossing at their real corners
CORNERS = {"western & 47th": (41.8089, -87.6845), "western & 18th": (41.8579, -87.6845),
           "ashland & 47th": (41.8089, -87.6664), "ashland & 18th": (41.8579, -87.6664)}
CHICAGO_STREETS = """\
<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hotline tests">
  <node id="1" lat="41.8089" lon="-87.6845"/><node id="2" lat="41.8579" lon="-87.6845"/>
  <node id="3" lat="41.8089" lon="-87.6664"/><node id="4" lat="41.8579" lon="-87.6664"/>
  <node id="5" lat="41.7900" lon="-87.6845"/><node id="6" lat="41.8700" lon="-87.6845"/>
  <node id="7" lat="41.7900" lon="-87.6664"/><node id="8" lat="41.8700" lon="-87.6664"/>
  <node id="9" lat="41.8089" lon="-87.7000"/><node id="10" lat="41.8089" lon="-87.6500"/>
  <node id="11" lat="41.8579" lon="-87.7000"/><node id="12" lat="41.8579" lon="-87.6500"/>
  <way id="100"><nd ref="5"/><nd ref="1"/><nd ref="2"/><nd ref="6"/>
    <tag k="highway" v="primary"/><tag k="name" v="South Western Avenue"/></way>
  <way id="101"><nd ref="7"/><nd ref="3"/><nd ref="4"/><nd ref="8"/>
    <tag k="highway" v="primary"/><tag k="name" v="South Ashland Avenue"/></way>
  <way id="102"><nd ref="9"/><nd ref="1"/><nd ref="3"/><nd ref="10"/>
    <tag k="highway" v="secondary"/><tag k="name" v="West 47th Street"/></way>
  <way id="103"><nd ref="11"/><nd ref="2"/><nd ref="4"/><nd ref="12"/>
    <tag k="highway" v="secondary"/><tag k="name" v="West 18th Street"/></way>
</osm>
"""


def import_chicago_streets(app: Any, folder: Any) -> None:
    """Import the four streets for the chicago jurisdiction, as `hotline geo import` does, so
    that "Western and 47th" is placed at its corner, not at the city's centre."""
    from hotline.geodata.osm_import import read_extract, store_features

    path = folder / "chicago-streets.osm"
    path.write_text(CHICAGO_STREETS, encoding="utf-8")
    features, _ = read_extract(path)
    with app.app_context():
        store_features(db.session, "chicago", features)
        db.session.commit()


def png_tile(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    """A one-colour PNG (written by hand: no imaging library needed)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


def tile_of(lat: float, lon: float, zoom: int) -> tuple[int, int]:
    """The web-mercator tile (x, y) holding a point at `zoom`."""
    import math

    n = 2 ** zoom
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def write_pmtiles(path: Any, tiles: dict[tuple[int, int, int], bytes], tile_type: str = "png",
                  bounds: tuple[float, float, float, float] = (-88.0, 41.6, -87.5, 42.1)) -> Any:
    """A PMTiles v3 archive of `tiles` ({(z, x, y): bytes}), written with protomaps' own
    Python library (header, root directory, metadata, the tiles)."""
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import write

    zooms = [z for z, _, _ in tiles]
    with write(str(path)) as writer:
        for (z, x, y), data in sorted(tiles.items(), key=lambda t: zxy_to_tileid(*t[0])):
            writer.write_tile(zxy_to_tileid(z, x, y), data)
        west, south, east, north = bounds
        writer.finalize({
            "tile_type": getattr(TileType, tile_type.upper()),
            "tile_compression": Compression.NONE,
            "min_zoom": min(zooms), "max_zoom": max(zooms),
            "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
            "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
            "center_zoom": max(zooms), "center_lon_e7": int((west + east) / 2 * 1e7),
            "center_lat_e7": int((south + north) / 2 * 1e7)},
            {"attribution": "test tiles", "name": "hotline tests"})
    return path
