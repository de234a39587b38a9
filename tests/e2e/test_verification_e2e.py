"""End to end on PostgreSQL + Redis with a real worker process and the Twilio stand-in:
three reports from three numbers near one place -> one incident -> the verifier's SMS -> YES ->
verified and routed -> the on-call lawyer's SMS -> ACCEPT -> acknowledged."""

from __future__ import annotations

import pytest

from hotline.accounts import tokens
from hotline.core.extensions import db
from tests.e2e.test_pipeline import run_burst_worker
from tests.routing.helpers import phone

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.e2e]


def test_three_reports_to_verified_to_accepted(pg_url, redis_url, standin, twilio, make_pg_app):
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_SENDER_RATE": "20"}
    app = make_pg_app(REDIS_URL=redis_url, **extra)
    client = app.test_client()
    for number, body in [
        ("+17735550140", "ICE arresting people at 18th and Ashland in Pilsen, 3 vans"),
        ("+17735550141", "migra en la 18 y Ashland, Pilsen, se estan llevando gente"),
        ("+13125550142", "agents at 18th St & Ashland Ave Chicago right now"),
    ]:
        assert twilio.post_sms(client, body, from_number=number).status_code == 200
    worker = run_burst_worker(pg_url, redis_url, extra)
    assert worker.returncode == 0, worker.stderr[-2000:]

    with app.app_context():
        _row, token = tokens.create_token(db.session, "e2e")
        db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}
    (incident,) = client.get("/api/v1/incidents", headers=auth).json["incidents"]
    assert incident["report_count"] == 3 and incident["jurisdiction"] == "chicago"
    assert incident["status"] == "verifying"
    code = incident["code"]
    verifier = phone("chicago-verifier-4")
    (verify,) = [m for m in standin.sent if m["to"] == verifier]
    assert code in verify["body"]

    twilio.post_sms(client, f"YES {code}", from_number=verifier)
    assert run_burst_worker(pg_url, redis_url, extra).returncode == 0
    detail = client.get(f"/api/v1/incidents/{code}", headers=auth).json
    assert detail["status"] == "routed"
    pages = [m for m in standin.sent if _is_page(m, code)]
    assert len(pages) == 1
    lawyer = pages[0]["to"]

    twilio.post_sms(client, f"ACCEPT {code}", from_number=lawyer)
    result = run_burst_worker(pg_url, redis_url, extra)
    assert result.returncode == 0
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    detail = client.get(f"/api/v1/incidents/{code}", headers=auth).json
    assert detail["status"] == "acknowledged"
    assert {a["status"] for a in detail["alerts"] if a["kind"] == "page"} == {"acked"}
    assert lawyer not in str(detail)


def _is_page(message: dict, code: str) -> bool:
    """A lawyer's page (not the verifiers' "no need to go", which also starts HOTLINE code)."""
    return message["body"].startswith(f"HOTLINE {code}") and "ACCEPT" in message["body"]
