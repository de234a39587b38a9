"""OpenStreetMap import (`hotline geo import`): a real extract of West Oakland (© OpenStreetMap
contributors, ODbL 1.0, ../shared/osm) and synthetic ones for the harder cases; reports placed
at the extract's own nodes, not at the city's centre."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import osmium
import pytest
import yaml
from sqlalchemy import func, select

from hotline.config_loader import load_config
from hotline.core.extensions import db
from hotline.geodata.osm_import import read_extract, store_features
from hotline.incidents.geography import current_gazetteer
from hotline.models import GeoFeature, Report
from hotline.triage import triage_text
from hotline.triage.osm import metres, street_key
from tests.conftest import ROOT, drain

EXTRACT = ROOT.parent / "shared" / "osm" / "west-oakland.osm.bz2"
OAKLAND_PHONE = "+15105550111"  # an Oakland (East Bay) area code

pytestmark = pytest.mark.skipif(not EXTRACT.exists(), reason="../shared/osm is absent")


def alameda_config(folder: Path) -> Path:
    """The demo config plus a jurisdiction for Alameda County (West Oakland is in it)."""
    config = folder / "config"
    shutil.copytree(ROOT / "config", config)
    path = config / "jurisdictions.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["jurisdictions"].append({
        "slug": "alameda-county", "name": "Alameda County", "state": "CA",
        "timezone": "America/Los_Angeles", "counties": ["Alameda"], "cities": ["Oakland"],
        "aliases": {"west oakland": {"city": "Oakland", "kind": "neighbourhood"}},
        "languages": ["en", "es", "zh", "vi"]})
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    networks = config / "networks.yaml"
    data = yaml.safe_load(networks.read_text(encoding="utf-8"))
    data["networks"].append({
        "slug": "alameda-legal", "name": "Alameda County Rapid Response", "timezone":
        "America/Los_Angeles", "serves": ["alameda-county"],
        "members": [
            {"key": "alameda-lawyer-1", "name": "Ana Ruiz", "role": "lawyer",
             "phone": "+15105550181", "languages": ["en", "es"]},
            # 30 m from 7th and Wood, and about 4.5 km away (by Oakland's centre)
            {"key": "alameda-verifier-near", "name": "Luz Near", "role": "verifier",
             "phone": "+15105550182", "languages": ["en", "es"], "lat": 37.8072,
             "lon": -122.3021},
            {"key": "alameda-verifier-far", "name": "Tom Far", "role": "verifier",
             "phone": "+15105550183", "languages": ["en", "es"], "lat": 37.8044,
             "lon": -122.2712}],
        "rotations": [{"name": "primary", "period": "weekly", "starts_on": "2026-01-05",
                       "members": ["alameda-lawyer-1"]}]})
    networks.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


@pytest.fixture
def app(make_app, tmp_path):
    config = alameda_config(tmp_path)
    application = make_app(HOTLINE_CONFIG_DIR=str(config))
    with application.app_context():
        load_config(db.session, application.extensions["hotline_vault"], config)
        db.session.commit()
    return application


def imported(app, extract: Path, slug: str = "alameda-county") -> int:
    features, _ = read_extract(extract)
    with app.app_context():
        stored = store_features(db.session, slug, features)
        db.session.commit()
    return stored


def shared_nodes(extract: Path, *streets: str) -> list[tuple[float, float]]:
    """The extract's own nodes shared by ways of these names (read here, not by Hotline): a
    dual carriageway meets a street at two nodes a few metres apart."""
    ways: dict[str, set[int]] = {name: set() for name in streets}
    at: dict[int, tuple[float, float]] = {}

    class Reader(osmium.SimpleHandler):
        def way(self, w):
            name = w.tags.get("name")
            if name in ways:
                for node in w.nodes:
                    ways[name].add(node.ref)
                    at[node.ref] = (node.location.lat, node.location.lon)

    Reader().apply_file(str(extract), locations=True)
    nodes = set.intersection(*ways.values())
    assert nodes, streets
    return [at[node] for node in nodes]


def near(spot: tuple[float, float], nodes: list[tuple[float, float]]) -> float:
    return min(metres(spot, node) for node in nodes)


def test_the_import_counts_what_it_found_and_a_second_one_replaces_the_first(app):
    features, counts = read_extract(EXTRACT)
    assert counts.streets >= 7 and counts.corners >= 10 and counts.places >= 10
    assert counts.addresses >= 2 and counts.objects == 512
    first = imported(app, EXTRACT)
    second = imported(app, EXTRACT)
    with app.app_context():
        assert first == second == len(features)
        assert db.session.scalar(select(func.count(GeoFeature.id))) == first
        keys = set(db.session.scalars(select(GeoFeature.key).where(
            GeoFeature.kind == "street")))
        assert {"7", "8", "9", "wood", "willow", "chase", "campbell", "goss"} <= keys


@pytest.mark.parametrize("text", [
    "ICE at 7th and Wood in West Oakland",
    "ICE at Wood & 7th St, Oakland",
    "la migra esta en la 7 y Wood en Oakland",
    "agents at W 7th Street and Wood Street right now",
])
def test_a_corner_is_placed_at_the_extract_s_shared_node(app, twilio, text):
    imported(app, EXTRACT)
    corner = shared_nodes(EXTRACT, "7th Street", "Wood Street")
    with app.app_context():
        result = triage_text(text, current_gazetteer(db.session), OAKLAND_PHONE)
    assert result.jurisdiction == "alameda-county" and result.location.source == "osm"
    assert result.location.precision == "intersection"
    assert near((result.location.lat, result.location.lon), corner) < 30


def test_a_reported_corner_reaches_the_report_incident_and_nearest_verifier_as_a_spot(
        app, twilio):
    imported(app, EXTRACT)
    corner = shared_nodes(EXTRACT, "8th Street", "Willow Street")
    twilio.post_sms(app.test_client(), "ICE detaining people at 8th and Willow, West Oakland",
                    from_number=OAKLAND_PHONE)
    drain(app)
    with app.app_context():
        report = db.session.scalar(select(Report))
        assert report.location["source"] == "osm"
        assert near((report.lat, report.lon), corner) < 30
        # the city's centre is kilometres away: that was the old answer
        oakland = current_gazetteer(db.session).places.city("Oakland", "CA")
        assert metres((report.lat, report.lon), (oakland.lat, oakland.lon)) > 1500


def test_a_named_place_and_a_street_alone(app):
    imported(app, EXTRACT)
    with app.app_context():
        gazetteer = current_gazetteer(db.session)
        office = triage_text("ICE vans outside the Oakland Main Post Office", gazetteer,
                             OAKLAND_PHONE).location
        school = triage_text("agents near Prescott School", gazetteer, OAKLAND_PHONE).location
        street = triage_text("migra on Willow Street in Oakland", gazetteer,
                             OAKLAND_PHONE).location
    assert office.source == "osm" and office.precision == "landmark"
    assert 37.805 < office.lat < 37.808 and -122.303 < office.lon < -122.300
    assert school.source == "osm" and school.text == "Prescott School"
    assert street.source == "osm" and street.precision == "street"
    # a point of Willow Street itself (one of its nodes), not the city's centre
    assert near((street.lat, street.lon), shared_nodes(EXTRACT, "Willow Street")) < 1


def test_without_an_import_nothing_changes(app):
    with app.app_context():
        before = triage_text("ICE at 7th and Wood in West Oakland",
                             current_gazetteer(db.session), OAKLAND_PHONE).location
    assert before.source != "osm" and before.precision == "intersection"


SYNTHETIC = """\
<?xml version='1.0' encoding='UTF-8'?>
<osm version="0.6" generator="hotline tests">
  <node id="1" lat="37.8000" lon="-122.2700"/>
  <node id="2" lat="37.8000" lon="-122.2650"/>
  <node id="3" lat="37.8000" lon="-122.2600"/>
  <node id="4" lat="37.8050" lon="-122.2650"/>
  <node id="5" lat="37.7950" lon="-122.2650"/>
  <node id="6" lat="37.8200" lon="-122.2400"/>
  <node id="7" lat="37.8200" lon="-122.2300"/>
  <node id="8" lat="37.8250" lon="-122.2400"/>
  <node id="20" lat="37.8001" lon="-122.2651">
    <tag k="shop" v="doityourself"/><tag k="brand" v="Home Depot"/>
    <tag k="name" v="The Home Depot"/><tag k="addr:street" v="West Forty-Seventh Street"/>
  </node>
  <node id="21" lat="37.8201" lon="-122.2350">
    <tag k="shop" v="doityourself"/><tag k="brand" v="Home Depot"/>
    <tag k="name" v="The Home Depot"/><tag k="addr:street" v="Fruitvale Avenue"/>
  </node>
  <node id="22" lat="37.8010" lon="-122.2620">
    <tag k="amenity" v="school"/><tag k="name" v="Lincoln Elementary School"/>
    <tag k="name:es" v="Escuela Primaria Lincoln"/><tag k="name:zh" v="林肯小学"/>
  </node>
  <node id="23" lat="37.8205" lon="-122.2395">
    <tag k="place" v="neighbourhood"/><tag k="name" v="Dimond District"/>
  </node>
  <node id="24" lat="37.7995" lon="-122.2655">
    <tag k="place" v="neighbourhood"/><tag k="name" v="Clinton"/>
  </node>
  <node id="30" lat="37.8100" lon="-122.2650">
    <tag k="addr:housenumber" v="100"/><tag k="addr:street" v="Fruitvale Avenue"/></node>
  <node id="31" lat="37.8140" lon="-122.2650">
    <tag k="addr:housenumber" v="120"/><tag k="addr:street" v="Fruitvale Avenue"/></node>
  <node id="40" lat="37.8150" lon="-122.2450"/>
  <node id="41" lat="37.8150" lon="-122.2350"/>
  <node id="42" lat="37.8250" lon="-122.2350"/>
  <node id="43" lat="37.8250" lon="-122.2450"/>
  <way id="100"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
    <tag k="highway" v="residential"/><tag k="name" v="West Forty-Seventh Street"/></way>
  <way id="101"><nd ref="4"/><nd ref="2"/><nd ref="5"/>
    <tag k="highway" v="primary"/><tag k="name" v="Fruitvale Avenue"/></way>
  <way id="102"><nd ref="6"/><nd ref="7"/>
    <tag k="highway" v="residential"/><tag k="name" v="W 47th St"/></way>
  <way id="103"><nd ref="8"/><nd ref="6"/>
    <tag k="highway" v="primary"/><tag k="name" v="Fruitvale Avenue"/></way>
  <way id="104"><nd ref="30"/><nd ref="31"/><tag k="addr:interpolation" v="even"/></way>
  <way id="105"><nd ref="40"/><nd ref="41"/><nd ref="42"/><nd ref="43"/><nd ref="40"/></way>
  <relation id="200"><member type="way" ref="105" role="outer"/>
    <tag k="type" v="multipolygon"/><tag k="place" v="neighbourhood"/><tag k="name" v="Laurel"/>
  </relation>
</osm>
"""


@pytest.fixture
def synthetic(app, tmp_path) -> Path:
    path = tmp_path / "synthetic.osm"
    path.write_text(textwrap.dedent(SYNTHETIC), encoding="utf-8")
    imported(app, path)
    return path


def test_street_names_are_keyed_the_way_people_write_them():
    assert {street_key(n) for n in ("West 47th Street", "W 47th St", "47th", "la 47",
                                    "West Forty-Seventh Street", "calle 47")} == {"47"}
    assert street_key("Fruitvale Avenue") == street_key("fruitvale ave") == "fruitvale"
    assert street_key("Avenida Mission") == street_key("Mission St") == "mission"


def test_two_corners_of_one_pair_of_streets_are_told_apart_by_the_neighbourhood(app, synthetic):
    with app.app_context():
        gazetteer = current_gazetteer(db.session)
        clinton = triage_text("ICE at 47th and Fruitvale in Clinton", gazetteer,
                              OAKLAND_PHONE).location
        dimond = triage_text("ICE at Fruitvale y la 47, Dimond District", gazetteer,
                             OAKLAND_PHONE).location
    assert (clinton.lat, clinton.lon) == (37.8, -122.265)
    assert (dimond.lat, dimond.lon) == (37.82, -122.24)


def test_a_brand_s_branch_is_the_one_on_the_street_named(app, synthetic):
    with app.app_context():
        gazetteer = current_gazetteer(db.session)
        fruitvale = triage_text("ICE at the Home Depot on Fruitvale", gazetteer,
                                OAKLAND_PHONE).location
        forty_seventh = triage_text("ICE at the Home Depot on 47th", gazetteer,
                                    OAKLAND_PHONE).location
    assert fruitvale.source == "osm" and (fruitvale.lat, fruitvale.lon) == (37.8201, -122.235)
    assert (forty_seventh.lat, forty_seventh.lon) == (37.8001, -122.2651)


@pytest.mark.parametrize("text", ["ICE en la Escuela Primaria Lincoln, Oakland",
                                  "ICE at Lincoln Elementary School"])
def test_a_place_is_found_by_its_other_languages_names(app, synthetic, text):
    with app.app_context():
        found = triage_text(text, current_gazetteer(db.session), OAKLAND_PHONE).location
    assert found.source == "osm" and (found.lat, found.lon) == (37.801, -122.262)


def test_house_numbers_between_two_addresses_are_interpolated(app, synthetic):
    with app.app_context():
        found = triage_text("ICE at 110 Fruitvale Ave right now", current_gazetteer(db.session),
                            OAKLAND_PHONE).location
    assert found.source == "osm" and found.precision == "address"
    assert (round(found.lat, 4), round(found.lon, 4)) == (37.812, -122.265)


def test_a_neighbourhood_s_boundary_names_it_and_picks_its_corner(app, synthetic):
    with app.app_context():
        gazetteer = current_gazetteer(db.session)
        assert "laurel" in gazetteer.osm.areas
        found = triage_text("migra at 47th and Fruitvale in Laurel", gazetteer,
                            OAKLAND_PHONE).location
    assert (found.lat, found.lon) == (37.82, -122.24)


def test_the_verifier_asked_is_the_one_at_the_corner_not_the_one_by_the_city_centre(app, twilio):
    """The motivating bug: every corner was put at the city's centre, so the verifier near the
    centre was asked while the one 30 m from the corner was not."""
    from hotline.models import Alert, Responder

    imported(app, EXTRACT)
    twilio.post_sms(app.test_client(), "ICE detaining people at 7th and Wood in West Oakland",
                    from_number=OAKLAND_PHONE)
    drain(app)
    with app.app_context():
        asked = db.session.scalars(select(Responder.key).join(
            Alert, Alert.responder_id == Responder.id)).all()
    assert asked and asked[0] == "alameda-verifier-near"
    assert "alameda-verifier-far" not in asked
