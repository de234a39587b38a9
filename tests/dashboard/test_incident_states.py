"""The actions a dispatcher is offered follow the incident's state: no verify or dismiss once a
lawyer has it (routed, acknowledged), but re-verify and resolve; and what is not offered is
refused, on the dashboard as through the API."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from tests.dashboard.conftest import post_form


def _buttons(html: str) -> set[str]:
    """The decisions shown (the others are on the page, hidden, for when the state changes)."""
    import re

    shown = {value for value, attributes in re.findall(
        r'<button name="action" value="(\w+)"([^>]*)>', html) if " hidden" not in attributes}
    return shown & {"verify", "dismiss", "reverify", "resolve", "all_clear"}


def test_a_new_incident_offers_verify_dismiss_and_resolve(logged_in, seeded):
    html = logged_in.get(f"/incidents/{seeded['chicago']}").text
    assert {"verify", "dismiss", "resolve"} <= _buttons(html)


def test_a_routed_incident_offers_reverify_and_resolve_not_verify_or_dismiss(logged_in, seeded):
    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "verify"})
    html = logged_in.get(f"/incidents/{code}").text
    assert "Routed" in html or "routed" in html
    assert _buttons(html) == {"reverify", "resolve", "all_clear"}
    assert ">Re-verify<" in html


@pytest.mark.parametrize("action", ["verify", "dismiss"])
def test_what_is_not_offered_is_refused_with_409_by_the_api(app, client, logged_in, seeded,
                                                             action):
    from tests.broadcasts.conftest import token_for

    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "verify"})  # routed
    response = client.post(f"/api/v1/incidents/{code}/actions", json={"action": action},
                           headers=token_for(app))
    assert response.status_code == 409
    assert f"{action}: not offered on a routed incident" in response.json["error"]


def test_a_resolved_incident_offers_no_decision(logged_in, seeded):
    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "resolve"})
    assert _buttons(logged_in.get(f"/incidents/{code}").text) == set()


def test_times_are_in_the_jurisdiction_s_local_time_with_utc_on_hover(logged_in, seeded):
    """Before, every time on the incident page was UTC only."""
    import re

    html = logged_in.get(f"/incidents/{seeded['chicago']}").text
    local = re.findall(r'<time datetime="[^"]+" title="([^"]+) UTC">([^<]+) (CST|CDT)</time>',
                       html)
    assert local, "no Chicago time on the page"
    from datetime import datetime
    from zoneinfo import ZoneInfo

    utc_text, here, _zone = local[0]
    at = datetime.strptime(utc_text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo("UTC"))
    assert at.astimezone(ZoneInfo("America/Chicago")).strftime("%Y-%m-%d %H:%M") == here[:16]


def test_the_timeline_names_people_by_name_and_role(app, logged_in, seeded):
    """Before, the timeline said `by user:2` and `by token:audit`."""
    code = seeded["chicago"]
    post_form(logged_in, f"/incidents/{code}/actions", {"action": "verify"})
    html = logged_in.get(f"/incidents/{code}").text
    assert "by dispatcher@example.org (dispatcher)" in html
    assert "by system<" not in html
    assert ">by user:" not in html


def test_actor_labels_name_responders_tokens_and_hotline(app):
    from hotline.dashboard import queries
    from hotline.models import Responder

    with app.app_context():
        lawyer = db.session.scalar(select(Responder).where(Responder.role == "lawyer"))
        labels = queries.actor_labels(db.session, {f"responder:{lawyer.key}", "token:audit",
                                                   "system", "user:999"})
    assert labels[f"responder:{lawyer.key}"] == f"{lawyer.name} (lawyer)"
    assert labels["token:audit"] == "API token \u201caudit\u201d"
    assert labels["system"] == "Hotline (automatic)"
    assert "user:999" not in labels  # a removed user: shown as recorded
