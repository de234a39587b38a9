"""Every endpoint the app has, with hostile values in every place a value goes: 0 server errors.

The routes come from the app's own URL map, so a new endpoint is fuzzed without anyone adding
it here. Each is called anonymously, as a logged-in admin (with the CSRF token, so forms reach
their views) and with an admin API token; each hostile value goes into the path, the query
string, the form or JSON body, and — for Twilio's webhooks — into a correctly signed form, or a
raw body that is no UTF-8 at all.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from hotline.accounts import tokens
from hotline.core.extensions import db
from tests.dashboard.conftest import csrf_of, login, make_user, run_jobs
from tests.dashboard.conftest import seeded as seeded  # noqa: F401 (the fixture)

# values as a client can put them on the wire (already percent-encoded where in a URL)
RAW = {
    "nul": "%00",
    "not-utf8": "%FF%FE",
    "surrogate": "%ED%A0%80",  # a UTF-16 surrogate as bytes: no valid UTF-8
    "oversized": "x" * 12_000,  # beyond every maximum (10,000 is the largest)
    "huge-int": "9" * 40,
}
# the same as text, for forms and JSON (a form cannot carry a lone surrogate as text: it goes
# as the raw bytes of RAW["surrogate"] in a raw body; JSON carries it as "\ud800")
TEXT = {"nul": "a\x00b", "oversized": "ñ" * 12_000, "huge-int": "9" * 40,
        "emoji-html": "🚨<img src=x onerror=alert(1)>" * 50}
JSON_TEXT = {**TEXT, "surrogate": "\ud800"}
# query-string names the views read, then form / JSON names
QUERY_FIELDS = ("status", "jurisdiction", "since", "limit", "period", "page", "next", "action",
                "lang", "token")
FIELDS = ("action", "note", "into", "report", "reports", "email", "password", "code", "name",
          "role", "jurisdictions", "network", "responder", "confirm_jurisdiction", "csrf_token")
WEBHOOK_FIELDS = ("Body", "From", "MessageSid", "CallSid", "Digits", "RecordingSid",
                  "RecordingDuration", "TranscriptionText", "MessageStatus", "ErrorCode",
                  "NumMedia", "MediaUrl0")


def _routes(app: Any) -> list[tuple[str, str, dict[str, str]]]:
    """(rule, method, {argument: converter}) of every endpoint."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"OPTIONS"}):
            found.append((rule.rule, method, {k: type(v).__name__
                                              for k, v in rule._converters.items()}))
    return found


def _paths(rule: str, converters: dict[str, str]) -> list[str]:
    """The rule with ordinary values, then with each hostile value in each argument."""
    def fill(special: str | None = None, value: str = "") -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[-1]
            kind = converters.get(name, "")
            if name == special:
                return value
            if kind in ("IntegerConverter", "RowId"):
                return "2"  # the victims below, never the callers' own rows (id 1)
            if kind == "AnyConverter":
                return match.group(1).split("(")[1].split(",")[0].strip(" '")
            if kind == "PathConverter":
                return "dashboard.css"
            return "ABCD"  # becomes a real incident's code
        return re.sub(r"<([^>]+)>", one, rule)

    paths = [fill()]
    for name in converters:
        paths += [fill(name, value) for value in RAW.values()]
    return paths


@pytest.fixture
def callers(app, client, twilio, seeded) -> dict[str, Any]:
    """Anonymous, an admin's browser session, an admin token — and a real incident."""
    assert make_user(app, "fuzz@example.org", "admin") == 1
    make_user(app, "victim@example.org", "dispatcher")
    with app.app_context():
        row, token = tokens.create_token(db.session, "fuzz", "admin")
        tokens.create_token(db.session, "victim", "viewer")
        db.session.commit()
        assert row.id == 1
    run_jobs(app)
    return {"anonymous": (app.test_client(), {}), "admin": (app.test_client(), {}),
            "token": (app.test_client(), {"Authorization": f"Bearer {token}"})}


def _fresh_admin(client: Any) -> str:
    """Log the admin in again (a fuzzed form may have logged them out); the CSRF token."""
    page = client.get("/account/password")
    if 'name="csrf_token"' not in page.text or page.status_code != 200:
        # from an address of its own: the fuzzed logins from 127.0.0.1 have it throttled
        login(client, "fuzz@example.org", environ_base={"REMOTE_ADDR": "192.0.2.7"})
        page = client.get("/account/password")
    return csrf_of(page.text)


def test_no_endpoint_answers_a_hostile_value_with_a_server_error(app, callers, twilio, seeded):
    failures: list[str] = []
    calls = 0

    def check(response: Any, what: str) -> None:
        nonlocal calls
        calls += 1
        # /readyz's 503 is its documented answer here: the test's job runner is not started
        documented = response.status_code == 503 and " /readyz" in what
        if response.status_code >= 500 and not documented:
            failures.append(f"{response.status_code} {what}")

    for rule, method, converters in _routes(app):
        if rule == "/logout":
            continue  # would end the admin session the rest relies on: called last
        for caller, (client, headers) in callers.items():
            csrf = _fresh_admin(client) if caller == "admin" else ""
            ordinary, *hostile = _paths(rule, converters)
            ordinary = ordinary.replace("ABCD", seeded["chicago"])
            for path in hostile:  # a hostile value in the path itself
                check(client.open(path, method=method, headers=headers),
                      f"{caller} {method} {path[:80]}")
            for path in (ordinary,):  # hostile values everywhere else
                label = f"{caller} {method} {path[:80]}"
                check(client.open(path, method=method, headers=headers), label)
                if method in ("GET", "HEAD"):
                    for field in QUERY_FIELDS if caller != "anonymous" else ("next",):
                        for name, raw in RAW.items():
                            check(client.open(f"{path}?{field}={raw}", method=method,
                                              headers=headers), f"{label} ?{field}={name}")
                    continue
                for field in FIELDS:
                    for name, value in JSON_TEXT.items():
                        form = {field: value, "csrf_token": csrf, "action": "note"}
                        if field == "action":
                            form["action"] = value
                        if name in TEXT:
                            check(client.open(path, method=method, data=form, headers=headers),
                                  f"{label} form {field}={name}")
                        if path.startswith("/api/"):
                            check(client.open(path, method=method, headers=headers,
                                              json={"action": "note", field: value}),
                                  f"{label} json {field}={name}")
                check(client.open(path, method=method, headers={
                    **headers, "Content-Type": "application/x-www-form-urlencoded"},
                    data=b"Body=%FF%FE&From=%ED%A0%80&csrf_token=" + csrf.encode()),
                    f"{label} raw non-UTF-8 body")
                check(client.open(path, method=method, headers={
                    **headers, "Content-Type": "application/json"}, data=b'{"action": "\xff'),
                    f"{label} broken JSON")
                if rule.startswith("/twilio/"):
                    for field in WEBHOOK_FIELDS:
                        for name, value in TEXT.items():
                            form = {**twilio.sms("ICE at 60608"), "CallSid": "CA" + "1" * 32,
                                    field: value}
                            check(client.post(path, data=form,
                                              headers=twilio.headers(path, form)),
                                  f"signed {path} {field}={name}")
    check(callers["admin"][0].post("/logout", data={"csrf_token": "x" * 120_000}), "logout")
    assert calls > 2000, calls
    assert not failures, f"{len(failures)} server errors, e.g. {failures[:10]}"
