"""Verifiers and lawyers who were asked are told when they are no longer needed: a verifier
still asked when someone else confirms gets "no need to go", a request still queued is never
sent, and a merge tells everyone asked the code that carries on. A routed incident can be
re-verified: verifiers look again, and the incident stays with its lawyer."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, update

from hotline.core.extensions import db
from hotline.incidents import actions
from hotline.messaging import notify
from hotline.models import Alert, Incident, IncidentEvent, Message, Report, Responder
from tests.conftest import drain, run_due_timers
from tests.routing.helpers import (
    act_by_api,
    incident_status,
    phone,
    report_pilsen,
    route_pilsen,
    sent_to,
)

VERIFIERS = ("chicago-verifier-4", "chicago-verifier-5")


def _asked(app: Flask, code: str) -> list[Responder]:
    with app.app_context():
        asked = db.session.scalars(
            select(Responder).join(Alert, Alert.responder_id == Responder.id)
            .join(Incident, Incident.id == Alert.incident_id)
            .where(Incident.code == code, Alert.kind == "verify").order_by(Alert.id)).all()
        db.session.expunge_all()
        return asked


def _re_verified_and_answered(app: Flask, twilio, answer: str):
    """A routed Pilsen incident re-verified, and the verifier asked again answering `answer`."""
    routed = route_pilsen(app, twilio)
    act_by_api(app, routed.code, "reverify")
    drain(app)
    again = _asked(app, routed.code)[-1]
    twilio.post_sms(routed.client, f"{answer} {routed.code}", from_number=phone(again.key))
    drain(app)
    return routed


def _text(app: Flask, template: str, key: str, **values: str) -> str:
    with app.app_context():
        responder = db.session.scalar(select(Responder).where(Responder.key == key))
        return notify.templates().text(template, notify.responder_language(responder), **values)


def _verify_alerts(app: Flask, code: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(Alert.status).join(Incident, Incident.id == Alert.incident_id)
            .where(Incident.code == code, Alert.kind == "verify").order_by(Alert.id)))


def _events(app: Flask, code: str) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(
            select(IncidentEvent.kind).join(Incident, Incident.id == IncidentEvent.incident_id)
            .where(Incident.code == code).order_by(IncidentEvent.id)))


def test_a_verifier_still_asked_is_told_they_need_not_go_when_a_dispatcher_verifies(
        sms_app, twilio, standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    (verifier,) = _asked(sms_app, code)
    assert sent_to(standin, verifier.key)[-1].startswith(("VERIFY", "VERIFICAR"))
    act_by_api(sms_app, code, "verify")
    drain(sms_app)
    assert sent_to(standin, verifier.key)[-1] == _text(sms_app, "verify_not_needed",
                                                       verifier.key, code=code)
    assert _verify_alerts(sms_app, code) == ["withdrawn"]
    assert "verifiers_stood_down" in _events(sms_app, code)
    with sms_app.app_context():
        from hotline.dashboard import queries

        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        answers = queries.verifier_answers(queries.alerts_of(db.session, incident))
    assert [a["answer"] for a in answers] == ["not needed any more"]


def test_the_verifier_who_confirmed_is_not_told_to_stand_down(sms_app, twilio, standin):
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app, 1)
    (verifier,) = _asked(sms_app, code)
    twilio.post_sms(client, f"YES {code}", from_number=phone(verifier.key))
    drain(sms_app)
    assert incident_status(sms_app, code) == "routed"
    not_needed = _text(sms_app, "verify_not_needed", verifier.key, code=code)
    assert not_needed not in sent_to(standin, verifier.key)
    assert _verify_alerts(sms_app, code) == ["acked"]


def test_a_request_still_queued_when_the_incident_is_verified_is_never_sent(
        sms_app, twilio, standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    (verifier,) = _asked(sms_app, code)
    before = len(sent_to(standin, verifier.key))
    with sms_app.app_context():  # as if no worker had sent the request yet
        alert_id = db.session.scalar(select(Alert.id).where(Alert.kind == "verify"))
        db.session.execute(update(Alert).where(Alert.id == alert_id).values(status="queued"))
        db.session.execute(update(Message).where(Message.alert_id == alert_id)
                           .values(status="queued"))
        db.session.commit()
    act_by_api(sms_app, code, "verify")
    drain(sms_app)
    assert len(sent_to(standin, verifier.key)) == before  # neither the request nor the stand-down
    with sms_app.app_context():
        assert list(db.session.scalars(select(Message.status).where(
            Message.alert_id == alert_id).order_by(Message.id))) == ["suppressed"]
    assert _verify_alerts(sms_app, code) == ["withdrawn"]


def test_a_dismissal_withdraws_the_requests_and_the_retraction_tells_them(
        sms_app, twilio, standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    (verifier,) = _asked(sms_app, code)
    act_by_api(sms_app, code, "dismiss")
    drain(sms_app)
    sent = sent_to(standin, verifier.key)
    assert sent[-1].startswith(("RETRACTION", "RECTIFICACIÓN"))
    assert _text(sms_app, "verify_not_needed", verifier.key, code=code) not in sent
    assert _verify_alerts(sms_app, code) == ["withdrawn"]


def test_a_merge_tells_everyone_asked_the_code_that_carries_on(sms_app, twilio, standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 2)
    (verifier,) = _asked(sms_app, code)
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        second = db.session.scalars(select(Report.id).where(Report.incident_id == incident.id)
                                    .order_by(Report.id)).all()[-1]
        other = actions.apply_action(db.session, incident, {"action": "split",
                                                            "reports": [second]},
                                     "user:test")["new_incident"]
        db.session.commit()
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        actions.apply_action(db.session, incident, {"action": "merge", "into": other},
                             "user:test")
        db.session.commit()
    drain(sms_app)
    assert sent_to(standin, verifier.key)[-1] == _text(
        sms_app, "merged_notice", verifier.key, code=code, into=other)
    assert _verify_alerts(sms_app, code) == ["withdrawn"]


def test_a_routed_incident_is_re_verified_and_stays_with_its_lawyer(sms_app, twilio, standin):
    routed = route_pilsen(sms_app, twilio)
    code = routed.code
    with pytest.raises(actions.ActionError) as refused:
        act_by_api(sms_app, code, "dismiss")
    assert refused.value.status == 409
    act_by_api(sms_app, code, "reverify")
    drain(sms_app)
    first, again = _asked(sms_app, code)  # a verifier not asked before
    assert again.key != first.key and again.key in VERIFIERS
    assert code in sent_to(standin, again.key)[-1]
    assert incident_status(sms_app, code) == "routed"
    twilio.post_sms(routed.client, f"NO {code}", from_number=phone(again.key))
    drain(sms_app)
    assert incident_status(sms_app, code) == "routed"  # a NO does not take it from its lawyer
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        assert (incident.flags or {}).get("contested")
    assert {"recheck_asked", "verifier_no"} <= set(_events(sms_app, code))


def test_a_verifier_s_yes_on_a_recheck_goes_on_the_timeline(sms_app, twilio, standin):
    routed = _re_verified_and_answered(sms_app, twilio, "YES")
    assert incident_status(sms_app, routed.code) == "routed"
    assert "verifier_still_there" in _events(sms_app, routed.code)
    assert _verify_alerts(sms_app, routed.code)[-1] == "acked"


def test_a_delivery_report_never_brings_a_withdrawn_request_back(sms_app, twilio, standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    (verifier,) = _asked(sms_app, code)
    request = next(m for m in standin.sent if m["to"] == phone(verifier.key))
    act_by_api(sms_app, code, "verify")
    drain(sms_app)
    with sms_app.app_context():
        from hotline.routing.alerts import on_message_status

        message = db.session.scalar(select(Message).where(Message.twilio_sid == request["sid"]))
        message.status = "delivered"
        on_message_status(db.session, message)
        db.session.commit()
    assert _verify_alerts(sms_app, code) == ["withdrawn"]


def test_a_routed_incident_a_re_verify_found_contested_can_be_dismissed(
        sms_app, twilio, standin):
    """Found in review: a hoax found out after routing could only be "resolved" (an all-clear),
    never retracted. Once a re-verify's NO makes it contested, dismiss is offered again."""
    routed = _re_verified_and_answered(sms_app, twilio, "NO")
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == routed.code))
        assert "dismiss" in actions.offered(incident)
    act_by_api(sms_app, routed.code, "dismiss")
    drain(sms_app)
    assert incident_status(sms_app, routed.code) == "false_alarm"
    assert sent_to(standin, routed.lawyer.key)[-1].startswith("RETRACTION")


def test_a_re_verify_with_nobody_left_to_ask_says_so(sms_app, twilio, standin):
    routed = route_pilsen(sms_app, twilio)
    act_by_api(sms_app, routed.code, "reverify")  # the second of the two Chicago verifiers
    drain(sms_app)
    with pytest.raises(actions.ActionError) as refused:
        act_by_api(sms_app, routed.code, "reverify")
    assert refused.value.status == 409 and "no verifier left" in str(refused.value)


def test_a_re_verify_round_s_deadline_asks_the_next_and_no_other_round_does(
        sms_app, twilio, standin):
    """Found in review: a re-verify nobody answered stayed "asked" for ever. And the deadline
    of the round before routing must not ask anyone about a routed incident."""
    routed = route_pilsen(sms_app, twilio)
    run_due_timers(sms_app, "verification_timeout")  # the verifying round's old deadline
    assert len(_asked(sms_app, routed.code)) == 1  # nobody asked because of it
    act_by_api(sms_app, routed.code, "reverify")
    drain(sms_app)
    assert len(_asked(sms_app, routed.code)) == 2
    run_due_timers(sms_app, "verification_timeout")  # nobody answered the re-verify
    statuses = _verify_alerts(sms_app, routed.code)
    assert statuses[-1] == "expired"
    assert incident_status(sms_app, routed.code) == "routed"
    assert "no_verifier_available" in _events(sms_app, routed.code)  # the next: nobody left
