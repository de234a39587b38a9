"""The actions a dispatcher is offered follow the incident's state: no verify or dismiss once a
lawyer has it (routed, acknowledged), but re-verify and resolve; and what is not offered is
refused, on the dashboard as through the API."""

from __future__ import annotations

import pytest

from tests.dashboard.conftest import post_form


def _buttons(html: str) -> set[str]:
    return {action for action in ("verify", "dismiss", "reverify", "resolve", "all_clear")
            if f'name="action" value="{action}"' in html}


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
