"""Twilio's webhooks get no session: nothing is read from a cookie, signed or set."""

from __future__ import annotations

from flask import request

from hotline.core.sessions import CookieSessions


def test_a_webhook_answer_sets_no_cookie(client, twilio):
    answer = twilio.post_sms(client, "ICE at 18th and Ashland in Pilsen")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers


def test_a_webhook_sees_a_null_session_even_with_a_cookie(app):
    assert isinstance(app.session_interface, CookieSessions)
    with app.test_request_context("/twilio/sms", method="POST",
                                  headers={"Cookie": "hotline=forged"}):
        opened = app.session_interface.open_session(app, request)
        assert app.session_interface.is_null_session(opened)
    with app.test_request_context("/login"):
        opened = app.session_interface.open_session(app, request)
        assert not app.session_interface.is_null_session(opened)


def test_the_dashboard_still_has_sessions(client):
    page = client.get("/login")
    assert page.status_code == 200
    with client.session_transaction() as stored:
        assert "csrf" in stored
