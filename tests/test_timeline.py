"""The timeline entry every report adds to the incident it joins: written as one statement
(at the driver on PostgreSQL), it names the report and keeps its place in the timeline."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.models import IncidentEvent, Report
from tests.conftest import drain

PILSEN = "ICE arresting people at 18th and Ashland in Pilsen"


@pytest.mark.parametrize("backend", ["app", pytest.param("pg_app", marks=[
    pytest.mark.postgres, pytest.mark.redis])])
def test_each_report_joining_an_incident_is_on_its_timeline_in_order(request, backend,
                                                                     twilio):
    app = request.getfixturevalue(backend)
    client = app.test_client()
    for number in ("+17735550401", "+17735550402", "+17735550403"):
        twilio.post_sms(client, f"{PILSEN}, 2 vans", from_number=number)
        drain(app)
    with app.app_context():
        reports = db.session.scalars(select(Report).order_by(Report.id)).all()
        assert len({r.incident_id for r in reports}) == 1
        events = db.session.scalars(select(IncidentEvent).where(
            IncidentEvent.incident_id == reports[0].incident_id).order_by(IncidentEvent.id)).all()
        added = [e for e in events if e.kind == "report_added"]
        assert [e.data for e in added] == [{"report_id": r.id} for r in reports[1:]]
        assert all(e.actor == "system" and e.at is not None for e in added)
        assert events[0].kind == "created" and events[0].data == {"report_id": reports[0].id}
        ats = [e.at for e in events]
        assert ats == sorted(ats)  # the order of ids is the order of time
