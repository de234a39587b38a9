"""The board, the incident list, live fragments with ETags, scopes, the map, response headers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from hotline.accounts.scope import scope_of
from hotline.core.extensions import db
from hotline.dashboard import queries
from hotline.models import Incident, User, utcnow
from tests.dashboard.conftest import login, make_user, post_form


def test_board_groups_open_incidents_by_jurisdiction_with_the_out_of_area_queue(logged_in,
                                                                                 seeded):
    page = logged_in.get("/")
    assert page.status_code == 200
    html = page.text
    for slug in ("chicago", "san-francisco", "none"):
        section = html.split(f'id="j-{slug}"', 1)[1].split("</section>", 1)[0]
        assert seeded[slug] in section
    assert "Outside every jurisdiction" in html
    assert "Nothing open in" in html  # quiet jurisdictions are listed in one line


def test_board_orders_unverified_first_oldest_first(app, logged_in, seeded):
    with app.app_context():
        rows = {i.code: i for i in db.session.scalars(select(Incident))}
        chicago = rows[seeded["chicago"]]
        for minutes, status in ((30, "routed"), (20, "new"), (10, "verifying")):
            db.session.add(Incident(code=f"T{minutes}", jurisdiction_id=chicago.jurisdiction_id,
                                    status=status,
                                    first_seen_at=utcnow() - timedelta(minutes=minutes),
                                    last_seen_at=utcnow()))
        db.session.commit()
        user = db.session.scalar(select(User))
        board = queries.board(db.session, scope_of(db.session, user))
    group = next(g for g in board.groups if g.slug == "chicago")
    assert [i.code for i in group.incidents][:3] == ["T20", "T10", seeded["chicago"]]
    assert group.incidents[-1].code == "T30"  # verified ones after every unverified one
    assert group.counts["new"] == 1 and group.oldest_unverified is not None


def test_board_limits_rows_per_jurisdiction_and_links_to_the_rest(app, logged_in, seeded):
    with app.app_context():
        jid = db.session.scalar(select(Incident.jurisdiction_id).where(
            Incident.code == seeded["chicago"]))
        for n in range(queries.PER_JURISDICTION + 5):
            db.session.add(Incident(code=f"M{n:03d}", jurisdiction_id=jid, status="new"))
        db.session.commit()
    html = logged_in.get("/").text
    assert "and 6 more open in Chicago" in html


def test_a_scoped_dispatcher_sees_only_their_jurisdictions(app, client, seeded):
    make_user(app, "sf@example.org", "dispatcher", jurisdictions=["san-francisco"])
    login(client, "sf@example.org")
    html = client.get("/").text
    assert seeded["san-francisco"] in html
    assert seeded["chicago"] not in html and seeded["none"] not in html
    assert client.get(f"/incidents/{seeded['chicago']}").status_code == 404
    assert seeded["chicago"] not in client.get("/incidents").text


@pytest.mark.parametrize(("query", "expected"), [
    ("", {"chicago", "san-francisco", "none"}),
    ("?jurisdiction=chicago", {"chicago"}),
    ("?jurisdiction=none", {"none"}),
    ("?status=open", {"chicago", "san-francisco", "none"}),
    ("?status=resolved", set()),
    ("?period=1h", {"chicago", "san-francisco", "none"}),
    ("?jurisdiction=atlantis", set()),
    ("?status=bogus&period=bogus&page=x", {"chicago", "san-francisco", "none"}),
])
def test_incident_list_filters(logged_in, seeded, query, expected):
    html = logged_in.get("/incidents" + query).text
    assert {k for k, code in seeded.items() if code in html} == expected


def test_incident_list_time_filter_excludes_old_activity(app, logged_in, seeded):
    with app.app_context():
        old = db.session.scalar(select(Incident).where(Incident.code == seeded["chicago"]))
        old.last_seen_at = utcnow() - timedelta(days=2)
        db.session.commit()
    assert seeded["chicago"] not in logged_in.get("/incidents?period=24h").text
    assert seeded["chicago"] in logged_in.get("/incidents?period=7d").text


def test_live_board_answers_304_until_something_changes(app, logged_in, seeded, twilio):
    first = logged_in.get("/live/board")
    assert first.status_code == 200 and first.headers["ETag"]
    assert "<html" not in first.text  # a fragment
    same = logged_in.get("/live/board", headers={"If-None-Match": first.headers["ETag"]})
    assert same.status_code == 304
    post_form(logged_in, f"/incidents/{seeded['chicago']}/actions", {"action": "verify"})
    changed = logged_in.get("/live/board", headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    assert f'data-code="{seeded["chicago"]}" data-status="routed"' in changed.text


def test_live_board_sees_a_new_incident_from_an_sms(app, logged_in, twilio):
    from tests.dashboard.conftest import CHICAGO_SMS, run_jobs

    etag = logged_in.get("/live/board").headers["ETag"]
    twilio.post_sms(logged_in, CHICAGO_SMS, from_number="+13125550199")
    run_jobs(app)
    response = logged_in.get("/live/board", headers={"If-None-Match": etag})
    assert response.status_code == 200 and 'data-status="' in response.text


def test_live_list_and_incident_fragments(logged_in, seeded):
    rows = logged_in.get("/live/incidents?jurisdiction=chicago")
    assert rows.status_code == 200 and seeded["chicago"] in rows.text
    assert seeded["san-francisco"] not in rows.text
    live = logged_in.get(f"/incidents/{seeded['chicago']}/live")
    assert live.status_code == 200 and 'data-testid="status"' in live.text
    assert logged_in.get(f"/incidents/{seeded['chicago']}/live", headers={
        "If-None-Match": live.headers["ETag"]}).status_code == 304


def test_live_endpoints_answer_401_when_logged_out(client):
    for path in ("/live/board", "/live/incidents", "/incidents/ABCD/live"):
        assert client.get(path).status_code == 401


def test_pages_are_never_cached_and_carry_security_headers(logged_in, seeded):
    for path in ("/", "/incidents", f"/incidents/{seeded['chicago']}", "/map", "/login"):
        response = logged_in.get(path)
        assert response.headers["Cache-Control"] == "no-store"
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY"
    static = logged_in.get("/static/dashboard/hotline.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


def test_map_without_tiles_draws_outlines_and_lists_incidents(logged_in, seeded):
    html = logged_in.get("/map").text
    assert 'data-testid="no-tiles"' in html and "vendor/leaflet/leaflet.js" in html
    assert '"tiles":null' in html.replace(" ", "") and "counties-10m.json" in html
    assert seeded["chicago"] in html


def test_map_with_tiles_loads_the_vendored_leaflet(make_app):
    app = make_app(HOTLINE_TILE_URL="https://{s}.tiles.example.org/{z}/{x}/{y}.png")
    make_user(app, "dispatcher@example.org", "dispatcher")
    client = app.test_client()
    login(client, "dispatcher@example.org")
    response = client.get("/map")
    assert "/static/dashboard/vendor/leaflet/leaflet.js" in response.text
    assert "https://*.tiles.example.org" in response.headers["Content-Security-Policy"]
    leaflet = client.get("/static/dashboard/vendor/leaflet/leaflet.js")
    assert leaflet.status_code == 200 and b"Leaflet" in leaflet.data[:400]
    leaflet.close()


def test_a_non_http_tile_url_is_refused_at_start(make_app):
    import pytest

    from hotline.core.settings import SettingsError

    with pytest.raises(SettingsError, match="^HOTLINE_TILE_URL:"):
        make_app(HOTLINE_TILE_URL="javascript:alert(1)")
