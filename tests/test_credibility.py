"""Credibility: the score and its reasons, from distinct reporters and their track records."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.incidents import credibility
from hotline.models import Incident, Reporter
from tests.conftest import drain

PILSEN = "ICE arresting people at 18th and Ashland in Pilsen"


def _reasons(reasons: list[dict]) -> dict[str, dict]:
    return {r["factor"]: r for r in reasons}


@pytest.mark.parametrize("backend", ["app", pytest.param("pg_app", marks=[
    pytest.mark.postgres, pytest.mark.redis])])
def test_distinct_reporters_and_their_track_records(request, backend, twilio):
    app = request.getfixturevalue(backend)  # the sums are the database's: both dialects
    client = app.test_client()
    numbers = ["+17735550301", "+17735550302", "+17735550303"]
    for number in numbers + numbers[:1]:  # the first one writes twice: still one reporter
        twilio.post_sms(client, f"{PILSEN}, 2 vans", from_number=number)
    drain(app)
    with app.app_context():
        records = {"+17735550301": (4, 0), "+17735550302": (0, 2), "+17735550303": (1, 1)}
        vault = app.extensions["hotline_vault"]
        for reporter in db.session.scalars(select(Reporter)):
            reporter.confirmed_count, reporter.false_alarm_count = records[
                vault.decrypt(reporter.phone_enc, "reporter.phone")]
        incident = db.session.scalar(select(Incident))
        score, reasons = credibility.score_incident(db.session, incident)
        by_factor = _reasons(reasons)
        assert by_factor["corroboration"] == {"factor": "corroboration", "weight": 0.55,
                                              "reporters": 3,
                                              "detail": "3 independent reporters"}
        trust = (5 / 6 + 1 / 4 + 2 / 4) / 3  # (confirmed + 1) / (confirmed + false + 2)
        assert by_factor["track_record"] == {
            "factor": "track_record", "weight": round((trust - 0.5) * 0.4, 3),
            "confirmed": 5, "false_alarms": 3,
            "detail": "reporters' past reports: 5 confirmed, 3 false alarms"}
        assert score == max(0.0, min(1.0, round(0.1 + sum(r["weight"] for r in reasons), 3)))
        assert incident.score == score and incident.score_reasons == reasons


def test_one_reporter_and_no_track_record(app, twilio):
    twilio.post_sms(app.test_client(), PILSEN, from_number="+17735550304")
    drain(app)
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        _, reasons = credibility.score_incident(db.session, incident)
        by_factor = _reasons(reasons)
        assert by_factor["corroboration"]["detail"] == "1 independent reporter"
        assert by_factor["corroboration"]["weight"] == 0.2
        assert by_factor["track_record"]["weight"] == 0.0  # the neutral prior
