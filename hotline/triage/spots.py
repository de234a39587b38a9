"""Pass 4 of reading a place: the spot on the street. With an OpenStreetMap import
(`hotline.triage.osm`), the address, corner, street or named place a message gives is put at
its imported coordinates (`source = "osm"`); without one, nothing changes.

Which of several spots of one name: the jurisdiction the message names (or the line called),
then the spot nearest the neighbourhood or city named, then nearest the sender's area code.
A corner of two streets with no place named is placed when only one jurisdiction has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hotline.triage.gazetteer import Gazetteer
from hotline.triage.osm import Spot, street_key
from hotline.triage.places import Place

if TYPE_CHECKING:
    from hotline.triage.location import Location

# what a message's street label is split on into its two streets ("7th & wood")
_CORNER = " & "


def place_at_spot(loc: Location, gazetteer: Gazetteer, hint: Place | None,
                  landmark: str | None = None) -> None:
    """Move `loc` to the imported spot it names, if any (in place)."""
    osm = gazetteer.osm
    if not osm:
        return
    slug = loc.jurisdiction if loc.jurisdiction in osm.slugs else None
    if loc.jurisdiction is not None and slug is None:
        return  # a jurisdiction with nothing imported: as before
    near = (loc.lat, loc.lon) if loc.lat is not None and loc.lon is not None and \
        loc.source not in ("area_code", "hotline_number") else \
        ((hint.lat, hint.lon) if hint is not None and hint.lat is not None else None)
    spot = None
    street = loc.street or ""
    if loc.precision == "address":
        number, _, name = street.partition(" ")
        spot = osm.address(number, name, slug) or osm.street(name, slug, near)
    elif loc.precision == "intersection" and _CORNER in street:
        first, _, second = street.partition(_CORNER)
        spot = osm.corner(first, second, slug, near)
    elif loc.precision == "street" and street:
        spot = osm.street(street, slug, near)
    if spot is None and landmark is not None:
        spot = _branch(gazetteer, landmark, slug, street, near)
    if spot is None:
        return
    loc.lat, loc.lon, loc.source = spot.lat, spot.lon, "osm"
    if loc.jurisdiction is None:
        j = gazetteer.jurisdictions[spot.slug]
        loc.jurisdiction, loc.state = spot.slug, j.state
        loc.county = j.counties[0] if j.counties else None
    if loc.precision in (None, "city", "area_code"):
        loc.precision = "landmark"


def _branch(gazetteer: Gazetteer, landmark: str, slug: str | None, street: str,
            near: tuple[float, float] | None) -> Spot | None:
    """The branch of a named place (a brand's store, a chain's school) the message means: the
    one on the street it names ("the Home Depot on Western"), else the nearest."""
    spots = gazetteer.osm.places.get(landmark, [])
    if slug is not None:
        spots = [s for s in spots if s.slug == slug]
    if not spots:
        return None
    key = street_key(street) if street else ""
    on_street = [s for s in spots if key and s.data.get("street") == key]
    if on_street:
        spots = on_street
    if len(spots) == 1 or near is None:
        return spots[0] if len({s.slug for s in spots}) == 1 else None
    from hotline.triage.osm import metres  # noqa: PLC0415 - only for several branches

    return min(spots, key=lambda s: metres((s.lat, s.lon), near))
