"""The words the dashboard shows for values Hotline stores as slugs: timeline event kinds, alert
kinds and statuses, markers, SALUTE labels and credibility factors, in the dashboard's language.

The database, the API, the CSV export and the audit log keep the slugs; only what a person reads
on a page is translated. A slug with no entry here (one added later) reads as itself, with its
underscores as spaces, never as an error."""

from __future__ import annotations

import functools
import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from hotline.dashboard.blueprint import bp

EVENTS = {
    "created": _l("created"), "report_added": _l("report added"),
    "location_added": _l("place added"), "transcript_added": _l("call transcript added"),
    "media_added": _l("photo or media added"), "status": _l("status changed"),
    "note": _l("note"), "assigned": _l("assigned"), "declined": _l("declined"),
    "escalation_step": _l("escalation step"), "escalation_exhausted": _l("escalation exhausted"),
    "verifiers_asked": _l("verifiers asked"), "verifiers_stood_down": _l("verifiers stood down"),
    "no_verifier_available": _l("no verifier available"), "recheck_asked": _l("re-verify asked"),
    "verifier_eta": _l("verifier on the way"), "verifier_no": _l("verifier found nothing"),
    "verifier_still_there": _l("verifier: still there"),
    "verifier_unable": _l("verifier cannot go"), "flagged": _l("flagged"),
    "held": _l("held"), "released": _l("released"), "merged_in": _l("merged in"),
    "split": _l("split"), "split_from": _l("split from"), "rerouted": _l("routed again"),
    "routing_skipped": _l("routing skipped"), "reporter_blocked": _l("reporter blocked"),
    "reporter_new_report": _l("reporter sent a new report"),
    "relay_to_reporter": _l("lawyer wrote to the reporter"),
    "relay_to_lawyer": _l("reporter wrote to the lawyer"),
    "dispatcher_to_reporter": _l("dispatcher wrote to a reporter"),
    "dispatcher_to_responders": _l("dispatcher wrote to the responders"),
    "retraction": _l("retraction sent"), "all_clear": _l("all-clear sent"),
}
ALERT_KINDS = {"page": _l("page"), "verify": _l("verify request"),
               "retraction": _l("retraction"), "all_clear": _l("all-clear")}
ALERT_STATUSES = {
    "queued": _l("queued"), "sending": _l("sending"), "sent": _l("sent"),
    "delivered": _l("delivered"), "read": _l("read"), "failed": _l("failed"),
    "undelivered": _l("undelivered"), "acked": _l("yes"), "accepted": _l("accepted"),
    "declined": _l("declined"), "expired": _l("expired"), "withdrawn": _l("withdrawn"),
    "suppressed": _l("not sent"), "simulated": _l("simulated"),
}
MARKERS = {"flood": _l("flood"), "hold": _l("hold"), "denunciation": _l("denunciation"),
           "contested": _l("contested"), "no_verifier": _l("no verifier"),
           "rate_limited": _l("rate limited")}
SALUTE = {
    "agents": _l("agents"), "vehicles": _l("vehicles"),
    "arrest": _l("arrest"), "raid": _l("raid"), "checkpoint": _l("checkpoint"),
    "door_knocking": _l("door knocking"), "waiting": _l("waiting"),
    "surveillance": _l("surveillance"),
    "ice": _l("ICE"), "hsi": _l("HSI"), "cbp": _l("CBP"), "police": _l("police"),
    "vests": _l("vests"), "plain_clothes": _l("plain clothes"), "masks": _l("masks"),
    "unmarked_vehicles": _l("unmarked vehicles"), "suv": _l("SUV"), "van": _l("van"),
    "truck": _l("truck"), "weapons": _l("weapons"), "bus": _l("bus"),
    "helicopter": _l("helicopter"), "dogs": _l("dogs"),
}
FACTORS = {"corroboration": _l("corroboration"), "track_record": _l("track record"),
           "specificity": _l("specificity"), "recency": _l("recency"), "flood": _l("flood"),
           "rate_limited": _l("rate limited"), "denunciation": _l("denunciation")}
PRECISIONS = {"address": _l("address"), "intersection": _l("intersection"),
              "photo": _l("photo"), "landmark": _l("landmark"), "street": _l("street"),
              "neighbourhood": _l("neighbourhood"), "zip": _l("ZIP code"), "city": _l("city"),
              "area_code": _l("area code"), "no place": _l("no place")}
_PENALTIES = {"flood": _l("many new numbers at once in this area"),
              "rate_limited": _l("a reporter over the rate limit"),
              "denunciation": _l("names a person or a private home")}


REASONS = {"dispatcher": _l("a dispatcher's decision"),
           "held by a dispatcher": _l("held by a dispatcher"),
           "no legal network serves this place": _l("no legal network serves this place"),
           "not verified within the window": _l("not verified within the window"),
           "verifier saw it": _l("a verifier saw it"),
           "a trusted verifier's own report": _l("a trusted verifier's own report")}
_COUNTED = re.compile(r"(?P<n>\d+) (?:verifier\(s\) found nothing|independent reporters)")


def word(table: dict[str, Any], slug: object) -> str:
    """The translated word for `slug` in `table`, else the slug with spaces."""
    label = table.get(str(slug))
    return str(label) if label is not None else str(slug).replace("_", " ")


# the template filters: `{{ event.kind|event_label }}`, `{{ alert.status|alert_status }}` ...
FILTERS = {"event_label": EVENTS, "alert_kind": ALERT_KINDS, "alert_status": ALERT_STATUSES,
           "marker_label": MARKERS, "factor_label": FACTORS}
for _name, _table in FILTERS.items():
    bp.add_app_template_filter(functools.partial(word, _table), _name)


@bp.app_template_filter("factor_detail")
def factor_detail(reason: dict[str, Any]) -> str:
    """Why a credibility factor weighs what it does, in the dashboard's language, from the
    numbers the score stored; a reason stored before those numbers were kept reads as stored."""
    factor, detail = reason.get("factor"), str(reason.get("detail") or "")
    if factor == "corroboration" and "reporters" in reason:
        return ngettext("%(num)d independent reporter", "%(num)d independent reporters",
                        int(reason["reporters"]))
    if factor == "track_record" and "confirmed" in reason:
        return str(_l("reporters' past reports: %(confirmed)s confirmed, %(false)s false alarms",
                      confirmed=reason["confirmed"], false=reason["false_alarms"]))
    if factor == "specificity" and "precision" in reason:
        return str(_l("most precise place: %(precision)s",
                      precision=word(PRECISIONS, reason["precision"])))
    if factor == "recency" and "minutes" in reason:
        return str(_l("last report %(minutes)s min ago", minutes=reason["minutes"]))
    if factor in _PENALTIES:
        return str(_PENALTIES[factor])
    return detail


@bp.app_template_filter("reason_label")
def reason_label(reason: object) -> str:
    """Why a status changed, as stored ("dispatcher", "auto-verified: 3 independent
    reporters", "2 verifier(s) found nothing"), in words of the dashboard's language; a reason
    it does not know reads as stored."""
    text = str(reason)
    auto = text.startswith("auto-verified: ")
    rest = text.removeprefix("auto-verified: ")
    if rest in REASONS:
        said = str(REASONS[rest])
    elif (counted := _COUNTED.fullmatch(rest)) is not None:
        n = int(counted["n"])
        said = (ngettext("%(num)d verifier found nothing", "%(num)d verifiers found nothing", n)
                if "verifier" in rest else
                ngettext("%(num)d independent reporter", "%(num)d independent reporters", n))
    else:
        return text
    return str(_l("automatically verified: %(why)s", why=said)) if auto else said
