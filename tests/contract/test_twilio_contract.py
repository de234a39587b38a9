"""Contract: every request Hotline makes through the real twilio client is one that Twilio's own
OpenAPI description (../shared/twilio-oai) accepts, as checked by a Prism mock server.

Hotline's own code paths are exercised (queue an SMS, run the outbox job; reconcile a claimed
send against Twilio's list; delete expired recordings), plus direct client calls. The negative
controls prove the check catches a bad request made with the same real client.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from twilio.base import values
from twilio.base.exceptions import TwilioException

from hotline.core.extensions import db
from hotline.core.twilio_client import make_client
from hotline.jobs import outbox
from hotline.messaging import outbound
from hotline.models import Message
from hotline.models import utcnow as now
from hotline.privacy.retention import delete_at_twilio
from tests.conftest import PUBLIC_URL

pytestmark = pytest.mark.contract

TO = "+13125550177"
FROM = "+15555550100"
SERVICE = "MG" + "0123456789abcdef" * 2
RECORDING = "RE" + "f" * 32
BODY = "Hotline: ALERTA 7Q4K, Pilsen (18th & Ashland), 14:05. ¿Acepta? ACCEPT 7Q4K 🚨"


@pytest.fixture
def sending_app(make_app: Any, prism: Any) -> Any:
    """Apps whose real twilio client talks to Prism."""

    def factory(**extra: Any) -> Flask:
        settings = {"TWILIO_API_BASE_URL": prism.url, "TWILIO_FROM_NUMBER": None,
                    "TWILIO_MESSAGING_SERVICE_SID": None, **extra}
        return make_app(**settings)

    return factory


def queue(app: Flask, body: str = BODY) -> int:
    with app.app_context():
        message = outbound.queue_sms(db.session, app.extensions["hotline_vault"], TO, body,
                                     "contract")
        db.session.commit()
        return message.id


def run_jobs(app: Flask) -> None:
    assert outbox.backend_of(app).run_pending() >= 1


def outcome(app: Flask, message_id: int) -> tuple[str, str]:
    with app.app_context():
        message = db.session.get(Message, message_id)
        return message.status, message.twilio_sid


# -- Hotline's own code paths -----------------------------------------------------------------

def test_send_from_a_number_with_status_callback(sending_app, wire):
    app = sending_app(TWILIO_FROM_NUMBER=FROM)
    message_id = queue(app)
    run_jobs(app)

    wire.assert_conforms()
    (create,) = wire.of("POST", "/Messages.json")
    assert create.status == 201
    assert create.data["To"] == TO and create.data["Body"] == BODY
    assert create.data["From"] == FROM
    assert create.data["StatusCallback"] == f"{PUBLIC_URL}/twilio/status"
    assert "MessagingServiceSid" not in create.data
    status, sid = outcome(app, message_id)
    assert status == "sent" and sid.startswith("SM")


def test_send_through_a_messaging_service(sending_app, wire):
    app = sending_app(TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    message_id = queue(app)
    run_jobs(app)

    wire.assert_conforms()
    (create,) = wire.of("POST", "/Messages.json")
    assert create.data["MessagingServiceSid"] == SERVICE and "From" not in create.data
    assert create.data["StatusCallback"] == f"{PUBLIC_URL}/twilio/status"
    assert outcome(app, message_id)[0] == "sent"


def test_a_claimed_send_is_reconciled_with_the_list_then_sent(sending_app, wire):
    """A send whose outcome is unknown lists the recipient's messages before sending again."""
    app = sending_app(TWILIO_FROM_NUMBER=FROM)
    message_id = queue(app)
    with app.app_context():
        message = db.session.get(Message, message_id)
        message.status = "sending"
        message.flags = {**message.flags, "attempts": 1,
                         "claimed_at": (now() - timedelta(minutes=1)).isoformat()}
        db.session.commit()
    run_jobs(app)

    wire.assert_conforms()
    listed = wire.of("GET", "/Messages.json")
    assert listed, "the reconciliation did not list messages"
    assert listed[0].params["To"] == TO and listed[0].params["PageSize"] == 20
    assert len(wire.of("POST", "/Messages.json")) == 1  # not found at Twilio: sent once
    assert outcome(app, message_id)[0] == "sent"


def test_expired_records_are_deleted_at_twilio(sending_app, wire):
    """The purge's DELETEs of a Message record (its media go with it) and of a recording are
    requests Twilio's own OpenAPI description accepts."""
    app = sending_app(TWILIO_FROM_NUMBER=FROM)
    message_sid = "MM" + "e" * 32
    with app.app_context():
        vault = app.extensions["hotline_vault"]
        for sid, channel in ((RECORDING, "voice"), (message_sid, "mms")):
            db.session.add(Message(
                twilio_sid=sid, direction="inbound", channel=channel,
                counterpart_hmac=vault.phone_hmac(TO), counterpart_enc=vault.encrypt(
                    TO, "message.counterpart"), received_at=now() - timedelta(days=40)))
        db.session.commit()
        counts = delete_at_twilio(db.session, app.config["SETTINGS"], now())
        assert counts["recordings"] == 1 and counts["twilio_messages"] == 1

    wire.assert_conforms()
    deletes = sorted(wire.exchanges, key=lambda e: e.url)
    assert [(e.method, e.status) for e in deletes] == [("DELETE", 204)] * 2
    assert deletes[0].url.endswith(f"/Messages/{message_sid}.json")
    assert deletes[1].url.endswith(f"/Recordings/{RECORDING}.json")


# -- direct calls of the real client ----------------------------------------------------------

def test_direct_list_and_delete(sending_app, wire):
    app = sending_app(TWILIO_FROM_NUMBER=FROM)
    client = make_client(app.config["SETTINGS"])

    recent = client.messages.list(to=TO, limit=20)
    assert recent and all(m.sid for m in recent)
    assert client.recordings(RECORDING).delete() is True

    wire.assert_conforms()
    assert wire.of("GET", "/Messages.json")[0].params == {"To": TO, "PageSize": 20}
    assert len(wire.of("DELETE", f"/Recordings/{RECORDING}.json")) == 1


# -- negative controls: the check must catch a request Twilio's schema rejects ----------------

BAD_REQUESTS = {
    "create without To": (
        lambda c: c.messages.create(to=values.unset, from_=FROM, body="x"),
        "required property 'To'"),
    "messaging service SID that is no SID": (
        lambda c: c.messages.create(to=TO, messaging_service_sid="MG123", body="x"),
        "body.MessagingServiceSid"),
    "status callback that is no URL": (
        lambda c: c.messages.create(to=TO, from_=FROM, body="x",
                                    status_callback="hotline.test/twilio/status"),
        "body.StatusCallback"),
    "list with a page size that is no number": (
        lambda c: c.messages.list(to=TO, page_size="twenty", limit=20),
        "query.pagesize"),
    "delete of a recording SID that is no SID": (
        lambda c: c.recordings("RE123").delete(),
        "path.sid"),
}


@pytest.mark.parametrize("case", list(BAD_REQUESTS))
def test_negative_control_bad_requests_are_reported(sending_app, wire, case):
    call, expected = BAD_REQUESTS[case]
    client = make_client(sending_app(TWILIO_FROM_NUMBER=FROM).config["SETTINGS"])
    with pytest.raises(TwilioException):  # a failed list page raises no TwilioRestException
        call(client)
    problems = wire.violations()
    assert any(expected in problem for problem in problems), problems
    with pytest.raises(AssertionError, match="Twilio's OpenAPI description rejects"):
        wire.assert_conforms()


def test_negative_control_through_hotline_send_path(sending_app, wire):
    """Hotline turns the refusal into a failed message; the contract check still sees it."""
    app = sending_app(TWILIO_MESSAGING_SERVICE_SID=SERVICE)
    # An account SID that is not hex: as if the settings had let a malformed one through.
    app.config["SETTINGS"] = dataclasses.replace(app.config["SETTINGS"],
                                                 twilio_account_sid="AC" + "x" * 32)
    message_id = queue(app)
    run_jobs(app)

    assert outcome(app, message_id)[0] == "failed"
    assert any("path.accountsid" in problem for problem in wire.violations()), wire.violations()
