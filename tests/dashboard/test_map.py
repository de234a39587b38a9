"""The map's data (precision read from where coordinates came from, scope, live JSON with ETags),
the PMTiles basemap served in HTTP ranges, and the incident page's small map."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.dashboard.map_queries import PLACED_LABELS, placed
from hotline.models import Incident
from tests.conftest import run_due_timers
from tests.dashboard.conftest import (
    CORNERS,
    import_chicago_streets,
    login,
    make_user,
    png_tile,
    run_jobs,
    write_pmtiles,
)

CHICAGO_PHONE = "+13125550123"


def map_data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S)
    assert found, "the page carries no map data"
    return json.loads(found.group(1))


def report(app, client, twilio, body: str, sender: str = CHICAGO_PHONE) -> str:
    """An SMS through the signed webhook, triaged; the code of the incident it is in."""
    twilio.post_sms(client, body, from_number=sender)
    run_jobs(app)
    run_due_timers(app, "follow_up_timeout")
    with app.app_context():
        return db.session.scalar(select(Incident.code).order_by(Incident.id.desc()))


@pytest.mark.parametrize(("source", "precision", "zip_code", "expected"), [
    ("osm", "intersection", None, "intersection"),
    ("osm", "address", None, "address"),
    ("osm", "street", None, "street"),  # a street's middle node: not where anything happened
    ("osm", "landmark", None, "landmark"),
    ("landmark", "landmark", "60155", "zip"),  # a configured landmark sits at its ZIP's centre
    ("landmark", "landmark", None, "landmark"),
    # the text names a corner, but without an import its coordinates are the city's
    ("area_code", "intersection", None, "area_code"),
    ("alias_city", "intersection", None, "city"),
    ("city", None, None, "city"),
    ("city_state", "city", None, "city"),
    ("zip", "zip", "60623", "zip"),
    ("neighbourhood", "neighbourhood", "60608", "neighbourhood"),
    ("county", "city", None, "county"),
    ("hotline_number", "area_code", None, "area_code"),
    (None, None, None, "unknown"),
])
def test_precision_is_where_the_coordinates_come_from(source, precision, zip_code, expected):
    assert placed(source, precision, zip_code) == expected
    assert expected in PLACED_LABELS


def test_without_a_street_import_a_named_corner_is_approximate(app, logged_in, twilio):
    """ "Western and 47th" without an OSM import: an intersection in the text, the area code's
    centre on the map. It must be a circle that says so."""
    code = report(app, logged_in, twilio, "ICE at the Home Depot on Western and 47th")
    sf = report(app, logged_in, twilio, "migra en la 24 y mission sf", "+14155550123")
    points = {p["code"]: p for p in logged_in.get("/live/map").json["points"]}
    assert points[code]["approximate"] is True
    assert points[code]["precision"] == "area_code"
    assert points[code]["precision_label"] == "approximate: area code only"
    assert points[sf]["precision_label"] == "approximate: city only"


def test_an_imported_corner_is_a_spot(app, logged_in, twilio, tmp_path):
    import_chicago_streets(app, tmp_path)
    code = report(app, logged_in, twilio, "ICE at the Home Depot on Western and 47th")
    point = next(p for p in logged_in.get("/live/map").json["points"] if p["code"] == code)
    assert point["approximate"] is False and point["precision"] == "intersection"
    assert (point["lat"], point["lon"]) == pytest.approx(CORNERS["western & 47th"], abs=1e-4)
    assert point["status"] in ("new", "verifying") and point["since"]


def test_an_incident_is_as_precise_as_its_coarsest_best_report(app, logged_in, twilio, tmp_path):
    """Two reports name the same corner; one of them was read before the import (city centre).
    Their mean is no spot, so the incident is drawn as approximate."""
    code = report(app, logged_in, twilio, "ICE at Ashland and 18th right now")
    import_chicago_streets(app, tmp_path)
    assert report(app, logged_in, twilio, "migra en Ashland y 18", "+13125550124") == code
    point = next(p for p in logged_in.get("/live/map").json["points"] if p["code"] == code)
    assert point["approximate"] is True and point["precision"] == "area_code"


def test_live_map_is_json_with_an_etag_and_304_when_unchanged(app, logged_in, twilio):
    first = logged_in.get("/live/map")
    assert first.status_code == 200 and first.json == {"points": []}
    assert first.headers["Cache-Control"] == "no-store"
    etag = first.headers["ETag"]
    assert logged_in.get("/live/map", headers={"If-None-Match": etag}).status_code == 304
    code = report(app, logged_in, twilio, "ICE at Ashland and 18th right now")
    changed = logged_in.get("/live/map", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and [p["code"] for p in changed.json["points"]] == [code]
    page = map_data(logged_in.get("/map").text)
    assert page["live"]["etag"] == changed.headers["ETag"].strip('"')


def test_live_map_answers_401_when_logged_out(client):
    assert client.get("/live/map").status_code == 401


def test_the_map_shows_only_the_scope(app, client, twilio, seeded):
    make_user(app, "chi@example.org", "dispatcher", jurisdictions=["chicago"])
    assert login(client, "chi@example.org").status_code == 302
    codes = [p["code"] for p in client.get("/live/map").json["points"]]
    assert codes == [seeded["chicago"]]
    data = map_data(client.get("/map").text)
    assert [c["slug"] for c in data["centres"]] == ["chicago"]
    assert data["centres"][0]["source"] == "incidents"


def test_with_no_incident_the_map_opens_on_the_scope_s_jurisdictions(app, client):
    make_user(app, "la@example.org", "dispatcher", jurisdictions=["los-angeles", "chicago"])
    assert login(client, "la@example.org").status_code == 302
    data = map_data(client.get("/map").text)
    assert data["points"] == []
    centres = {c["slug"]: c for c in data["centres"]}
    assert set(centres) == {"los-angeles", "chicago"}
    assert centres["los-angeles"]["source"] == "gazetteer"
    assert centres["los-angeles"]["lat"] == pytest.approx(34.05, abs=0.1)
    assert centres["chicago"]["lon"] == pytest.approx(-87.7, abs=0.2)  # its first city


def test_the_map_page_loads_only_vendored_scripts_and_no_inline_one(logged_in, seeded):
    response = logged_in.get("/map")
    html = response.text
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    for attributes, body in scripts:
        assert 'type="application/json"' in attributes or (
            'src="/static/dashboard/' in attributes and not body.strip())
    for path in ("vendor/leaflet/leaflet.js",
                 "vendor/leaflet.markercluster/leaflet.markercluster.js",
                 "vendor/topojson-client/topojson-client.min.js", "map.js"):
        assert f'src="/static/dashboard/{path}"' in html
    assert "pmtiles.js" not in html  # only with a PMTiles basemap
    data = map_data(html)
    assert data["tiles"] is None and data["pmtiles"] is None
    assert data["statuses"]["new"] == {"label": "new", "glyph": "!"}
    outlines = logged_in.get(data["outlines"])
    topology = json.loads(outlines.data)
    outlines.close()
    assert topology["type"] == "Topology"
    assert {"counties", "states", "nation"} <= set(topology["objects"])
    assert 'data-testid="no-tiles"' in html
    assert seeded["chicago"] in html  # the list below the map
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "blob:" not in response.headers["Content-Security-Policy"]


# -- the PMTiles basemap ---------------------------------------------------------------------

def fetch(client, path: str, **kwargs):
    """GET, read the body, and close the file the response streams from."""
    response = client.get(path, **kwargs)
    response.get_data()
    response.close()
    return response


@pytest.fixture
def archive(tmp_path):
    x, y = 262, 380  # a tile over Chicago at zoom 10
    return write_pmtiles(tmp_path / "basemap.pmtiles", {(10, x, y): png_tile((200, 30, 30))})


@pytest.fixture
def tiled(make_app, archive):
    app = make_app(HOTLINE_PMTILES_PATH=str(archive))
    make_user(app, "dispatcher@example.org", "dispatcher")
    client = app.test_client()
    assert login(client, "dispatcher@example.org").status_code == 302
    return app, client


def test_the_basemap_is_served_in_ranges(tiled, archive):
    _, client = tiled
    data = archive.read_bytes()
    response = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=0-126"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-126/{len(data)}"
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Length"] == "127"
    assert response.headers["Content-Type"] == "application/vnd.pmtiles"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert "Pragma" not in response.headers
    assert response.data == data[:127] and response.data.startswith(b"PMTiles\x03")
    middle = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=200-"})
    assert middle.status_code == 206 and middle.data == data[200:]
    assert middle.headers["Content-Range"] == f"bytes 200-{len(data) - 1}/{len(data)}"
    suffix = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=-16"})
    assert suffix.status_code == 206 and suffix.data == data[-16:]
    whole = fetch(client, "/tiles/basemap.pmtiles")
    assert whole.status_code == 200 and whole.data == data
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["ETag"]


def test_the_first_16_kib_of_a_small_archive_is_the_whole_file(tiled, archive):
    """pmtiles.js asks for bytes 0-16383 first, whatever the archive's size."""
    _, client = tiled
    size = archive.stat().st_size
    assert size < 16384
    response = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=0-16383"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 0-{size - 1}/{size}"


@pytest.mark.parametrize("header", ["bytes={size}-", "bytes={size}-{end}", "bytes=9-2",
                                    "bytes=0-1,5-6"])
def test_a_range_outside_the_file_is_416(tiled, archive, header):
    _, client = tiled
    size = archive.stat().st_size
    response = fetch(client, "/tiles/basemap.pmtiles",
                          headers={"Range": header.format(size=size, end=size + 10)})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{size}"


def test_the_basemap_needs_a_login(make_app, archive):
    client = make_app(HOTLINE_PMTILES_PATH=str(archive)).test_client()
    response = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=0-126"})
    assert response.status_code == 401
    assert b"PMTiles" not in response.data


@pytest.mark.parametrize("path", [
    "/tiles/../instance/secrets.json", "/tiles/%2e%2e/secrets.json", "/tiles/..%2fhotline0.db",
    "/tiles/basemap.pmtiles/../../hotline0.db", "/tiles/hotline0.db", "/tiles/secrets.json",
    "/tiles/basemap.pmtiles%00.db", "/tiles//etc/passwd", "/tiles/%2Fetc%2Fpasswd",
])
def test_no_other_file_can_be_reached(tiled, tmp_path, path):
    """The route has no path of its own: only the configured file is ever sent."""
    _, client = tiled
    response = fetch(client, path, headers={"Range": "bytes=0-200"})
    assert response.status_code in (400, 404, 308)  # 400: a NUL is refused
    assert b"SQLite" not in response.data and b"root:" not in response.data
    assert b"SECRET_KEY" not in response.data


def test_without_a_basemap_the_route_is_404(logged_in):
    assert fetch(logged_in, "/tiles/basemap.pmtiles").status_code == 404


def test_a_basemap_removed_after_start_is_404(tiled, archive):
    _, client = tiled
    archive.unlink()
    response = fetch(client, "/tiles/basemap.pmtiles", headers={"Range": "bytes=0-9"})
    assert response.status_code == 404


def test_the_map_page_reads_the_basemap_with_blob_images_allowed(tiled):
    _, client = tiled
    response = client.get("/map")
    data = map_data(response.text)
    assert data["pmtiles"] == "/tiles/basemap.pmtiles" and data["tiles"] is None
    assert 'src="/static/dashboard/vendor/pmtiles/pmtiles.js"' in response.text
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: blob:;" in csp
    assert "connect-src 'self';" in csp and "script-src 'self';" in csp
    assert "worker-src" not in csp
    assert 'data-testid="no-tiles"' not in response.text


# -- the incident page -------------------------------------------------------------------

def test_the_incident_page_maps_its_reports_and_names_verifiers_near_it(app, logged_in, twilio,
                                                                     tmp_path):
    import_chicago_streets(app, tmp_path)
    code = report(app, logged_in, twilio, "ICE at Ashland and 18th right now")
    html = logged_in.get(f"/incidents/{code}").text
    data = map_data(html)
    assert data["mode"] == "incident" and data["code"] == code
    [point] = data["points"]
    assert point["approximate"] is False and point["precision"] == "intersection"
    assert (point["lat"], point["lon"]) == pytest.approx(CORNERS["ashland & 18th"], abs=1e-4)
    names = [v["name"] for v in data["verifiers"]]
    assert names == ["Carmen Torres", "Kevin Kim"]  # 1.3 and 2.4 km away, nearest first
    assert all(set(v) == {"name", "lat", "lon", "distance_m"} for v in data["verifiers"])
    assert data["verifiers"][0]["distance_m"] < data["verifiers"][1]["distance_m"] <= 5000
    section = html[html.index('id="h-where"'):html.index('id="h-reports"')]
    assert "Carmen Torres" in section and "+1312" not in section and "5550109" not in section
    assert 'src="/static/dashboard/map.js"' in html


def test_verifiers_further_than_5_km_are_left_out(app, logged_in, twilio, tmp_path):
    import_chicago_streets(app, tmp_path)
    code = report(app, logged_in, twilio, "ICE at Western and 47th right now")
    data = map_data(logged_in.get(f"/incidents/{code}").text)
    assert data["verifiers"] == []  # Carmen Torres is 6 km away


def test_viewers_see_the_reports_places_but_no_verifier(app, client, twilio, tmp_path):
    import_chicago_streets(app, tmp_path)
    code = report(app, client, twilio, "ICE at Ashland and 18th right now")
    make_user(app, "viewer@example.org", "viewer")
    assert login(client, "viewer@example.org").status_code == 302
    html = client.get(f"/incidents/{code}").text
    data = map_data(html)
    assert len(data["points"]) == 1 and data["verifiers"] == []
    # (the verifiers' answers name whoever was asked, as before; where verifiers are is not
    # shown to a viewer)
    section = html[html.index('id="h-where"'):html.index('id="h-reports"')]
    assert "Carmen Torres" not in section and 'data-testid="verifiers-near"' not in section


def test_an_incident_with_no_placed_report_has_no_map(app, logged_in, twilio):
    code = report(app, logged_in, twilio, "ICE raid in Phoenix AZ right now", "+16025550123")
    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        for item in incident.reports:
            item.lat = item.lon = None
        db.session.commit()
    html = logged_in.get(f"/incidents/{code}").text
    assert 'id="map-data"' not in html and "leaflet.js" not in html
