"""Subscribing by text: `ALERTS 60623`, `ALERTAS Pilsen`, `ALERTES`, `提醒 ...`, answered at once
by the webhook in the subscriber's language.

A request is the alerts keyword of any configured language (`keywords.alerts`), then nothing
(the jurisdiction of the hotline number texted, else of the area code), a ZIP code, a place the
gazetteer knows (a neighbourhood, a town, a landmark), or an off word (`keywords.alerts_off`:
`ALERTS OFF`, `ALERTAS NO`). A message that merely starts with "alert" and goes on to tell what
is happening ("alert ICE at Western and 47th") is a report, never a subscription.

Double opt-in: the first request makes a `pending` subscriber and asks for YES; only YES (the
consent keyword of any language) confirms, and only confirmed subscribers are ever alerted.
A confirmed subscriber may add areas up to `MAX_AREAS`. `ALERTS OFF` and STOP end it: the
number is erased and the areas deleted; only the keyed HMAC stays, like a reporter's.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.core.languages import Languages, fold_phrase
from hotline.incidents import geography
from hotline.messaging.templates import Templates
from hotline.models import Subscriber, SubscriberArea, utcnow
from hotline.privacy.vault import Vault, reference
from hotline.triage.gazetteer import Gazetteer
from hotline.triage.location import find_location

logger = logging.getLogger(__name__)

MAX_AREAS = 3
MAX_AREA_WORDS = 5
# words that tell what is happening: "alert ICE in Pilsen" is a report, not a request
_REPORT_WORDS = frozenset({
    "ice", "migra", "la migra", "agents", "agentes", "agent", "raid", "redada", "cbp", "dhs",
    "hsi", "arrest", "arrests", "arresto", "detenido", "detained", "checkpoint", "reten",
    "police", "policia", "van", "vans", "trucks", "camionetas", "carros", "cars",
})
# "ALERTS for Pilsen", "ALERTAS en Pilsen", "ALERTES pour ..."
_LEADING = frozenset({"for", "in", "en", "para", "pour", "em", "na", "dla", "w", "sa"})
_ZIP = re.compile(r"^\d{5}$")


@dataclass(frozen=True)
class AlertsRequest:
    """A parsed alerts request: what area (folded words, may be empty), or off."""

    area: str
    off: bool = False
    # the languages whose keyword it is, in configured order ("alertas": es, pt)
    languages: tuple[str, ...] = ()

    @property
    def language(self) -> str | None:
        """The keyword's language, when only one language has it."""
        return self.languages[0] if len(self.languages) == 1 else None

    def reader(self, known: str | None, preferred: tuple[str, ...] = ()) -> str | None:
        """Whom to answer in: the one language of the keyword; of several, the sender's known
        language, else the first the jurisdiction speaks, else the first configured."""
        if len(self.languages) <= 1:
            return self.language or known
        if known and known.partition("-")[0] in self.languages:
            return known
        return next((lang for lang in preferred if lang in self.languages), self.languages[0])


@dataclass(frozen=True)
class Area:
    """Where a subscriber wants alerts for."""

    jurisdiction: str | None
    kind: str  # zip | place | jurisdiction
    key: str
    label: str
    lat: float | None = None
    lon: float | None = None


@lru_cache(maxsize=8)
def _index(languages: Languages) -> tuple[dict[str, tuple[str, ...]], frozenset[str]]:
    """The alerts keywords (folded -> the languages that have it) and the off words."""
    keywords: dict[str, tuple[str, ...]] = {}
    off: set[str] = set()
    for lang in languages.by_code.values():
        for phrase in lang.keywords.get("alerts", ()):
            key = fold_phrase(phrase)
            if lang.code not in keywords.get(key, ()):
                keywords[key] = (*keywords.get(key, ()), lang.code)
        off.update(fold_phrase(p) for p in lang.keywords.get("alerts_off", ()))
    return keywords, frozenset(off)


def parse_request(body: str | None, languages: Languages) -> AlertsRequest | None:
    """The alerts request a whole message is, or None (also for "alert ICE at 47th ...")."""
    if not body or len(body) > 120:
        return None
    keywords, off_words = _index(languages)
    folded = fold_phrase(body)
    words = folded.split()
    if words and words[0] not in keywords:
        # scripts written without spaces: "提醒60608", "警报关闭"
        for key in sorted(keywords, key=len, reverse=True):
            if not key.isascii() and folded.startswith(key) and len(folded) > len(key):
                words = [key, *folded[len(key):].split()]
                break
    for n in (2, 1):
        head = " ".join(words[:n])
        if len(words) < n or head not in keywords:
            continue
        rest = words[n:]
        if rest and rest[0] in _LEADING:
            rest = rest[1:]
        area = " ".join(rest)
        if area in off_words:
            return AlertsRequest("", off=True, languages=keywords[head])
        if len(rest) > MAX_AREA_WORDS or any(w in _REPORT_WORDS for w in rest) or \
                any(" ".join(rest[i:i + 2]) in _REPORT_WORDS for i in range(len(rest))):
            return None
        return AlertsRequest(area, languages=keywords[head])
    return None


def resolve_area(gazetteer: Gazetteer, area: str, sender: str | None,
                 called: str | None) -> Area | None:
    """The area a request names; None when Hotline cannot tell where that is. An Area with
    no jurisdiction is a real place outside every jurisdiction Hotline serves."""
    if not area:
        slug = gazetteer.jurisdiction_for_number(called)
        if slug is None:
            place = gazetteer.area_code_place(sender)
            slug = gazetteer.jurisdiction_for_area(place) if place is not None else None
        if slug is None:
            return None
        return Area(slug, "jurisdiction", slug, gazetteer.jurisdictions[slug].name)
    if _ZIP.match(area):
        place = gazetteer.places.zip(area)
        if place is None:
            return None
        return Area(gazetteer.jurisdiction_for(place), "zip", area, area, place.lat, place.lon)
    found = find_location(area, gazetteer, sender, called=called)
    if found.lat is None or found.precision in (None, "area_code", "state") or \
            found.source in ("area_code", "hotline_number"):
        return None
    named = gazetteer.named.get(area)
    label = (named.label if named is not None else found.text or area)[:100]
    if label.islower() and label.isascii():
        label = label.title()  # "la villita" as people write it: "La Villita"
    if found.jurisdiction is not None and found.precision in ("city", "county"):
        rules = gazetteer.jurisdictions[found.jurisdiction]
        main = {fold_phrase(c) for c in rules.cities[:1]} | {
            fold_phrase(f"{c} county") for c in rules.counties} | {fold_phrase(rules.name)}
        if fold_phrase(area) in main or fold_phrase(found.city or "") in main:
            return Area(found.jurisdiction, "jurisdiction", found.jurisdiction, rules.name)
    return Area(found.jurisdiction, "place", fold_phrase(label)[:100], label, found.lat,
                found.lon)


def example_zip(gazetteer: Gazetteer, sender: str | None, called: str | None) -> str:
    """A ZIP code to show in "for example ALERTS 60623": one of the sender's jurisdiction."""
    slug = gazetteer.jurisdiction_for_number(called)
    if slug is None:
        place = gazetteer.area_code_place(sender)
        slug = gazetteer.jurisdiction_for_area(place) if place is not None else None
    for rules in ([gazetteer.jurisdictions[slug]] if slug else []) + \
            list(gazetteer.jurisdictions.values()):
        zips = list(rules.zips) + [a["zip"] for a in rules.aliases.values()
                                   if isinstance(a, dict) and a.get("zip")]
        if zips:
            return str(zips[0])
    return "60623"


def answer(session: Session, vault: Vault, gazetteer: Gazetteer, templates: Templates,
           sender: str, request: AlertsRequest, language: str | None,
           called: str | None = None) -> str:
    """Act on an alerts request and return the reply, in the subscriber's language (flushes;
    the webhook commits)."""
    phone_hmac = vault.phone_hmac(sender)
    area = None if request.off else resolve_area(gazetteer, request.area, sender, called)
    slug = area.jurisdiction if area is not None else None
    if slug is None:
        slug = gazetteer.jurisdiction_for_number(called)
    rules = gazetteer.jurisdictions.get(slug) if slug else None
    lang = request.reader(language, rules.languages if rules else ())
    if request.off:
        stop(session, phone_hmac)
        return templates.text("alerts_off", lang)
    if area is None:
        shown = request.area[:40] or "?"
        return templates.text("alerts_unknown_area", lang, area=shown,
                              example=example_zip(gazetteer, sender, called))
    if area.jurisdiction is None:
        return templates.text("alerts_not_served", lang, area=area.label)
    subscriber = _subscriber(session, vault, phone_hmac, sender)
    subscriber.language = lang or subscriber.language
    subscriber.updated_at = utcnow()
    areas = list(session.scalars(select(SubscriberArea).where(
        SubscriberArea.subscriber_id == subscriber.id).order_by(SubscriberArea.id)))
    if not any(a.kind == area.kind and a.key == area.key for a in areas):
        if len(areas) >= MAX_AREAS:
            return templates.text("alerts_limit", lang, areas=_labels(areas))
        jurisdiction_id = _jurisdiction_id(session, area.jurisdiction)
        added = SubscriberArea(subscriber_id=subscriber.id, jurisdiction_id=jurisdiction_id,
                               kind=area.kind, key=area.key, label=area.label, lat=area.lat,
                               lon=area.lon)
        session.add(added)
        areas.append(added)
    session.flush()
    logger.info("subscriber %s (%s) asked for alerts: %s %s", reference(phone_hmac),
                subscriber.status, area.kind, area.jurisdiction)
    if subscriber.status != "confirmed":
        return templates.text("alerts_confirm", lang, area=area.label)
    return templates.text("alerts_added", lang, area=area.label, areas=_labels(areas))


def has_pending(session: Session, phone_hmac: str) -> bool:
    """Whether this number asked for alerts and has not yet confirmed (its YES confirms)."""
    return session.scalar(select(Subscriber.id).where(
        Subscriber.phone_hmac == phone_hmac, Subscriber.status == "pending")) is not None


def confirm(session: Session, templates: Templates, phone_hmac: str,
            language: str | None) -> str | None:
    """YES from a pending subscriber: confirmed from now on. The reply, or None when the
    number has nothing pending (flushes)."""
    subscriber = session.scalar(select(Subscriber).where(
        Subscriber.phone_hmac == phone_hmac, Subscriber.status == "pending").with_for_update())
    if subscriber is None:
        return None
    now = utcnow()
    subscriber.status, subscriber.confirmed_at, subscriber.updated_at = "confirmed", now, now
    areas = list(session.scalars(select(SubscriberArea).where(
        SubscriberArea.subscriber_id == subscriber.id).order_by(SubscriberArea.id)))
    session.flush()
    logger.info("subscriber %s confirmed", reference(phone_hmac))
    return templates.text("alerts_confirmed", subscriber.language or language,
                          areas=_labels(areas))


def stop(session: Session, phone_hmac: str) -> bool:
    """End a subscription (ALERTS OFF, STOP): the number erased, the areas deleted, no alert
    from now on, also in a broadcast already sending. True when there was one (flushes)."""
    subscriber = session.scalar(select(Subscriber).where(
        Subscriber.phone_hmac == phone_hmac).with_for_update())
    if subscriber is None or subscriber.status == "stopped":
        return False
    now = utcnow()
    subscriber.status, subscriber.stopped_at, subscriber.updated_at = "stopped", now, now
    subscriber.phone_enc = None
    session.execute(delete(SubscriberArea).where(SubscriberArea.subscriber_id == subscriber.id))
    session.flush()
    logger.info("subscriber %s stopped", reference(phone_hmac))
    return True


def _subscriber(session: Session, vault: Vault, phone_hmac: str, sender: str) -> Subscriber:
    """The subscriber row of this number (made pending when new or stopped), locked."""
    query = select(Subscriber).where(Subscriber.phone_hmac == phone_hmac).with_for_update()
    subscriber = session.scalar(query)
    if subscriber is None:
        try:
            with session.begin_nested():
                subscriber = Subscriber(phone_hmac=phone_hmac, status="pending",
                                        phone_enc=vault.encrypt(sender, "subscriber.phone"))
                session.add(subscriber)
        except IntegrityError:  # the same number's other request won the insert
            subscriber = session.scalars(query).one()
    if subscriber.status == "stopped":
        subscriber.status, subscriber.stopped_at, subscriber.confirmed_at = "pending", None, None
    if subscriber.phone_enc is None:
        subscriber.phone_enc = vault.encrypt(sender, "subscriber.phone")
    return subscriber


def _jurisdiction_id(session: Session, slug: str | None) -> int:
    """The id of an area's jurisdiction (the gazetteer named it, so it exists)."""
    found = geography.jurisdiction_id(session, slug)
    if found is None:
        raise LookupError(f"no jurisdiction {slug!r}")
    return found


def _labels(areas: list[SubscriberArea]) -> str:
    return ", ".join(a.label for a in areas)
