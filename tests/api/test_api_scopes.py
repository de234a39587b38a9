"""API tokens are scoped exactly like dashboard users: roles × scopes × every endpoint.

Three incidents (Chicago, San Francisco, out of area); Chicago is verified, so its lawyers were
paged. Each token spec below is checked against every endpoint and every incident; the expected
answer comes from one table of who may see what, and the dashboard is asked the same questions
for a user with the same scope, so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import pytest

from hotline.accounts import tokens
from hotline.core.extensions import db
from hotline.models import ApiToken
from tests.dashboard.conftest import login, make_user, post_form, run_jobs

INCIDENTS = ("chicago", "san-francisco", "none")


class Spec(NamedTuple):
    role: str
    jurisdictions: tuple[str, ...]
    network: str | None
    sees: frozenset[str]  # which of INCIDENTS it may see


SPECS = {
    "admin": Spec("admin", (), None, frozenset(INCIDENTS)),
    "dispatcher-all": Spec("dispatcher", (), None, frozenset(INCIDENTS)),
    "dispatcher-sf": Spec("dispatcher", ("san-francisco",), None, frozenset({"san-francisco"})),
    "dispatcher-chi-sf": Spec("dispatcher", ("chicago", "san-francisco"), None,
                              frozenset({"chicago", "san-francisco"})),
    "viewer-all": Spec("viewer", (), None, frozenset(INCIDENTS)),
    "viewer-chi": Spec("viewer", ("chicago",), None, frozenset({"chicago"})),
    "lawyer-chicago-legal": Spec("lawyer", (), "chicago-legal", frozenset({"chicago"})),
    "lawyer-sf-legal": Spec("lawyer", (), "san-francisco-legal", frozenset()),
    "lawyer-chicago-legal-in-sf": Spec("lawyer", ("san-francisco",), "chicago-legal",
                                       frozenset()),
}


@pytest.fixture
def world(app, client, seeded) -> dict[str, str]:
    """The seeded incidents, with Chicago verified (and so paged to chicago-legal)."""
    make_user(app, "boss@example.org", "admin")
    login(client, "boss@example.org")
    post_form(client, f"/incidents/{seeded['chicago']}/actions", {"action": "verify"})
    run_jobs(app)
    return seeded


def bearer(app: Any, name: str, spec: Spec) -> dict[str, str]:
    with app.app_context():
        _row, token = tokens.create_token(db.session, name, spec.role,
                                          list(spec.jurisdictions), spec.network)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("name", SPECS)
def test_every_endpoint_answers_within_the_token_scope(app, world, name):
    spec = SPECS[name]
    api = app.test_client()
    auth = bearer(app, name, spec)
    acts = spec.role in ("admin", "dispatcher")
    pii = spec.role != "viewer"

    listed = {i["code"] for i in api.get("/api/v1/incidents", headers=auth).json["incidents"]}
    assert listed == {world[k] for k in spec.sees}

    for key in INCIDENTS:
        code = world[key]
        inside = key in spec.sees
        # the list, filtered by this incident's jurisdiction
        filtered = api.get(f"/api/v1/incidents?jurisdiction={key}", headers=auth)
        queue_ok = (spec.role == "admin" or not spec.jurisdictions) and spec.role != "lawyer"
        allowed = queue_ok if key == "none" else (
            spec.role == "admin" or not spec.jurisdictions or key in spec.jurisdictions)
        assert filtered.status_code == (200 if allowed else 403), (key, filtered.json)
        if allowed:
            assert {i["code"] for i in filtered.json["incidents"]} == ({code} if inside else set())
        # the detail: 404 outside the scope, exactly as for a code that does not exist
        detail = api.get(f"/api/v1/incidents/{code}", headers=auth)
        assert detail.status_code == (200 if inside else 404), key
        if inside:
            texts = [r["text"] for r in detail.json["reports"]]
            assert texts and all((t is not None) == pii for t in texts)
        # an action: 403 for roles that only read, else 404 outside the scope
        acted = api.post(f"/api/v1/incidents/{code}/actions", headers=auth,
                         json={"action": "note", "note": f"{name} was here"})
        assert acted.status_code == (403 if not acts else 200 if inside else 404), key
        # a merge into an incident outside the scope is refused as if it did not exist
        if acts and inside:
            for other in INCIDENTS:
                if other not in spec.sees:
                    merged = api.post(f"/api/v1/incidents/{code}/actions", headers=auth,
                                      json={"action": "merge", "into": world[other]})
                    assert merged.status_code == 404, (key, other)

    counts = api.get("/api/v1/jurisdictions", headers=auth).json
    slugs = {j["slug"] for j in counts["jurisdictions"]}
    if spec.role == "admin" or not spec.jurisdictions:
        assert {"chicago", "san-francisco", "new-york-city"} <= slugs
    else:
        assert slugs == set(spec.jurisdictions)
    open_seen = sum(j["open_incidents"] for j in counts["jurisdictions"])
    assert open_seen + counts["unassigned"]["open_incidents"] == len(spec.sees)


@pytest.mark.parametrize("name", [n for n, s in SPECS.items() if s.role != "lawyer"])
def test_the_dashboard_agrees_with_the_api(app, world, name):
    """The same scope on a user: the incident pages it may open are the API's."""
    spec = SPECS[name]
    email = f"{name}@example.org"
    make_user(app, email, spec.role, jurisdictions=list(spec.jurisdictions))
    browser = app.test_client()
    login(browser, email)
    for key in INCIDENTS:
        status = browser.get(f"/incidents/{world[key]}").status_code
        assert status == (200 if key in spec.sees else 404), key


@pytest.mark.parametrize(("role", "jurisdictions", "network", "problem"), [
    ("admin", ["chicago"], None, "--jurisdiction: an admin token"),
    ("dispatcher", ["atlantis"], None, "--jurisdiction: unknown slug(s) atlantis"),
    ("lawyer", [], None, "--network: a lawyer token needs"),
    ("dispatcher", [], "chicago-legal", "--network: only a lawyer token"),
    ("lawyer", [], "atlantis-legal", "--network: no legal network"),
    ("root", [], None, "--role: must be one of"),
])
def test_a_token_scope_is_checked_when_it_is_made(app, role, jurisdictions, network, problem):
    with app.app_context():
        with pytest.raises(tokens.TokenError, match=problem.replace("(", r"\(")
                           .replace(")", r"\)")):
            tokens.create_token(db.session, "bad", role, jurisdictions, network)


def test_the_admin_page_makes_scoped_tokens(app, client):
    make_user(app, "boss@example.org", "admin")
    login(client, "boss@example.org")
    response = post_form(client, "/admin/tokens", {
        "name": "sf-desk", "role": "dispatcher", "jurisdictions": ["san-francisco"]},
        page="/admin/tokens")
    assert response.status_code == 200 and 'data-testid="new-token"' in response.text
    assert "san-francisco" in client.get("/admin/tokens").text
    refused = post_form(client, "/admin/tokens", {"name": "x", "role": "lawyer"},
                        page="/admin/tokens")
    assert refused.status_code == 400 and "a lawyer token needs" in refused.text
    with app.app_context():
        from sqlalchemy import select
        row = db.session.scalar(select(ApiToken).where(ApiToken.name == "sf-desk"))
        assert row.jurisdictions == ["san-francisco"] and row.network_slug is None
