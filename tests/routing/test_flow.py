"""From reports to a verifier's YES to a lawyer's ACCEPT, through the Twilio stand-in."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from flask import Flask
from sqlalchemy import func, select

from hotline.core.extensions import db
from hotline.models import Alert, Incident, IncidentEvent, Jurisdiction, Reporter, Responder
from tests.conftest import SignedTwilio, drain, run_due_timers, sending_settings
from tests.routing.helpers import (
    PILSEN,
    Routed,
    act_by_api,
    incident_status,
    only_incident,
    phone,
    report_pilsen,
    route_pilsen,
    sent_to,
)

VERIFIER = "chicago-verifier-4"


@pytest.fixture
def routed(sms_app: Flask, twilio: SignedTwilio) -> Routed:
    """One Pilsen report on `sms_app`, verified and routed: the first lawyer has been paged."""
    return route_pilsen(sms_app, twilio)


@pytest.fixture
def live_app(make_app: Any, standin: Any, live: Any) -> tuple[Flask, SignedTwilio]:
    """An app served over HTTP, so the stand-in's status callbacks reach it, and its signer."""
    app = make_app(**sending_settings(standin, HOTLINE_PUBLIC_URL=live.url))
    live.serve(app)
    return app, SignedTwilio(public_url=live.url)


def test_three_reports_one_incident_verified_then_lawyer_paged(sms_app, twilio, standin):
    client = sms_app.test_client()
    report_pilsen(client, twilio, sms_app)
    incident = only_incident(sms_app)
    assert incident.status == "verifying"
    with sms_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Reporter)) == 3
        score = db.session.get(Incident, incident.id).score_reasons
        assert {r["factor"] for r in score} >= {"corroboration", "specificity", "recency"}
    verify_sms = sent_to(standin, VERIFIER)
    # the nearest verifier prefers Spanish, and the reports are partly in Spanish
    assert len(verify_sms) == 1 and verify_sms[0].startswith(f"VERIFICAR {incident.code}")
    assert "arresto" in verify_sms[0] and "18th & ashland" in verify_sms[0]

    twilio.post_sms(client, f"YES {incident.code}", from_number=phone(VERIFIER))
    drain(sms_app)
    assert incident_status(sms_app, incident.code) == "routed"
    assert "confirmado" in sent_to(standin, VERIFIER)[-1]
    pages = [m for m in standin.sent if m["body"].startswith(f"HOTLINE {incident.code}")]
    assert len(pages) == 1  # the on-call lawyer only, at the first step
    with sms_app.app_context():
        from hotline.models import Report

        reporters = db.session.scalars(select(Reporter).join(Report)).all()
        assert len(reporters) == 3 and all(r.confirmed_count == 1 for r in reporters)


def test_accept_claims_tells_others_and_the_reporter(sms_app, twilio, standin):
    client, code, _ = route_pilsen(sms_app, twilio, consent="YES")  # consent to be told
    # no one answers the first step: its timer pages the next lawyer
    run_due_timers(sms_app, "escalation_timer")
    with sms_app.app_context():
        paged = db.session.scalars(select(Responder).join(Alert).where(
            Alert.kind == "page")).all()
    assert len(paged) == 2
    first, second = paged
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(second.key))
    drain(sms_app)
    assert incident_status(sms_app, code) == "acknowledged"
    assert any("is yours" in b for b in sent_to(standin, second.key))
    assert any("has been taken by" in b for b in sent_to(standin, first.key))
    reporter_msgs = [m["body"] for m in standin.sent if m["to"] == PILSEN[0][0]]
    assert any("has your report" in b for b in reporter_msgs)
    # a late accept from the first lawyer changes nothing and says who has it
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(first.key))
    drain(sms_app)
    assert f"{code} has been taken by {second.name}" in sent_to(standin, first.key)[-1]
    with sms_app.app_context():
        assert db.session.get(Incident, only_incident(sms_app).id).acknowledged_by_id == \
            second.id


def test_decline_moves_on_at_once_and_bare_2_works(sms_app, twilio, routed):
    twilio.post_sms(routed.client, "2", from_number=phone(routed.lawyer.key))
    drain(sms_app)
    with sms_app.app_context():
        steps = db.session.scalars(select(Alert.step).where(Alert.kind == "page")
                                   .order_by(Alert.id)).all()
        statuses = db.session.scalars(select(Alert.status).where(Alert.kind == "page")
                                      .order_by(Alert.id)).all()
    assert steps == [0, 1] and statuses[0] == "declined"


@pytest.mark.parametrize(("body", "expected"), [
    ("ACCEPT ZZZZ", "No incident ZZZZ"),
])
def test_unknown_code_gets_a_clear_answer(sms_app, twilio, standin, body, expected):
    client = sms_app.test_client()
    twilio.post_sms(client, body, from_number=phone("chicago-lawyer-1"))
    drain(sms_app)
    assert expected in sent_to(standin, "chicago-lawyer-1")[-1]


def test_accept_from_someone_not_alerted_or_after_resolution(sms_app, twilio, standin, routed):
    client, code, first = routed
    outsider = "denver-lawyer-1"
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(outsider))
    drain(sms_app)
    assert "You were not asked" in sent_to(standin, outsider)[-1]
    assert incident_status(sms_app, code) == "routed"
    act_by_api(sms_app, code, "resolve")
    drain(sms_app)
    assert any(b.startswith(f"ALL CLEAR {code}") for b in sent_to(standin, first.key))
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(first.key))
    drain(sms_app)
    assert f"{code} is already resolved" in sent_to(standin, first.key)[-1]
    assert incident_status(sms_app, code) == "resolved"


def test_stale_timer_is_ignored(sms_app, routed):
    from hotline.routing import escalation

    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == routed.code))
        escalation.on_timer(db.session, incident.id, 0, 0)  # step 0 over: step 1 pages
        db.session.commit()
        escalation.on_timer(db.session, incident.id, 0, 0)  # the same timer again: nothing
        db.session.commit()
        steps = db.session.scalars(select(Alert.step).where(Alert.kind == "page")).all()
    assert sorted(steps) == [0, 1]


def test_policy_is_snapshotted_when_routed(sms_app, routed, tmp_path):
    import shutil

    from hotline.config_loader import load_config

    config = tmp_path / "config"
    shutil.copytree(sms_app.config["SETTINGS"].config_dir, config)
    data = yaml.safe_load((config / "networks.yaml").read_text())
    chicago = next(n for n in data["networks"] if n["slug"] == "chicago-legal")
    chicago["escalation"]["steps"] = [{"target": "dispatchers", "wait_minutes": 1}]
    (config / "networks.yaml").write_text(yaml.safe_dump(data))
    with sms_app.app_context():
        load_config(db.session, sms_app.extensions["hotline_vault"], config)
        db.session.commit()
        incident = db.session.scalar(select(Incident).where(Incident.code == routed.code))
        assert [s["target"] for s in incident.policy_snapshot["steps"]] == [
            "on_call", "next_in_rotation", "network", "dispatchers"]


def test_undelivered_page_moves_on_at_once(live_app, standin):
    app, twilio = live_app
    code = route_pilsen(app, twilio).code
    page = next(m for m in standin.sent if _is_page(m, code))
    assert standin.deliver(page["sid"], "undelivered", 30003) == 204
    drain(app)
    with app.app_context():
        alerts = db.session.scalars(select(Alert).where(Alert.kind == "page")
                                    .order_by(Alert.id)).all()
    assert [(a.step, a.status) for a in alerts] == [(0, "failed"), (1, "sent")]
    assert alerts[0].error_code == 30003


def test_error_21610_marks_the_responder_unreachable(live_app, standin):
    app, twilio = live_app
    code = report_pilsen(app.test_client(), twilio, app, 1)
    with app.app_context():
        asked = db.session.scalar(select(func.count(Alert.id)).where(
            Alert.kind == "verify", Alert.status.in_(("sent", "delivered"))))
    assert asked >= 1
    # the verifiers asked are told first that they need not go; then the page is refused
    standin.plan(*[None] * asked, 21610)
    act_by_api(app, code, "verify")
    drain(app)
    with app.app_context():
        unreachable = db.session.scalars(select(Responder.key).where(
            Responder.unreachable.is_(True))).all()
        alerts = db.session.scalars(select(Alert).where(Alert.kind == "page")
                                    .order_by(Alert.id)).all()
    assert len(unreachable) == 1
    assert alerts[0].status == "failed" and alerts[0].error_code == 21610
    assert alerts[1].step == 1  # moved on at once


def test_a_responder_who_texts_start_is_paged_again(live_app, standin):
    """21610 (or the responder's own STOP) stops their pages; their START clears it."""
    app, twilio = live_app
    code = report_pilsen(app.test_client(), twilio, app, 1)
    standin.plan(21610)
    act_by_api(app, code, "verify")
    drain(app)
    with app.app_context():
        key = db.session.scalar(select(Responder.key).where(Responder.unreachable.is_(True)))
    assert key is not None
    twilio.post_sms(app.test_client(), "START", from_number=phone(key))
    with app.app_context():
        assert db.session.scalar(select(Responder.unreachable).where(
            Responder.key == key)) is False
    twilio.post_sms(app.test_client(), "STOP", from_number=phone(key))
    with app.app_context():
        assert db.session.scalar(select(Responder.unreachable).where(
            Responder.key == key)) is True


def test_relay_between_lawyer_and_reporter(sms_app, twilio, standin):
    reporter = PILSEN[0][0]
    client, code, lawyer = route_pilsen(sms_app, twilio, consent="si")
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    twilio.post_sms(client, f"MSG {code} Estamos en camino. No abra la puerta.",
                    from_number=phone(lawyer.key))
    drain(sms_app)
    to_reporter = [m["body"] for m in standin.sent if m["to"] == reporter]
    assert to_reporter[-1].endswith("Estamos en camino. No abra la puerta.")
    assert phone(lawyer.key) not in to_reporter[-1]
    twilio.post_sms(client, "gracias, estamos adentro", from_number=reporter)
    drain(sms_app)
    assert sent_to(standin, lawyer.key)[-1] == f"Reporter of {code}: gracias, estamos adentro"
    assert reporter not in sent_to(standin, lawyer.key)[-1]
    with sms_app.app_context():
        kinds = db.session.scalars(select(IncidentEvent.kind)).all()
        assert "relay_to_reporter" in kinds and "relay_to_lawyer" in kinds
        assert only_incident(sms_app).id  # the reply did not open another incident


def test_a_new_report_in_a_relay_is_triaged_not_forwarded(sms_app, twilio, standin):
    """A consenting reporter in an open relay who texts a new raid somewhere else: a new
    report and incident there, and the lawyer is told, not sent the text."""
    reporter = PILSEN[0][0]
    client, code, lawyer = route_pilsen(sms_app, twilio, consent="si")
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    twilio.post_sms(client, f"MSG {code} Estamos en camino.", from_number=phone(lawyer.key))
    drain(sms_app)
    twilio.post_sms(client, "NEW RAID at Union Station Los Angeles, 5 agents",
                    from_number=reporter)
    drain(sms_app)
    with sms_app.app_context():
        incidents = db.session.scalars(select(Incident).order_by(Incident.id)).all()
        assert len(incidents) == 2
        jurisdiction = db.session.scalar(select(Jurisdiction.slug).where(
            Jurisdiction.id == incidents[1].jurisdiction_id))
        assert jurisdiction == "los-angeles"
    told = sent_to(standin, lawyer.key)[-1]
    assert "new report" in told and "Union Station" not in told
    # a reply about the same corner is still the conversation
    twilio.post_sms(client, "siguen en la 18 y Ashland", from_number=reporter)
    drain(sms_app)
    assert sent_to(standin, lawyer.key)[-1].endswith("siguen en la 18 y Ashland")


def test_a_reporter_who_did_not_consent_is_never_relayed(sms_app, twilio, standin):
    """Another reporter of the incident, who never agreed to be contacted, writes while the
    relay is open: their text is triaged (a report), never forwarded to the lawyer."""
    client, code, lawyer = route_pilsen(sms_app, twilio, consent="si")
    twilio.post_sms(client, "ICE still at 18th and Ashland", from_number=PILSEN[1][0])
    drain(sms_app)
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    twilio.post_sms(client, f"MSG {code} ya vamos", from_number=phone(lawyer.key))
    drain(sms_app)
    before = len(sent_to(standin, lawyer.key))
    twilio.post_sms(client, "they took my cousin", from_number=PILSEN[1][0])
    drain(sms_app)
    assert len(sent_to(standin, lawyer.key)) == before
    with sms_app.app_context():
        from hotline.models import Report

        assert db.session.scalar(select(func.count(Report.id))) == 3


def test_no_consent_no_relay(sms_app, twilio, standin, routed):
    client, code, lawyer = routed
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    twilio.post_sms(client, f"MSG {code} hola", from_number=phone(lawyer.key))
    drain(sms_app)
    assert "has not agreed" in sent_to(standin, lawyer.key)[-1]
    assert not [m for m in standin.sent if m["to"] == PILSEN[0][0] and "hola" in m["body"]]


def test_one_no_is_contested_and_asks_another_verifier(sms_app, twilio, standin):
    """A single NO is not a false alarm (the verifier may have gone to the wrong corner)."""
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app, 1)
    twilio.post_sms(client, f"no {code}!", from_number=phone(VERIFIER))
    drain(sms_app)
    assert incident_status(sms_app, code) == "verifying"
    assert "otro verificador" in sent_to(standin, VERIFIER)[-1]
    assert len(sent_to(standin, "chicago-verifier-5")) == 1  # asked next
    with sms_app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == code))
        assert incident.flags.get("contested") is True
        assert not [m for m in standin.sent if m["body"].startswith(("RETRACTION",
                                                                      "RECTIFICACIÓN"))]


def test_dismiss_sends_a_retraction_to_those_told(sms_app, twilio, standin):
    """The policy's number of NOs (two by default) make a false alarm."""
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app, 1)
    twilio.post_sms(client, f"NO {code}", from_number=phone(VERIFIER))
    drain(sms_app)
    twilio.post_sms(client, f"NO {code}", from_number=phone("chicago-verifier-5"))
    drain(sms_app)
    assert incident_status(sms_app, code) == "false_alarm"
    # the verifier writes Spanish first, so the retraction is in Spanish
    assert any(b.startswith(f"RECTIFICACIÓN {code}") for b in sent_to(standin, VERIFIER))
    with sms_app.app_context():
        assert db.session.scalar(select(Reporter.false_alarm_count)) == 1


def test_unanswered_verification_goes_to_the_next_verifier_then_expires(sms_app, twilio,
                                                                        standin):
    code = report_pilsen(sms_app.test_client(), twilio, sms_app, 1)
    run_due_timers(sms_app, "verification_timeout")
    assert len(sent_to(standin, "chicago-verifier-5")) == 1
    run_due_timers(sms_app, "expire_incident")
    assert incident_status(sms_app, code) == "unconfirmed"


def test_a_responder_text_that_is_no_command_gets_the_commands_not_a_report(
        sms_app, twilio, standin):
    """A verifier's "eta 8372 ten minutes" became a public report the same verifier was then
    asked to verify; a responder's text is a command, or it is answered with the commands."""
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app, 1)
    response = twilio.post_sms(client, "on my way, 5 minutes out", from_number=phone(VERIFIER))
    assert "ACCEPT" in response.text and "REPORT" in response.text  # the list of commands
    twilio.post_sms(client, f"eta {code} ten minutes", from_number=phone(VERIFIER))
    drain(sms_app)
    assert "10 min" in sent_to(standin, VERIFIER)[-1]
    with sms_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Incident)) == 1
        from hotline.models import Message, Report

        assert db.session.scalar(select(func.count()).select_from(Report)) == 1
        kept = db.session.scalars(select(Message).where(Message.direction == "inbound")).all()
        assert len(kept) == 3  # stored, all of them
    # REPORT makes a responder's own report
    twilio.post_sms(client, "REPORT ICE vans at Cermak and Blue Island",
                    from_number=phone(VERIFIER))
    drain(sms_app)
    with sms_app.app_context():
        from hotline.models import Report

        assert db.session.scalar(select(func.count()).select_from(Report)) == 2


def test_eta_extends_the_deadline(sms_app, twilio, standin):
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app, 1)
    twilio.post_sms(client, f"ETA {code} 10", from_number=phone(VERIFIER))
    drain(sms_app)
    assert "10 min" in sent_to(standin, VERIFIER)[-1]
    with sms_app.app_context():
        from hotline.models import OutboxJob

        deadlines = db.session.scalars(select(OutboxJob).where(
            OutboxJob.job == "verification_timeout").order_by(OutboxJob.id)).all()
        # a new deadline 10 + 5 minutes out supersedes the first round's
        assert [d.args[1] for d in deadlines] == [0, 1]
        assert deadlines[1].run_at > deadlines[0].run_at
        from hotline.incidents import verification

        incident_id = db.session.scalar(select(Incident.id).where(Incident.code == code))
        verification.on_timeout(db.session, incident_id, 0)  # the superseded deadline fires
        db.session.commit()
    drain(sms_app)
    assert incident_status(sms_app, code) == "verifying"
    assert sent_to(standin, "chicago-verifier-5") == []  # and does nothing


def test_a_photo_sent_in_a_relay_joins_the_reporters_report(sms_app, twilio, standin):
    from tests.media.conftest import jpeg, mms, post

    reporter = PILSEN[0][0]
    client, code, lawyer = route_pilsen(sms_app, twilio, consent="si")
    twilio.post_sms(client, f"ACCEPT {code}", from_number=phone(lawyer.key))
    twilio.post_sms(client, f"MSG {code} Estamos en camino.", from_number=phone(lawyer.key))
    drain(sms_app)
    post(client, twilio, mms(twilio, standin, "mira, se lo llevaron", [("image/jpeg", jpeg())],
                             from_number=reporter))
    drain(sms_app)
    assert sent_to(standin, lawyer.key)[-1] == f"Reporter of {code}: mira, se lo llevaron"
    with sms_app.app_context():
        from hotline.models import MediaItem, Message, Report

        item = db.session.scalar(select(MediaItem))
        message = db.session.get(Message, item.message_id)
        report = db.session.get(Report, message.report_id)  # on a page, not lost
        assert report.incident_id == only_incident(sms_app).id
        assert [m["media_id"] for m in report.media] == [item.id]


def _is_page(message: dict, code: str) -> bool:
    """A lawyer's page (not the verifiers' "no need to go", which also starts HOTLINE code)."""
    return message["body"].startswith(f"HOTLINE {code}") and "ACCEPT" in message["body"]
