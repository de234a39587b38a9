"""The board (with its live-calls panel and the community-alert subscriber counts), the
incident list, and their live fragments (polled with ETags; the map's are in map_views)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from flask import (
    Response,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from hotline.accounts.scope import Scope, scope_of, visible
from hotline.core.extensions import db
from hotline.dashboard import broadcast_queries, call_queries, i18n, oncall_queries, queries
from hotline.dashboard.blueprint import bp
from hotline.dashboard.security import login_required
from hotline.messaging.templates import load_templates
from hotline.models import INCIDENT_STATUSES, Incident, Jurisdiction, Report

LIVE_INTERVAL_MS = 1500  # new incidents and status changes show within 3 s


def current_scope() -> Scope:
    """The logged-in user's scope (computed once per request)."""
    if "scope" not in g:
        g.scope = scope_of(db.session, g.user)
    return g.scope


def report_in_scope_or_404(report_id: int | None) -> tuple[Report, Incident | None]:
    """A report (with its incident) the user may see, as its incident page is; 404 for one
    not triaged yet or out of scope, whether or not it exists."""
    report = db.session.get(Report, report_id) if report_id else None
    if report is None:
        abort(404)  # not triaged yet: on no page
    scope = current_scope()
    incident = db.session.get(Incident, report.incident_id) if report.incident_id else None
    if incident is not None:
        allowed = visible(db.session, scope, incident)
    else:
        allowed = not scope.lawyer and scope.includes_jurisdiction(report.jurisdiction_id)
    if not allowed:
        abort(404)
    return report, incident


def live_etag(*parts: object) -> str:
    """An ETag for a live fragment: the user, their scope, the dashboard's language, the data's
    signature, the query."""
    user = g.user
    raw = ":".join(str(p) for p in (user.id, user.session_version, user.role,
                                    sorted(user.jurisdictions or []), user.network_slug,
                                    i18n.current(), request.query_string.decode(), *parts))
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def conditional(etag: str, render: Callable[[], str | Response]) -> Response:
    """304 when the client already has this version of the fragment, else the fragment."""
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = make_response(render())
    response.set_etag(etag)
    return response


def board_signature() -> str:
    """The board's data version: its incidents', its live-calls panel's and who is on call."""
    return f"{queries.signature(db.session)}|" \
           f"{call_queries.signature(db.session, call_queries.PANEL_WINDOW)}|" \
           f"{oncall_queries.signature(db.session, current_scope())}"


def _board_html(fragment: bool) -> str:
    scope = current_scope()
    data = queries.board(db.session, scope)
    call_rows, more_calls = call_queries.panel_calls(db.session, scope)
    template = "dashboard/_board.html" if fragment else "dashboard/board.html"
    # community-alert subscribers, counted, for those who broadcast (admins and dispatchers)
    subscribers = broadcast_queries.subscriber_rows(
        db.session, scope, load_templates(current_app.config["SETTINGS"].config_dir).languages,
    ) if scope.act else None
    return render_template(template, board=data, live_interval=LIVE_INTERVAL_MS,
                           call_rows=call_rows, more_calls=more_calls, can_report=scope.act,
                           subscribers=subscribers,
                           questions=queries.question_counts(db.session, scope),
                           on_call=oncall_queries.board_on_call(db.session, scope),
                           question_hours=queries.QUESTION_HOURS,
                           calls_caption=_("Live calls, then the latest ended ones"),
                           calls_empty=_("No calls in the last 12 hours."),
                           now=data.now, etag=live_etag(board_signature()))


@bp.get("/")
@login_required()
def board() -> Response | str:
    """Open incidents by jurisdiction, unverified oldest first, the out-of-area queue, and the
    live calls."""
    if g.user.role == "lawyer":
        return redirect(url_for("dashboard.lawyer_board"))
    return _board_html(fragment=False)


@bp.get("/live/board")
@login_required(passive=True)
def board_live() -> Response:
    """The board's fragment, or 304 when nothing changed since the client's version."""
    etag = live_etag(board_signature())
    return conditional(etag, lambda: _board_html(fragment=True))


def _list_context() -> dict[str, object]:
    filters = queries.ListFilters.parse(request.args)
    rows, has_next = queries.incident_list(db.session, current_scope(), filters)
    counts = queries.report_counts(db.session, [i.id for i, _ in rows])
    return {"rows": rows, "has_next": has_next, "filters": filters, "counts": counts,
            "statuses": INCIDENT_STATUSES, "periods": list(queries.PERIODS),
            "jurisdictions": _jurisdiction_choices(), "live_interval": LIVE_INTERVAL_MS,
            "etag": live_etag(queries.signature(db.session))}


def _jurisdiction_choices() -> list[tuple[str, str]]:
    scope = current_scope()
    query = select(Jurisdiction.slug, Jurisdiction.name).order_by(Jurisdiction.name)
    if scope.jurisdiction_ids is not None:
        query = query.where(Jurisdiction.id.in_(sorted(scope.jurisdiction_ids)))
    choices = [(slug, name) for slug, name in db.session.execute(query)]
    if scope.unassigned:
        choices.append(("none", _("Outside every jurisdiction")))
    return choices


@bp.get("/incidents")
@login_required()
def incident_list() -> str:
    """Every incident in scope, latest activity first, filtered by status, place and time."""
    return render_template("dashboard/incidents.html", **_list_context())


@bp.get("/live/incidents")
@login_required(passive=True)
def incident_list_live() -> Response:
    """The list's rows for the same filters, or 304."""
    etag = live_etag(queries.signature(db.session))
    return conditional(etag, lambda: render_template("dashboard/_incident_rows.html",
                                                     **_list_context()))
