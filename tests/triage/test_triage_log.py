"""A message's triage says where it went in one INFO line (a burst writes one per message),
with ids and codes only: no number, no body."""

from __future__ import annotations

import logging

from tests.conftest import drain

PHONE = "+13125550177"


def _triage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO
            and r.name in ("hotline.incidents.reports", "hotline.incidents.clustering")]


def test_one_info_line_per_message_names_report_incident_and_jurisdiction(sms_app, twilio,
                                                                          caplog):
    client = sms_app.test_client()
    twilio.post_sms(client, "ICE agents at 18th and Ashland in Pilsen", from_number=PHONE)
    with caplog.at_level(logging.INFO):
        drain(sms_app)
    opened = _triage_lines(caplog)
    assert len(opened) == 1, opened
    assert "opened incident" in opened[0] and "(jurisdiction chicago)" in opened[0]
    twilio.post_sms(client, "ICE at 18th and Ashland right now", from_number="+13125550178")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        drain(sms_app)
    joined = _triage_lines(caplog)
    assert len(joined) == 1 and "joined incident" in joined[0], joined
    assert all("555" not in line and "Ashland" not in line for line in opened + joined)
