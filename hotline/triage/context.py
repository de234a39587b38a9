"""Reading a place against the rest of the message: the passes that tell a town from the place
inside its name, a town from a street of that name elsewhere, a common neighbourhood name from
the configured one, and where something is now when a message tells a movement. Written for
messages beyond the corpus the earlier rules were tuned on (`tests/data/triage_fresh.jsonl`).
"""

from __future__ import annotations

from hotline.core.distances import distance_m
from hotline.triage.candidates import Candidate
from hotline.triage.gazetteer import Gazetteer
from hotline.triage.places import Place
from hotline.triage.streets import street_use
from hotline.triage.words import PLACE_PREPOSITIONS, Words


def longer_cities(msg: Words, gazetteer: Gazetteer, hint_state: str | None,
                   candidates: list[Candidate], hint: Place | None = None) -> None:
    """A town whose name holds a shorter place name ("South San Francisco", "Mission Viejo",
    "North Chicago", "West New York", "Manhattan Beach") is that town, not the place inside
    it, when it is a town of the sender's area code's state."""
    if hint_state is None:
        return
    places = gazetteer.places
    for i, word in enumerate(msg.words):
        # "en aurora", "in frisco": a big town of the sender's state, before any street of
        # that name elsewhere ("Aurora Ave" is Seattle's) is read
        following = msg.word(i + 1)
        if msg.free(i, i + 1) and (msg.word(i - 1) in PLACE_PREPOSITIONS or
                                   msg.word(i - 1) in ("to", "from", "desde", "hasta")) and \
                (not following or following in TOWN_FOLLOWERS
                 or following in PLACE_PREPOSITIONS) \
                and word not in gazetteer.named and not _starts_a_name(msg, i, gazetteer) \
                and word.isalpha():
            place = _town_near(word, hint_state, hint, gazetteer)
            if place is not None:
                msg.take(i, i + 1)
                candidates.append(Candidate(place, "city", place.city or word,
                                             gazetteer.jurisdiction_for(place), i))
    for n in (3, 2):
        for i in range(len(msg) - n + 1):
            if not msg.free(i, i + n) or street_use(msg, i, n):
                continue
            gram = " ".join(msg.words[i:i + n])
            if gram in gazetteer.named or hint_state not in places.cities_named(gram):
                continue
            inner = any(" ".join(msg.words[a:b]) in gazetteer.named
                        or places.cities_named(" ".join(msg.words[a:b]))
                        for a in range(i, i + n) for b in range(a + 1, i + n + 1)
                        if (a, b) != (i, i + n))
            place = places.city(gram, hint_state) if inner else None
            if place is not None:
                msg.take(i, i + n)
                candidates.append(Candidate(place, "city", place.city or gram,
                                             gazetteer.jurisdiction_for(place), i))


# what may follow a town's name ("in aurora, now", "en aurora ahorita"), unlike "in orange
# vests" or "at whittier and atlantic"
TOWN_FOLLOWERS = frozenset({",", ".", "!", "?", "now", "ahora", "ahorita", "rn", "right",
                            "today", "hoy", "by", "near", "cerca", "area", "too", "tambien"})


NEAR_TOWN_KM = 60  # a big town across a state line this close to the sender's is theirs


def _town_near(word: str, hint_state: str, hint: Place | None,
               gazetteer: Gazetteer) -> Place | None:
    """A big town (50,000 people or more) of this name in the sender's state, or across a
    state line near the sender's area code's city ("to Camden" from Philadelphia)."""
    places = gazetteer.places
    if places.city_population(word, hint_state) >= 50_000:
        return places.city(word, hint_state)
    if hint is None or hint.lat is None or hint.lon is None:
        return None
    for state in places.cities_named(word):
        place = places.city(word, state)
        if place is not None and place.lat is not None and place.lon is not None and \
                places.city_population(word, state) >= 50_000 and \
                distance_m(hint.lat, hint.lon, place.lat, place.lon) <= NEAR_TOWN_KM * 1000:
            return place
    return None


def _starts_a_name(msg: Words, i: int, gazetteer: Gazetteer) -> bool:
    """Whether the word at `i` begins a longer place name ("Highland" of "Highland Park")."""
    for n in (2, 3):
        gram = " ".join(msg.words[i:i + n])
        if len(msg.words[i:i + n]) == n and (gram in gazetteer.named
                                             or gazetteer.places.cities_named(gram)):
            return True
    return False


def sender_s_own(best: Candidate | None, street: str | None, precision: str | None,
                  hint_slug: str | None, gazetteer: Gazetteer) -> Candidate | None:
    """A bare town name of another state ("in Austin") loses to the sender's own jurisdiction
    when the corner named is one of that jurisdiction's streets ("Chicago Ave and Central in
    Austin", from a Chicago number: Austin is Chicago's West Side). None then: the area code
    decides."""
    if best is None or best.source != "city" or hint_slug is None or \
            precision != "intersection" or not street or " & " not in street:
        return best
    if best.slug == hint_slug or best.place.state == gazetteer.jurisdictions[hint_slug].state:
        return best
    return None if gazetteer.jurisdiction_of_streets(*street.split(" & ", 1)) == hint_slug \
        else best


# nicknames every region has: named by a sender of another state Hotline serves, their own
GENERIC_AREAS = frozenset({"valley", "hills", "heights", "east side", "eastside", "west side",
                           "westside", "north side", "northside", "south side", "southside",
                           "downtown", "uptown", "midtown", "inland empire", "bay area"})


def near_neighbourhoods(candidates: list[Candidate], hint_state: str | None,
                         gazetteer: Gazetteer) -> list[Candidate]:
    """The candidates without far neighbourhoods. Many neighbourhood names are common ones
    (Capitol Hill, Five Points, Westwood, Koreatown, South Park, Logan Square): a configured
    neighbourhood is another state's of the name when the message names a place of that other
    state ("five points ... atlanta"), or when the sender's area code is in another state that
    Hotline serves too (its people have their own Capitol Hill). Then the rest of the message
    (or the area code) decides where. A sender from a state Hotline does not serve ("Pilsen"
    from Miami) is asking about the configured one. A nickname that is also a big town of the
    sender's own state ("Frisco" from Texas) is that town."""
    others = {c.place.state for c in candidates
              if c.source not in ("neighbourhood", "landmark", "alias_city") and c.place.state}
    served = gazetteer.states

    def far(c: Candidate) -> bool:
        state = c.place.state
        if c.source not in ("neighbourhood", "alias_city") or not state:
            return False
        if hint_state is not None and hint_state != state and c.source == "alias_city":
            if hint_state in served and c.text.removeprefix("the ") in GENERIC_AREAS:
                return True  # "the valley" from Texas is the Rio Grande's, not Los Angeles'
            return gazetteer.places.city_population(c.text, hint_state) >= 50_000
        if c.source != "neighbourhood":
            return False
        if others - {state}:
            return True  # a town of another state is named
        return hint_state is not None and hint_state != state and hint_state in served

    return [c for c in candidates if not far(c)]


FROM_WORDS = frozenset({"from", "de", "desde"})
TO_WORDS = frozenset({"to", "a", "hasta", "into", "toward", "towards", "over", "up", "down"})
NOW_WORDS = frozenset({"now", "ahora", "ahorita"})


def where_it_is_now(msg: Words, candidates: list[Candidate]) -> list[Candidate]:
    """The places of where it is happening now, when a message tells a movement: "from
    Oakland to San Francisco", "de Santa Ana a Anaheim", "left New Haven and went to West
    Haven", "... now at 4th and Main". Other messages: every place found."""
    words = msg.words
    positions = sorted({c.position for c in candidates})
    if len(positions) < 2:
        return candidates
    pivots = []
    for i, word in enumerate(words):
        earlier = [p for p in positions if p < i]
        later = [p for p in positions if p > i]
        if not (earlier and later):
            continue
        if word in TO_WORDS or word == "went":
            first = earlier[0]
            if word == "went" or any(w in FROM_WORDS or w in ("left", "followed", "seguimos")
                                     for w in words[max(0, first - 3):first]):
                pivots.append(i)
        elif word in NOW_WORDS:
            pivots.append(i)
    if not pivots:
        return candidates
    # the last turn of the story that is followed by a place
    return [c for c in candidates if c.position > pivots[-1]]
