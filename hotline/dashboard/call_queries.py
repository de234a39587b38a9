"""The dashboard's reads of calls and call rosters: the live-calls panel and the calls page,
their live signature, and the rosters with who is on shift.

Nothing here reads a phone number: a call row holds none but the hotline's own (not shown
either), and volunteers are shown by name and languages only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, func, select
from sqlalchemy.orm import Session

from hotline.accounts.scope import Scope
from hotline.models import (
    LIVE_STATES,
    Call,
    CallLeg,
    CallRoster,
    Incident,
    Jurisdiction,
    LegalNetwork,
    Message,
    Report,
    Responder,
    utcnow,
)
from hotline.routing import schedules
from hotline.routing.shifts import WEEKDAYS, local_time, next_staffed, on_shift

PANEL_WINDOW = timedelta(hours=12)  # the board's panel: live calls and the latest ended
PAGE_WINDOW = timedelta(hours=24)  # the calls page
PANEL_ROWS = 20
OUTSIDE = _l("Outside every jurisdiction")
STATE_LABELS = {"menu": _l("in the menu"), "check": _l("in the voice check"),
                "ringing": _l("ringing"), "voicemail": _l("voicemail"), "completed": _l("ended"),
                "blocked": _l("ended")}
OUTCOMES = {"closed": _l("after hours"), "nobody": _l("nobody on shift"),
            "no_answer": _l("nobody answered"), "rate_limited": _l("over the call limit"),
            "no_roster": _l("no roster"), "no_caller_id": _l("no caller ID"),
            "hung_up": _l("hung up"), "blocked": _l("blocked caller")}
# weekdays as the rosters show them (shifts.WEEKDAYS' keys)
DAY_NAMES = {"mon": _l("Mon"), "tue": _l("Tue"), "wed": _l("Wed"), "thu": _l("Thu"),
             "fri": _l("Fri"), "sat": _l("Sat"), "sun": _l("Sun")}
# an override's `when` in words (the value itself stays a CSS class)
WHEN_WORDS = {"now": _l("now"), "upcoming": _l("upcoming"), "past": _l("past")}


def when_label(when: str) -> str:
    """An override's "now" / "upcoming" / "past" in words."""
    word = WHEN_WORDS.get(when)
    return str(word) if word is not None else when


def _answered_by(volunteer: str | None) -> str:
    return _("answered by %(name)s", name=volunteer) if volunteer else _("answered by a volunteer")


@dataclass(frozen=True)
class CallRow:
    """One call as the panel and the calls page show it."""

    id: int
    state: str
    outcome: str | None
    language: str | None
    jurisdiction: str
    started_at: datetime
    answered_at: datetime | None
    duration: int | None
    rung: int
    answered: bool
    volunteer: str | None
    voicemail: int | None  # the voicemail's message id
    report_message: int | None  # the message of the report a volunteer wrote
    incident: str | None = None  # the code of the incident its report (or voicemail) joined

    @property
    def live(self) -> bool:
        """Still going on (menu, check, ringing, answered, voicemail)."""
        return self.state in LIVE_STATES

    @property
    def label(self) -> str:
        """The state in words: "ringing", "answered by Marisol Reyes", "voicemail", "ended"."""
        if self.state == "answered":
            return _answered_by(self.volunteer)
        word = STATE_LABELS.get(self.state)
        return str(word) if word is not None else self.state

    @property
    def detail(self) -> str:
        """How an ended call went (who took it, or why it went to voicemail)."""
        if self.live:
            return str(OUTCOMES.get(self.outcome or "", "")) if self.state == "voicemail" else ""
        if self.answered:
            return _answered_by(self.volunteer)
        parts = [str(OUTCOMES.get(self.outcome or "", self.outcome or ""))]
        if self.voicemail:
            parts.append(_("voicemail left"))
        return ", ".join(p for p in parts if p)

    @property
    def can_report(self) -> bool:
        """A volunteer took the call and nobody has written its report yet."""
        return self.answered and self.report_message is None


def call_filters(scope: Scope) -> list[Any]:
    """WHERE clauses on Call for a scope: the jurisdictions' calls (the out-of-area queue's
    with it); lawyers, whose scope is their network's incidents, see no calls."""
    if scope.lawyer:
        return [false()]
    return scope.jurisdiction_filter(Call.jurisdiction_id)


def call_visible(scope: Scope, call: Call) -> bool:
    """True when the scope includes this call."""
    return not scope.lawyer and scope.includes_jurisdiction(call.jurisdiction_id)


def _rows_query(scope: Scope, since: datetime | None) -> Any:
    rung = select(func.count(CallLeg.id)).where(CallLeg.call_id == Call.id) \
        .correlate(Call).scalar_subquery()
    return (select(Call, Jurisdiction.name.label("jurisdiction_name"),
                   Responder.name.label("volunteer"), rung.label("rung"))
            .outerjoin(Jurisdiction, Jurisdiction.id == Call.jurisdiction_id)
            .outerjoin(Responder, Responder.id == Call.answered_by_id)
            .where(*call_filters(scope),
                   *([Call.started_at >= since] if since is not None else [])))


def _report_message(call: Call) -> int | None:
    value = (call.flags or {}).get("report_message")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _incident_codes(session: Session, scope: Scope, message_ids: list[int]) -> dict[int, str]:
    """The incident each of these messages' reports joined, by message id: only incidents the
    scope may see (a caller to Chicago's line may report a raid in Los Angeles)."""
    if not message_ids:
        return {}
    return dict(session.execute(scope.restrict(
        select(Message.id, Incident.code).join(Report, Report.id == Message.report_id)
        .join(Incident, Incident.id == Report.incident_id)
        .where(Message.id.in_(message_ids)))).all())


def _rows(session: Session, scope: Scope, results: list[Any]) -> list[CallRow]:
    rows = []
    for call, jurisdiction, volunteer, rung in results:
        rows.append(CallRow(
            id=call.id, state=call.state, outcome=call.outcome, language=call.language,
            jurisdiction=jurisdiction or str(OUTSIDE), started_at=call.started_at,
            answered_at=call.answered_at, duration=call.duration, rung=rung or 0,
            answered=call.answered_by_id is not None, volunteer=volunteer,
            voicemail=call.message_id, report_message=_report_message(call)))
    ids = [m for r in rows for m in (r.report_message, r.voicemail) if m]
    codes = _incident_codes(session, scope, ids)
    return [replace(r, incident=codes.get(r.report_message or 0) or codes.get(r.voicemail or 0))
            for r in rows]


def _newest(query: Any) -> Any:
    return query.order_by(Call.started_at.desc(), Call.id.desc())


def panel_calls(session: Session, scope: Scope, now: datetime | None = None,
                limit: int = PANEL_ROWS) -> tuple[list[CallRow], int]:
    """The board's panel: live calls of the last 12 hours, then the latest ended ones, at most
    `limit` rows (newest first within each); and how many more calls the window holds."""
    since = (now or utcnow()) - PANEL_WINDOW
    query = _rows_query(scope, since)
    live = session.execute(_newest(query.where(Call.state.in_(LIVE_STATES))).limit(limit)).all()
    ended = session.execute(_newest(query.where(Call.state.not_in(LIVE_STATES)))
                            .limit(limit - len(live))).all() if len(live) < limit else []
    total = session.scalar(select(func.count(Call.id)).where(
        Call.started_at >= since, *call_filters(scope))) or 0
    shown = _rows(session, scope, [*live, *ended])
    return shown, max(0, total - len(shown))


def page_calls(session: Session, scope: Scope, now: datetime | None = None) -> list[CallRow]:
    """Every call in scope of the last 24 hours: live ones first, newest first."""
    since = (now or utcnow()) - PAGE_WINDOW
    query = _rows_query(scope, since)
    live = session.execute(_newest(query.where(Call.state.in_(LIVE_STATES)))).all()
    ended = session.execute(_newest(query.where(Call.state.not_in(LIVE_STATES)))).all()
    return _rows(session, scope, [*live, *ended])


def call_row(session: Session, call_id: int, scope: Scope) -> CallRow | None:
    """One call as a row (any age), or None; its incident only when `scope` may see it (the
    caller checks the call itself is in scope)."""
    unscoped = Scope(None, True, None, False, False, False)
    found = session.execute(_rows_query(unscoped, None).where(Call.id == call_id)).all()
    return _rows(session, scope, found)[0] if found else None


def signature(session: Session, window: timedelta, now: datetime | None = None) -> str:
    """Changes whenever a call of the window starts, changes state, is taken, ends, gets its
    voicemail or its written report, rings another volunteer, or leaves the window."""
    since = (now or utcnow()) - window
    states = session.execute(
        select(Call.state, func.count(Call.id), func.max(Call.id),
               func.count(Call.answered_by_id), func.count(Call.ended_at),
               func.coalesce(func.sum(Call.duration), 0), func.count(Call.message_id),
               func.count(Call.flags["report_message"].as_string()))
        .where(Call.started_at >= since).group_by(Call.state).order_by(Call.state)).all()
    legs = session.scalar(select(func.count(CallLeg.id)).join(Call, Call.id == CallLeg.call_id)
                          .where(Call.started_at >= since)) or 0
    return ";".join(",".join(str(v) for v in row) for row in states) + f";legs={legs}"


# -- rosters --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Volunteer:
    """A volunteer as the rosters page shows them: never their number."""

    name: str
    languages: list[str]
    reachable: bool = True  # active, and not marked unreachable (they are not rung otherwise)
    away_until: datetime | None = None  # OFF by text until then (schedules.AWAY_OPEN: until ON)


@dataclass(frozen=True)
class ShiftView:
    """One weekly shift, in the network's timezone."""

    volunteer: Volunteer
    days: str
    hours: str
    on_now: bool


@dataclass(frozen=True)
class OverrideView:
    """One dated override that puts someone on shift, in the network's timezone."""

    volunteer: Volunteer
    start: str
    end: str
    when: str  # "now", "upcoming" or "past"
    id: int | None = None  # an override made on the on-call page; None: one of the YAML's

    @property
    def when_label(self) -> str:
        """`when` in words."""
        return when_label(self.when)


@dataclass(frozen=True)
class RosterView:
    """A call roster: who answers which jurisdictions' calls, now and when."""

    id: int
    network: str
    name: str
    timezone: str
    zone_abbreviation: str
    serves: list[str]
    ring_seconds: int
    on_now: list[Volunteer]
    shifts: list[ShiftView]
    overrides: list[OverrideView]
    next_staffed: str | None  # local time, named, when nobody is on shift now


def days_label(days: list[str] | None) -> str:
    """Weekdays as a person writes them: "every day", "Mon–Fri", "Fri, Sat"."""
    indexes = sorted({WEEKDAYS.index(d) for d in (days or WEEKDAYS) if d in WEEKDAYS})
    if len(indexes) == len(WEEKDAYS):
        return _("every day")
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    names = [str(DAY_NAMES[day]) for day in WEEKDAYS]
    return ", ".join(f"{names[r[0]]}–{names[r[-1]]}" if len(r) >= 3
                     else ", ".join(names[i] for i in r) for r in runs)


def hours_label(start: str, end: str) -> str:
    """A shift's hours: "09:00–17:00", "21:00–01:00 (next day)", "all day"."""
    if start == "00:00" and end in ("24:00", "00:00"):
        return _("all day")
    if end != "24:00" and end <= start:  # overnight
        return _("%(start)s–%(end)s (next day)", start=start, end=end)
    return f"{start}–{end}"


def _stamp(value: datetime) -> str:
    """A local time as "Mon 2026-03-02 09:00 CST", its weekday in the dashboard's language."""
    day = DAY_NAMES[WEEKDAYS[value.weekday()]]
    return f"{day} {value.strftime('%Y-%m-%d %H:%M %Z')}"


def _in_scope(scope: Scope, roster: CallRoster, ids: dict[str, int]) -> bool:
    if scope.lawyer and roster.network_id != scope.network_id:
        return False
    if scope.jurisdiction_ids is None:
        return True
    return any(ids.get(slug) in scope.jurisdiction_ids for slug in roster.serves or [])


def rosters_shown(session: Session, scope: Scope, at: datetime | None = None) -> list[RosterView]:
    """The call rosters in scope (a roster's scope is the jurisdictions it serves; a lawyer's,
    their network's), each with who is on shift at `at`."""
    at = at or utcnow()
    ids = dict(session.execute(select(Jurisdiction.slug, Jurisdiction.id)).all())
    names = dict(session.execute(select(Jurisdiction.slug, Jurisdiction.name)).all())
    rosters = [r for r in session.scalars(
        select(CallRoster).join(LegalNetwork, LegalNetwork.id == CallRoster.network_id)
        .order_by(LegalNetwork.name, CallRoster.name)) if _in_scope(scope, r, ids)]
    overrides = {r.id: schedules.roster_overrides(session, r, at) for r in rosters}
    keys = {s.get("volunteer") for r in rosters for s in r.shifts or []} | \
        {o.get("responder") for r in rosters for o in overrides[r.id]}
    people = {p.key: volunteer(p, at)
              for p in session.scalars(select(Responder).where(Responder.key.in_(keys)))} \
        if keys else {}
    return [_roster_view(r, overrides[r.id], people, names, at) for r in rosters]


def volunteer(responder: Responder, at: datetime) -> Volunteer:
    """A responder as a roster shows them: rung only when active, reachable and not OFF."""
    away = schedules.is_away(responder, at)
    return Volunteer(responder.name, list(responder.languages or []),
                     responder.active and not responder.unreachable and not away,
                     responder.away_until if away else None)


def _roster_view(roster: CallRoster, overrides: list[dict[str, Any]],
                 people: dict[str, Volunteer], names: dict[str, str],
                 at: datetime) -> RosterView:
    timezone = roster.network.timezone
    zone = ZoneInfo(timezone)
    shifts = roster.shifts or []
    on = on_shift(shifts, overrides, timezone, at)

    def person(key: str) -> Volunteer:
        return people.get(key) or Volunteer(key, [], False)

    upcoming = None if on else next_staffed(shifts, overrides, timezone, at)
    local_at = at.astimezone(zone)
    override_views = []
    for override in sorted(overrides, key=lambda o: str(o.get("start"))):
        start, end = local_time(override["start"], zone), local_time(override["end"], zone)
        when = "now" if start <= local_at < end else "upcoming" if local_at < start else "past"
        override_views.append(OverrideView(person(override["responder"]), _stamp(start),
                                           _stamp(end), when, override.get("id")))
    return RosterView(
        id=roster.id, network=roster.network.name, name=roster.name, timezone=timezone,
        zone_abbreviation=local_at.tzname() or "", ring_seconds=roster.ring_seconds,
        serves=[names.get(slug, slug) for slug in roster.serves or []],
        on_now=[person(key) for key in on],
        shifts=[ShiftView(person(s["volunteer"]), days_label(s.get("days")),
                          hours_label(s.get("start", "00:00"), s.get("end", "24:00")),
                          bool(on_shift([s], [], timezone, at))) for s in shifts],
        overrides=override_views,
        next_staffed=_stamp(upcoming.astimezone(zone)) if upcoming else None)
