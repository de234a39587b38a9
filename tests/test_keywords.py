"""Carrier-style keywords: the whole message is the keyword, or it is not one."""

from __future__ import annotations

import pytest

from hotline.intake.keywords import keyword_language, keyword_of


@pytest.mark.parametrize(("body", "keyword"), [
    ("STOP", "stop"), ("Stop!", "stop"), ("  stop  ", "stop"), ("STOP 🛑", "stop"),
    ("No más", "stop"), ("START", "start"), ("HELP", "help"), ("Ayuda", "help"),
    ("YES", "consent"), ("Sí.", "consent"), ("ok", "consent"),
])
def test_a_message_that_is_only_a_keyword(body, keyword):
    assert keyword_of(body) == keyword


@pytest.mark.parametrize("body", [
    # a verifier's or a lawyer's answer about incident 2345: a command, never a keyword
    "YES 2345", "yes 5684", "SI 2345", "STOP 2345", "HELP 7777", "ok 1234",
    "stop the raid at 26th", "yes they are still there", "", None,
])
def test_anything_more_is_not_a_keyword(body):
    assert keyword_of(body) is None


def test_keyword_language():
    assert keyword_language("AYUDA") == "es"
    assert keyword_language("Sí") == "es"
    assert keyword_language("SI 2345") is None
    assert keyword_language("HELP") is None


def test_a_verifier_confirms_an_incident_whose_code_is_all_digits(sms_app, twilio, standin,
                                                                    monkeypatch):
    from hotline.incidents import lifecycle
    from tests.conftest import drain
    from tests.routing.helpers import incident_status, phone, report_pilsen

    monkeypatch.setattr(lifecycle, "new_code", lambda length=4: "2345")
    client = sms_app.test_client()
    code = report_pilsen(client, twilio, sms_app)
    assert code == "2345"
    twilio.post_sms(client, f"YES {code}", from_number=phone("chicago-verifier-4"))
    drain(sms_app)
    assert incident_status(sms_app, code) == "routed"
