"""A place a message may name, as the passes of `hotline.triage.location` find them."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.triage.gazetteer import Named
from hotline.triage.places import Place


@dataclass
class Candidate:
    """One place found in a message: where, how it was named, whose jurisdiction, where in
    the message."""

    place: Place
    source: str  # city_state | zip | landmark | neighbourhood | alias_city | county | city | ...
    text: str
    slug: str | None
    position: int
    # the same name in other jurisdictions ("Chinatown"): settled by the rest of the message
    others: tuple[Named, ...] = ()
    imported: str | None = None  # the phrase of a place imported from OpenStreetMap
