"""Location and jurisdiction: the rules a dispatcher relies on."""

from __future__ import annotations

import pytest

from hotline.triage import triage_text
from hotline.triage.location import find_location

CHI, LA, SF, NYC = "+13125550147", "+12135550101", "+14155550123", "+17185550123"


def where(gazetteer, text, from_number=None):
    result = triage_text(text, gazetteer, from_number).public()
    return result["jurisdiction"], result["needs_location"]


@pytest.mark.parametrize(("text", "from_number", "expected"), [
    # "la" in Spanish is an article, never Los Angeles
    ("la migra en la calle", CHI, ("chicago", True)),
    ("la migra en la 24 y mission sf", None, ("san-francisco", False)),
    ("LA MIGRA EN LA VILLITA", None, ("chicago", False)),
    ("SANTA ANA ICE EN LA FIRST Y BRISTOL 4 CARROS", None, ("santa-ana", False)),
    ("la migra en la tienda", None, (None, True)),
    # ... while "LA" / "in LA" is Los Angeles
    ("ICE in LA", None, ("los-angeles", True)),
    ("ICE raid in LA at the Home Depot on Sunset", CHI, ("los-angeles", False)),
    ("Migra en LA en la Cesar Chavez", None, ("los-angeles", False)),
    ("ICE agents in Highland Park LA near York Blvd", None, ("los-angeles", False)),
])
def test_la_is_an_article_in_spanish(gazetteer, text, from_number, expected):
    assert where(gazetteer, text, from_number) == expected


@pytest.mark.parametrize(("text", "from_number", "expected"), [
    ("ICE agents in Denver at Federal and Alameda", CHI, "denver"),
    ("ICE in Philadelphia PA", CHI, "philadelphia"),
    ("ICE in Phoenix AZ", CHI, None),
    ("ICE in Daly City", SF, None),
    ("migra en Tacoma", "+12535550190", None),
    ("la migra en San José hace media hora", LA, "santa-clara-county"),
    ("ICE in brooklyn right now", CHI, "new-york-city"),
])
def test_area_code_never_beats_a_place_in_the_text(gazetteer, text, from_number, expected):
    assert where(gazetteer, text, from_number)[0] == expected


@pytest.mark.parametrize(("text", "from_number", "expected"), [
    ("ICE is here help", CHI, "chicago"),
    ("ICE raid happening now", "+19175550107", "new-york-city"),
    ("hay un reten en la Pico y Alvarado", LA, "los-angeles"),
    ("ICE agents at Federal Blvd and Alameda", "+17205550140", "denver"),
    # a street but no place and no number: nobody can tell the city
    ("checkpoint on Pulaski and Archer, cops and ICE", None, None),
    ("migra en la Grand y Ferry ahorita", None, None),
    # an area code places someone in a county, never in a city-only jurisdiction
    ("ICE at the Home Depot on Harbor", "+17145550155", None),
    ("la migra en la tienda", "+16575550190", None),
    ("agents outside my house", "+12035550141", None),
    ("ICE agents knocking on my door", "+526645550100", None),
])
def test_area_code_fills_in_when_no_place_is_named(gazetteer, text, from_number, expected):
    assert where(gazetteer, text, from_number)[0] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ICE in Santa Ana on Bristol and 1st", "santa-ana"),
    ("ICE in Santa Ana, CA", "santa-ana"),
    ("ICE in Anaheim on Lincoln Ave", None),
    ("migra en Garden Grove", None),
    ("ICE arrests in Costa Mesa", None),
    ("agents in Orange County right now", None),
    ("ICE in New Haven CT", "new-haven"),
    ("ICE in West Haven", None),
    ("ICE in Hamden CT", None),
    ("ICE agents in Cicero IL", "chicago"),
    ("ICE en Berwyn IL en Cermak rd", "chicago"),
    ("ICE in Kent WA", "seattle"),
    ("ICE detaining people at the Travis County courthouse", "austin"),
])
def test_city_rule_before_county_rule(gazetteer, text, expected):
    assert where(gazetteer, text)[0] == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("ICE in Aurora CO", None),
    ("ICE in Aurora IL", None),
    ("ICE en Riverside CA", None),
    ("ICE en Round Rock TX", None),
    ("ICE in Camden NJ", None),
    ("ICE in Oakland on International Blvd", None),
    ("ICE at 1200 Main St Dallas TX 75202", None),
    ("ICE in Gary IN", None),
    ("ICE con perros en east riverside", "austin"),
    ("ICE at the Target in Elmhurst IL", None),  # the state beats the Queens alias
    ("ICE at the Target in Elmhurst", "new-york-city"),
])
def test_out_of_area_is_null(gazetteer, text, expected):
    assert where(gazetteer, text)[0] == expected


@pytest.mark.parametrize(("text", "needs_location"), [
    ("ICE in Chicago right now", True),
    ("ICE in Queens", True),  # a borough is as wide as a city
    ("migra en el bronx ahorita", True),
    ("ICE in New Haven CT right now", True),
    ("ICE at the church, 4 agents", True),
    ("they grabbed a man at the laundromat", True),
    ("hay un operativo de la migra en la escuela de mis hijos", True),
    ("they are checking papers at the bus stop", True),
    ("ICE at the Home Depot", False),  # a named business
    ("la migra esta en la escuela Benito Juarez", False),
    ("ICE agents with masks at Santa Ana College", False),
    ("outside PS 19 in Corona", False),
    ("ICE AT 26TH AND PULASKI NOW", False),
    ("agentes con mascaras en El Monte, en la Garvey", False),
    ("ICE arrests in 94110 right now", False),
    ("ICE in the Fair Haven neighborhood of New Haven CT 06513", False),
    ("ICE at 1300 S Main St Santa Ana CA", False),
])
def test_needs_location(gazetteer, text, needs_location):
    assert where(gazetteer, text)[1] is needs_location


@pytest.mark.parametrize(("text", "street", "precision"), [
    ("ICE at Roosevelt Ave & 82nd St in Jackson Heights", "roosevelt ave & 82nd st",
     "intersection"),
    ("la migra en la 18 y Ashland en Pilsen", "18 & ashland", "intersection"),
    ("ICE at the Home Depot on Western and 47th", "western & 47th", "intersection"),
    ("ICE at 1300 S Main St Santa Ana CA", "1300 s main st", "address"),
    ("CBP agents in Pacoima near Van Nuys Blvd", "van nuys blvd", "street"),
    ("la migra esta en la mision en la calle 22", "calle 22", "street"),
])
def test_streets(gazetteer, text, street, precision):
    loc = find_location(text, gazetteer)
    assert (loc.street, loc.precision) == (street, precision)


def test_public_shape(gazetteer):
    result = triage_text("ICE en Little Village, 26th y Kedzie", gazetteer, CHI).public()
    assert set(result) == {"language", "jurisdiction", "needs_location", "location", "salute",
                           "confidence", "language_confidence"}
    assert set(result["location"]) == {"text", "street", "zip", "city", "county", "state", "lat",
                                       "lon", "source"}
    assert set(result["salute"]) == {"size", "activity", "location", "uniform", "time",
                                     "equipment"}
    assert result["location"]["zip"] == "60623"
    assert result["location"]["state"] == "IL"
    assert 0 <= result["confidence"] <= 1


def test_area_code_fill_reports_its_source(gazetteer):
    loc = find_location("ICE is here help", gazetteer, NYC)
    assert (loc.source, loc.jurisdiction, loc.county) == ("area_code", "new-york-city", "Kings")


def test_the_line_called_places_a_message_with_no_place_and_loses_to_a_named_one(gazetteer):
    """Santa Ana's hotline number says Santa Ana when the text names nothing (the caller's San
    Francisco area code says less); a place the text names wins over both."""
    from hotline.triage.location import find_location

    plain = find_location("agents at the corner store", gazetteer, "+14155550161",
                          called="santa-ana")
    assert plain.jurisdiction == "santa-ana" and plain.source == "hotline_number"
    assert plain.lat is not None
    named = find_location("ICE at Union Station Los Angeles", gazetteer, "+14155550161",
                          called="santa-ana")
    assert named.jurisdiction == "los-angeles"
    by_area = find_location("agents at the corner store", gazetteer, "+14155550161")
    assert by_area.jurisdiction == "san-francisco" and by_area.source == "area_code"


@pytest.mark.parametrize("text,sender,expected", [
    # a town whose name holds a shorter place name is that town (fresh corpus, kind 5)
    ("ICE at the mission viejo mall parking lot", "+19495550173", None),
    ("ICE in south san francisco on grand ave by the caltrain", "+16505550137", None),
    ("ICE in north chicago on sheridan rd by great lakes", "+12245550144", None),
    ("ICE at the manhattan beach pier", "+13105550126", "los-angeles"),
    # a movement: where it is now (kind 6)
    ("ICE went from san francisco to oakland, now at fruitvale bart", "+14155550176", None),
    ("seguimos a la migra de santa ana a anaheim, ahorita estan en la harbor y la katella",
     "+17145550131", None),
    ("ICE from east LA went down the 5 to santa ana, at 4th and main now", "+13235550166",
     "santa-ana"),
    # a common neighbourhood name, from a sender in another state (kind 1)
    ("la migra en capitol hill por la colfax y pennsylvania cerca del capitolio",
     "+17205550116", "denver"),
    ("ICE by ucla in westwood, wilshire and westwood blvd", "+13105550150", "los-angeles"),
    ("ICE at five points marta station downtown atlanta", "+14045550111", None),
    ("ICE on capitol hill dc at the eastern market metro", "+12025550160", None),
    # ... but a sender from a state Hotline does not serve means the configured one
    ("ICE in pilsen at 18th and blue island my cousin texted me", "+13055550127", "chicago"),
    # a nickname that is a big town of the sender's state is that town
    ("ICE at the stonebriar mall in frisco", "+14695550163", None),
    # a big town of the sender's state before a street of that name elsewhere
    ("la migra en aurora", "+13035550184", None),
    ("ICE in aurora on colfax and peoria like 5 agents", "+17205550106", None),
    ("ICE in highland park on york and fig, they took someone", "+13235550119", "los-angeles"),
    ("ICE at whittier and atlantic", "+13235550197", "los-angeles"),
    # a corner of streets Hotline knows in one jurisdiction only, no place named
    ("ICE at grand and ferry", "+12035550168", "new-haven"),
    ("ICE at 26th and kedzie my cousin just texted me", "+16025550183", "chicago"),
    # a bare town of another state loses to the sender's jurisdiction whose streets these are
    ("ICE at Western and Cermak in Austin rn", "+17735550141", "chicago"),
    ("ICE at Western and Cermak in Austin rn", "+15125550141", "austin"),
    ("ICE at Chicago Ave and Central in Austin, 3 cars", "+17735550141", "chicago"),
    ("ICE at Chicago Ave and Central in Austin, 3 cars", "+15125550141", "austin"),
    # the neighbourhoods of the demo config are the jurisdictions' real ones, not a sample
    ("ICE at the home depot on sunset and western in hollywood", "+16025550176",
     "los-angeles"),
    ("ICE in mission hills by the mission on brand blvd", "+18185550173", "los-angeles"),
    ("ICE at the 24th st bart in the mission", "+18185550173", "san-francisco"),
    ("migra en la 47 y ashland en back of the yards", "+16025550176", "chicago"),
    # a big town across the state line from the sender's city; a colour is no town
    ("ICE went from north philly over the bridge to camden, now on broadway", "+12675550134",
     None),
    ("ICE agents in orange vests at the corner store", "+17145550100", None),
    ("ICE agents in orange vests at the corner store, santa ana", "+17145550100", "santa-ana"),
    # a nickname every region has, from a sender of another served state, is their own
    ("ICE in the valley right now be careful", "+19565550104", None),
    ("ICE in the valley right now be careful", "+18185550104", "los-angeles"),
    # a chain store is no town ("Wawa" is also a place in Pennsylvania)
    ("ICE on frankford ave in mayfair by the wawa", "+12155550181", "philadelphia"),
])
def test_places_beyond_the_corpus_the_rules_were_tuned_on(gazetteer, text, sender, expected):
    from hotline.triage.location import find_location

    assert find_location(text, gazetteer, sender).jurisdiction == expected


def test_a_far_neighbourhood_is_still_a_spot_someone_there_can_find(gazetteer):
    from hotline.triage.location import find_location

    found = find_location("ICE in little saigon", gazetteer, "+17145550153")
    assert found.jurisdiction is None and found.is_specific
    assert found.text.startswith("little saigon") or "Little Saigon" in found.text


@pytest.mark.parametrize("text", ["ICE at the santa ana zoo", "ICE at coors field gate A",
                                  "ICE at the manhattan beach pier"])
def test_a_named_zoo_field_or_pier_is_a_spot(gazetteer, text):
    from hotline.triage.location import find_location

    assert find_location(text, gazetteer, "+13035550174").is_specific


def test_a_corner_of_known_streets_with_no_sender_stays_unknown(gazetteer):
    """The earlier corpus's rule: with no area code at all, nothing says which jurisdiction."""
    from hotline.triage.location import find_location

    assert find_location("migra en la Grand y Ferry ahorita", gazetteer).jurisdiction is None
