"""Schemathesis against /api/v1/openapi.json: no 5xx, and every answer conforms to the document
(status codes, content types, bodies, headers); data the document forbids is refused."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from hotline.accounts import tokens
from hotline.core.extensions import db
from tests.dashboard.conftest import CHICAGO_SMS, OUTSIDE_SMS, SF_SMS, run_jobs

# per operation and mode: bounded time, still hundreds of requests (raise it to fuzz harder)
EXAMPLES = int(os.environ.get("HOTLINE_FUZZ_EXAMPLES", "25"))
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_schema_conformance,
          checks.response_headers_conformance, checks.negative_data_rejection]


@pytest.fixture
def api_app(app, twilio):
    """An app with incidents in and out of jurisdictions, and a dispatcher token."""
    client = app.test_client()
    for body, sender in ((CHICAGO_SMS, "+13125550123"), (SF_SMS, "+14155550123"),
                         (OUTSIDE_SMS, "+16025550123")):
        twilio.post_sms(client, body, from_number=sender)
    run_jobs(app)
    with app.app_context():
        _row, token = tokens.create_token(db.session, "schemathesis")
        db.session.commit()
    app.config["TEST_TOKEN"] = token
    return app


OPERATIONS = [("GET", "/incidents"), ("GET", "/incidents/{code}"),
              ("POST", "/incidents/{code}/actions"), ("GET", "/jurisdictions"),
              ("GET", "/openapi.json"), ("POST", "/broadcasts"), ("GET", "/broadcasts/{id}"),
              ("POST", "/broadcasts/{id}/send"), ("POST", "/broadcasts/{id}/cancel"),
              ("GET", "/subscribers/summary")]


def test_document_lists_every_operation(api_app):
    document = api_app.test_client().get("/api/v1/openapi.json").json
    found = [(m.upper(), path) for path, item in document["paths"].items() for m in item]
    assert sorted(found) == sorted(OPERATIONS)
    rules = {(m, r.rule) for r in api_app.url_map.iter_rules() if r.rule.startswith("/api/v1")
             for m in r.methods - {"HEAD", "OPTIONS"}}
    assert rules == {(m, "/api/v1" + p.replace("{code}", "<code>").replace("{id}",
                                                                          "<broadcast_id>"))
                     for m, p in OPERATIONS}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_api_conforms_to_its_openapi_document(api_app, method, path, mode):
    if mode == GenerationMode.NEGATIVE and path in ("/openapi.json", "/jurisdictions"):
        pytest.skip("no parameters or body to make invalid")
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {api_app.config['TEST_TOKEN']}"}
    codes = ["ZZZZ", *_codes(api_app)]

    @given(case=operation.as_strategy(generation_mode=mode), pick=st.sampled_from(codes))
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case, pick):
        if "code" in (case.path_parameters or {}) and mode == GenerationMode.POSITIVE:
            case.path_parameters["code"] = pick  # real incidents too, not only random codes
        # A negative case may drop the Authorization header on purpose: then send none (401)
        if mode == GenerationMode.POSITIVE or "Authorization" in (case.headers or {}):
            case.call_and_validate(headers=headers, checks=CHECKS)
        else:
            case.call_and_validate(checks=CHECKS)

    run()


def _codes(app):
    with app.app_context():
        from sqlalchemy import select

        from hotline.models import Incident
        return list(db.session.scalars(select(Incident.code)))
