"""The map in real Chromium: offline outlines, pins where their coordinates project, colours by
status, popups, circles for what is only placed to a city, clusters, live updates in place, a
local PMTiles basemap read in HTTP ranges, and the incident page's small map. Screenshots go to
test-artifacts/."""

from __future__ import annotations

import math
import time

import pytest

from tests.browser.conftest import log_in, screenshot
from tests.dashboard.conftest import (
    CORNERS,
    import_chicago_streets,
    png_tile,
    tile_of,
    write_pmtiles,
)

pytestmark = pytest.mark.browser

WESTERN_47TH = ("ICE at the Home Depot on Western and 47th, 3 unmarked vans", "+13125550123")
ASHLAND_18TH = ("ICE at Ashland and 18th, they took 2 people", "+17735550124")
ASHLAND_47TH = ("migra en Ashland y 47 ahorita", "+13125550125")
SF_CITY_ONLY = ("la migra en la 24 y mission sf, se llevaron a 2", "+14155550123")
# the Okabe-Ito colours of hotline.css, by status
COLOURS = {"new": "rgb(213, 94, 0)", "verifying": "rgb(230, 159, 0)",
           "verified": "rgb(0, 158, 115)", "routed": "rgb(0, 114, 178)",
           "acknowledged": "rgb(204, 121, 167)"}


def incidents(server, count: int, timeout: float = 10) -> list[dict]:
    """The incidents (newest first), once the worker thread has made `count` of them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = server.api("GET", "/incidents").json()["incidents"]
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{count} incidents were not made")


def by_text(server, count: int) -> dict[str, dict]:
    """{location text: incident} of the first `count` incidents."""
    return {i["location"]["text"]: i for i in incidents(server, count)}


def watch_console(page) -> list[str]:
    """Console errors the page logs (a Content-Security-Policy refusal is one)."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    return errors


def open_map(page, server, path: str = "/map") -> None:
    page.goto(server.url + path)
    page.wait_for_selector("#map[data-outlines=drawn]")


def zoom_to(page, lat: float, lon: float, zoom: int) -> None:
    page.evaluate("([lat, lon, zoom]) => window.hotlineMap.setView([lat, lon], zoom, "
                  "{animate: false})", [lat, lon, zoom])
    # markercluster re-clusters on zoomend with a 200 ms animation (a timer, late under load):
    # wait until no cluster group is animating, rather than a fixed time
    page.wait_for_function("""() => {
        const map = window.hotlineMap;
        if (map.getPane("mapPane").classList.contains("leaflet-cluster-anim")) { return false; }
        let idle = true;
        map.eachLayer(function (layer) { if (layer._inZoomAnimation) { idle = false; } });
        return idle;
    }""")


def tip_and_projection(page, selector: str, lat: float, lon: float) -> tuple[dict, dict]:
    """Where the pin's tip is drawn (the bottom centre of its shape, in the map container's
    pixels) and where Leaflet projects the coordinates the API gives."""
    return page.evaluate("""([selector, lat, lon]) => {
        const map = window.hotlineMap;
        const box = document.querySelector(selector + " .pin-body").getBoundingClientRect();
        const frame = map.getContainer().getBoundingClientRect();
        const point = map.latLngToContainerPoint([lat, lon]);
        return [{x: box.left + box.width / 2 - frame.left, y: box.bottom - frame.top},
                {x: point.x, y: point.y}];
    }""", [selector, lat, lon])


def test_offline_map_outlines_pins_colours_popups_and_circles(serve, page, tmp_path):
    server = serve()
    import_chicago_streets(server.app, tmp_path)
    for body, sender in (WESTERN_47TH, ASHLAND_18TH, SF_CITY_ONLY):
        assert server.sms(body, sender).status_code == 200
    placed = by_text(server, 3)
    western = placed["western & 47th"]
    ashland = placed["ashland & 18th"]
    sf = placed["24 & mission, sf"]
    assert server.api("POST", f"/incidents/{ashland['code']}/actions",
                      json={"action": "verify"}).status_code == 200
    ashland_status = server.api("GET", f"/incidents/{ashland['code']}").json()["status"]
    western_status = server.api("GET", f"/incidents/{western['code']}").json()["status"]
    errors = watch_console(page)

    log_in(page, server.url)
    open_map(page, server)
    # the county outlines: SVG paths in the overlay pane, drawn from the vendored topology
    counties = page.locator(".leaflet-overlay-pane svg path.outline-county")
    assert counties.count() == 1 and len(counties.get_attribute("d")) > 10_000
    assert page.locator(".leaflet-overlay-pane path.outline-state").count() == 1
    assert page.locator(".leaflet-overlay-pane path.outline-land").count() == 1
    assert page.locator(".leaflet-tile-pane img").count() == 0  # no tiles anywhere
    # the whole scope in view: the two Chicago corners (5 km apart) are one cluster
    cluster = page.locator(".leaflet-marker-icon.cluster[data-count='2']")
    assert cluster.is_visible()
    assert "2 close together" in cluster.get_attribute("aria-label")
    # San Francisco is only known to the city: a circle that says so, and no pin
    circle = page.locator(f".leaflet-overlay-pane path.approx[data-ids~='{sf['code']}']")
    assert circle.get_attribute("data-precision") == "city"
    assert "approximate: city only" in circle.get_attribute("aria-label")
    assert page.locator(f".leaflet-marker-icon[data-code='{sf['code']}']").count() == 0
    assert page.get_by_text("approximate: city only", exact=True).first.is_visible()
    screenshot(page, "map-01-offline-scope")
    # at city zoom the circle is 1.5 km around the city's centre: 3 km across
    zoom_to(page, sf["location"]["lat"], sf["location"]["lon"], 13)
    across = circle.evaluate("el => el.getBoundingClientRect().width")
    metres_per_pixel = 40_075_016.686 * math.cos(math.radians(sf["location"]["lat"])) / 2 ** 21
    assert across * metres_per_pixel == pytest.approx(3000, rel=0.05)
    screenshot(page, "map-01-city-only-circle")
    assert page.locator(f".leaflet-marker-icon[data-code='{sf['code']}']").count() == 0

    zoom_to(page, 41.833, -87.675, 13)
    pins = page.locator(".leaflet-marker-icon.pin")
    assert pins.count() == 2  # one per open incident placed at a spot
    for incident, status in ((western, western_status), (ashland, ashland_status)):
        selector = f".leaflet-marker-icon.pin[data-code='{incident['code']}']"
        pin = page.locator(selector)
        assert pin.get_attribute("data-status") == status
        assert f"Incident {incident['code']}: " in pin.get_attribute("aria-label")
        assert pin.get_attribute("title") == pin.get_attribute("aria-label")
        location = incident["location"]
        tip, projected = tip_and_projection(page, selector, location["lat"], location["lon"])
        assert abs(tip["x"] - projected["x"]) <= 2 and abs(tip["y"] - projected["y"]) <= 2, \
            (tip, projected)
        fill = pin.locator(".pin-body").evaluate("el => getComputedStyle(el).fill")
        assert fill == COLOURS[status]
        swatch = page.locator(f".map-legend .swatch.status-{status}")
        assert swatch.evaluate("el => getComputedStyle(el).backgroundColor") == fill
    # and the pins are at the corners OpenStreetMap has, not at the city's centre
    assert (western["location"]["lat"], western["location"]["lon"]) == pytest.approx(
        CORNERS["western & 47th"], abs=1e-4)
    screenshot(page, "map-02-chicago-pins")

    # from the keyboard: a pin takes the focus, Enter opens its popup
    page.locator(f".leaflet-marker-icon.pin[data-code='{ashland['code']}']").focus()
    page.keyboard.press("Enter")
    assert ashland["code"] in page.locator(".leaflet-popup-content").inner_text()
    page.locator(".leaflet-popup-close-button").click()
    page.locator(".leaflet-popup").wait_for(state="detached")

    page.locator(f".leaflet-marker-icon.pin[data-code='{western['code']}']").click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    link = popup.get_by_role("link", name=western["code"])
    assert link.get_attribute("href") == f"/incidents/{western['code']}"
    assert "at the corner" in popup.inner_text() and "first report" in popup.inner_text()
    assert "41.80890, -87.68450" in popup.inner_text()
    screenshot(page, "map-03-popup")
    link.click()
    page.wait_for_url(f"{server.url}/incidents/{western['code']}")
    assert not [e for e in errors if "Content Security Policy" in e]
    assert page.errors == []


def test_the_list_below_the_map_names_every_incident_and_its_precision(serve, page, tmp_path):
    server = serve()
    import_chicago_streets(server.app, tmp_path)
    for body, sender in (WESTERN_47TH, SF_CITY_ONLY):
        assert server.sms(body, sender).status_code == 200
    placed = by_text(server, 2)
    log_in(page, server.url)
    open_map(page, server)
    rows = page.locator("#map-list li")
    assert rows.count() == 2
    western = page.locator(f"#map-list li[data-code='{placed['western & 47th']['code']}']")
    assert "at the corner" in western.inner_text()
    sf = page.locator(f"#map-list li[data-code='{placed['24 & mission, sf']['code']}']")
    assert "approximate: city only" in sf.inner_text()
    assert page.get_by_test_id("no-tiles").is_visible()


def test_live_update_adds_a_pin_and_recolours_one_in_place(serve, page, tmp_path):
    server = serve()
    import_chicago_streets(server.app, tmp_path)
    assert server.sms(*WESTERN_47TH).status_code == 200
    [first] = incidents(server, 1)
    log_in(page, server.url)
    open_map(page, server)
    page.evaluate("window.__sameDocument = true")
    pin = f".leaflet-marker-icon.pin[data-code='{first['code']}']"
    page.wait_for_selector(pin)
    page.evaluate("selector => { document.querySelector(selector).__kept = true; }", pin)

    posted = time.monotonic()
    assert server.sms(*ASHLAND_47TH).status_code == 200
    fresh = next(i for i in incidents(server, 2) if i["code"] != first["code"])
    added = page.locator(f".leaflet-marker-icon.pin[data-code='{fresh['code']}']")
    added.wait_for(timeout=6000)
    appeared = time.monotonic() - posted
    assert appeared < 4.0, f"the new incident took {appeared:.1f} s to show on the map"
    location = fresh["location"]
    assert (location["lat"], location["lon"]) == pytest.approx(CORNERS["ashland & 47th"],
                                                               abs=1e-4)
    tip, projected = tip_and_projection(
        page, f".leaflet-marker-icon.pin[data-code='{fresh['code']}']", location["lat"],
        location["lon"])
    assert abs(tip["x"] - projected["x"]) <= 2 and abs(tip["y"] - projected["y"]) <= 2
    page.locator(f"#map-list li[data-code='{fresh['code']}']").wait_for()
    assert page.locator("#map-count").inner_text() == "2"
    assert f"New incident {fresh['code']}" in page.locator("#announcer").inner_text()

    assert server.api("POST", f"/incidents/{first['code']}/actions",
                      json={"action": "verify"}).status_code == 200
    status = server.api("GET", f"/incidents/{first['code']}").json()["status"]
    page.wait_for_selector(f"{pin}[data-status='{status}']", timeout=6000)
    assert page.evaluate("selector => document.querySelector(selector).__kept === true", pin), \
        "the pin was replaced instead of updated in place"
    fill = page.locator(f"{pin} .pin-body").evaluate("el => getComputedStyle(el).fill")
    assert fill == COLOURS[status]
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "map-04-live-update")
    assert page.errors == []


def test_a_local_pmtiles_basemap_is_read_in_ranges_and_drawn(serve, page, tmp_path):
    lat, lon = CORNERS["western & 47th"]
    x, y = tile_of(lat, lon, 12)
    archive = write_pmtiles(tmp_path / "basemap.pmtiles",
                            {(12, x, y): png_tile((200, 30, 30))})
    server = serve(HOTLINE_PMTILES_PATH=str(archive), HOTLINE_TILE_ATTRIBUTION="test tiles")
    import_chicago_streets(server.app, tmp_path)
    assert server.sms(*WESTERN_47TH).status_code == 200
    incidents(server, 1)
    errors = watch_console(page)
    exchanges: list[tuple[str | None, int, str | None]] = []
    page.on("response", lambda response: exchanges.append(
        (response.request.headers.get("range"), response.status,
         response.headers.get("content-range")))
        if response.url.endswith("/tiles/basemap.pmtiles") else None)

    log_in(page, server.url)
    open_map(page, server)
    zoom_to(page, lat, lon, 12)
    tile = page.locator(".leaflet-tile-pane img.leaflet-tile[src^='blob:']")
    tile.first.wait_for(timeout=6000)
    page.wait_for_function("""() => [...document.querySelectorAll(
        ".leaflet-tile-pane img.leaflet-tile[src^='blob:']")].some(
        img => img.complete && img.naturalWidth === 256)""")
    colour = tile.first.evaluate("""img => {
        const canvas = document.createElement("canvas");
        canvas.width = canvas.height = 8;
        const context = canvas.getContext("2d");
        context.drawImage(img, 0, 0, 8, 8);
        return Array.from(context.getImageData(4, 4, 1, 1).data.slice(0, 3));
    }""")
    assert colour == [200, 30, 30]  # the archive's own tile, drawn
    assert page.locator("#map").get_attribute("data-basemap") == "pmtiles"
    assert exchanges, "the page never asked Hotline for the basemap"
    for requested, status, content_range in exchanges:
        assert requested and requested.startswith("bytes=")
        assert status == 206 and content_range.startswith("bytes ")
    # the outlines are drawn above the tiles, without the land's fill
    assert page.locator(".leaflet-overlay-pane path.outline-county").count() == 1
    assert page.locator(".leaflet-overlay-pane path.outline-land").count() == 0
    assert "test tiles" in page.locator(".leaflet-control-attribution").inner_text()
    screenshot(page, "map-05-pmtiles-basemap")
    assert not [e for e in errors if "Content Security Policy" in e]
    assert page.errors == []


def test_the_incident_page_maps_its_reports_and_the_verifiers_near_it(serve, page, tmp_path):
    server = serve()
    import_chicago_streets(server.app, tmp_path)
    assert server.sms(*ASHLAND_18TH).status_code == 200
    [incident] = incidents(server, 1)
    errors = watch_console(page)
    log_in(page, server.url)
    open_map(page, server, f"/incidents/{incident['code']}")
    pin = page.locator(".leaflet-marker-icon.pin[data-id^='report-']")
    assert pin.count() == 1 and "at the corner" in pin.get_attribute("aria-label")
    location = incident["location"]
    tip, projected = tip_and_projection(page, ".leaflet-marker-icon.pin[data-id^='report-']",
                                        location["lat"], location["lon"])
    assert abs(tip["x"] - projected["x"]) <= 2 and abs(tip["y"] - projected["y"]) <= 2
    verifiers = page.locator(".leaflet-marker-icon.verifier-dot")
    assert sorted(verifiers.evaluate_all("els => els.map(e => e.dataset.verifier)")) == [
        "Carmen Torres", "Kevin Kim"]
    carmen = page.locator(".verifier-dot[data-verifier='Carmen Torres']")
    assert "km from the incident" in carmen.get_attribute("title")
    carmen.click()
    assert "Carmen Torres" in page.locator(".leaflet-popup-content").inner_text()
    where = page.locator("section.where").inner_html()
    assert "5550109" not in where and "+1" not in where  # a verifier's number never
    assert "Carmen Torres" in page.get_by_test_id("verifiers-near").inner_text()
    screenshot(page, "map-06-incident-page")
    assert not [e for e in errors if "Content Security Policy" in e]
    assert page.errors == []


def test_the_map_on_a_phone_sized_screen(serve, chromium, tmp_path):
    server = serve()
    import_chicago_streets(server.app, tmp_path)
    for body, sender in (WESTERN_47TH, SF_CITY_ONLY):
        assert server.sms(body, sender).status_code == 200
    incidents(server, 2)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    page = context.new_page()
    try:
        log_in(page, server.url)
        open_map(page, server)
        assert page.evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth + 1"), \
            "the map page overflows a phone-sized screen"
        assert page.locator("#map").bounding_box()["height"] >= 250
        assert page.locator(".map-legend").is_visible()
        screenshot(page, "map-07-phone")
    finally:
        context.close()
