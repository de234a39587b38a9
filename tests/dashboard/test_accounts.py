"""Accounts: argon2id, lockout and throttling, CSRF, timeouts, killed sessions, TOTP, resets."""

from __future__ import annotations

import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import func, select

from hotline.accounts import users
from hotline.core.extensions import db
from hotline.models import AuditLog, User, utcnow
from tests.dashboard.conftest import PASSWORD, csrf_of, get_user, login, make_user, post_form


def test_passwords_are_argon2id(app, dispatcher):
    assert get_user(app, "dispatcher@example.org").password_hash.startswith("$argon2id$")


def test_login_and_logout(client, dispatcher):
    response = login(client, "dispatcher@example.org")
    assert response.status_code == 302 and response.location == "/"
    assert client.get("/").status_code == 200
    post_form(client, "/logout")
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_audited(app, client, dispatcher):
    response = login(client, "dispatcher@example.org", "wrong password!!")
    assert response.status_code == 401
    assert "Wrong email or password" in response.text
    with app.app_context():
        assert db.session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) \
            == "login.failed"


def test_lockout_after_repeated_failures(app, client, dispatcher):
    for _ in range(users.LOCK_AFTER):
        login(client, "dispatcher@example.org", "wrong password!!")
    assert get_user(app, "dispatcher@example.org").locked_until is not None
    assert login(client, "dispatcher@example.org").status_code == 401  # right password, locked


def test_an_address_that_fails_too_often_must_wait(app, client):
    for i in range(users.IP_MAX_FAILURES):
        login(client, f"nobody{i}@example.org", "wrong password!!")
    response = login(client, "nobody@example.org", "wrong password!!")
    assert response.status_code == 429
    other = app.test_client()
    page = other.get("/login")
    assert other.post("/login", environ_base={"REMOTE_ADDR": "10.9.9.9"}, data={
        "email": "x@example.org", "password": "y" * 12,
        "csrf_token": csrf_of(page.text)}).status_code == 401  # another address is not held up


@pytest.mark.parametrize("token", [None, "forged"])
def test_forms_without_the_csrf_token_are_refused(client, dispatcher, token):
    data = {"email": "dispatcher@example.org", "password": PASSWORD}
    if token:
        data["csrf_token"] = token
    client.get("/login")
    assert client.post("/login", data=data).status_code == 400


def test_open_redirect_after_login_is_refused(client, dispatcher):
    page = client.get("/login")
    response = client.post("/login?next=//evil.example/x", data={
        "email": "dispatcher@example.org", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.location == "/"


@pytest.mark.parametrize("target", ["/%09/evil.example", "/%0A/evil.example", "/%0D%0A/x",
                                    "/\\evil.example", "/%5Cevil.example", "/ /evil.example",
                                    "https://evil.example"])
def test_next_with_control_characters_or_backslashes_is_refused(client, dispatcher, target):
    """Browsers drop tabs and newlines from a URL: `/\t/evil.example` is `//evil.example`."""
    page = client.get("/login")
    response = client.post(f"/login?next={target}", data={
        "email": "dispatcher@example.org", "password": PASSWORD, "csrf_token": csrf_of(page.text)})
    assert response.status_code == 302 and response.location == "/"


def test_logout_ends_the_session_on_the_server(client, dispatcher):
    """A copy of the session cookie taken before logout no longer works after it."""
    login(client, "dispatcher@example.org")
    assert client.get("/").status_code == 200
    name = client.application.config["SESSION_COOKIE_NAME"]
    captured = client.get_cookie(name).value
    post_form(client, "/logout")
    client.set_cookie(name, captured)  # the attacker's copy
    assert client.get("/").status_code == 302


def test_head_never_logs_in_or_changes_anything(app, client, dispatcher):
    """HEAD (and OPTIONS) skip no CSRF check because they change nothing: a HEAD with a right
    password neither logs in nor counts as a failed login."""
    data = {"email": "dispatcher@example.org", "password": PASSWORD}
    for method in ("HEAD", "OPTIONS"):
        response = client.open("/login", method=method, data=data)
        assert response.status_code in (200, 204)
        assert client.get("/").status_code == 302  # still not logged in
    with app.app_context():
        assert db.session.scalar(select(func.count(AuditLog.id)).where(
            AuditLog.action.like("login%"))) == 0


def test_disabling_a_user_ends_their_live_session(app, logged_in):
    assert logged_in.get("/").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "dispatcher@example.org"))
        users.set_active(user, False)
        db.session.commit()
    response = logged_in.get("/")
    assert response.status_code == 302 and response.location.startswith("/login")
    assert logged_in.get("/live/board").status_code == 401


def test_idle_timeout(make_app):
    app = make_app(HOTLINE_SESSION_IDLE_MINUTES="1")
    make_user(app, "dispatcher@example.org", "dispatcher")
    client = app.test_client()
    login(client, "dispatcher@example.org")
    with client.session_transaction() as session:
        session["seen"] = int(time.time()) - 61
    response = client.get("/")
    assert response.status_code == 302
    assert "inactivity" in client.get("/login").text


def test_live_polling_does_not_keep_an_idle_session_alive(logged_in):
    with logged_in.session_transaction() as session:
        session["seen"] = seen = int(time.time()) - 100
    assert logged_in.get("/live/board").status_code == 200
    with logged_in.session_transaction() as session:
        assert session["seen"] == seen


def test_absolute_timeout_even_when_busy(logged_in):
    with logged_in.session_transaction() as session:
        session["iat"] = int(time.time()) - 13 * 3600
    assert logged_in.get("/").status_code == 302
    assert "maximum length" in logged_in.get("/login").text


def _enrol(client, app):
    page = client.get("/account/totp")
    secret = page.text.split('data-testid="totp-secret">', 1)[1].split("<", 1)[0]
    assert "otpauth://totp/" in page.text and "<svg" in page.text
    response = client.post("/account/totp", data={"csrf_token": csrf_of(page.text),
                                                   "code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    return secret


def test_required_totp_forces_enrolment_then_asks_for_codes(make_app):
    app = make_app(HOTLINE_REQUIRE_TOTP="true")
    make_user(app, "dispatcher@example.org", "dispatcher")
    client = app.test_client()
    assert login(client, "dispatcher@example.org").location == "/"
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/account/totp"
    secret = _enrol(client, app)
    assert client.get("/").status_code == 200
    assert get_user(app, "dispatcher@example.org").totp_secret_enc.startswith("v1.")

    post_form(client, "/logout")
    response = login(client, "dispatcher@example.org")
    assert response.location == "/login/code"
    assert client.get("/").status_code == 302  # the password alone is not a session
    page = client.get("/login/code")
    totp = pyotp.TOTP(secret)
    code = totp.at(time.time() + 30)  # the next step: the enrolment code was this one's
    ok = client.post("/login/code", data={"csrf_token": csrf_of(page.text), "code": code})
    assert ok.status_code == 302 and ok.location == "/"
    assert client.get("/").status_code == 200

    post_form(client, "/logout")
    login(client, "dispatcher@example.org")
    page = client.get("/login/code")
    replay = client.post("/login/code", data={"csrf_token": csrf_of(page.text), "code": code})
    assert replay.status_code == 401  # a code is good once


def test_viewers_do_not_need_a_second_factor(make_app):
    app = make_app(HOTLINE_REQUIRE_TOTP="1")
    make_user(app, "viewer@example.org", "viewer")
    client = app.test_client()
    login(client, "viewer@example.org")
    assert client.get("/").status_code == 200


def test_wrong_codes_count_towards_the_lockout(app, client, dispatcher):
    with app.app_context():
        user = db.session.get(User, dispatcher)
        user.totp_secret_enc = app.extensions["hotline_vault"].encrypt(pyotp.random_base32(),
                                                                       users.TOTP_CONTEXT)
        db.session.commit()
    for _ in range(users.LOCK_AFTER):
        login(client, "dispatcher@example.org")
        page = client.get("/login/code")
        client.post("/login/code", data={"csrf_token": csrf_of(page.text), "code": "123456"})
    assert users.is_locked(get_user(app, "dispatcher@example.org"))


def test_check_totp_accepts_one_step_of_drift_only(app):
    vault = app.extensions["hotline_vault"]
    secret = pyotp.random_base32()
    user = User(email="a@b.c", role="dispatcher", password_hash="x", failed_logins=0,
                session_version=0)
    now = utcnow()
    assert users.enrol_totp(user, vault, secret, pyotp.TOTP(secret).at(now - timedelta(
        seconds=30)), now)
    assert not users.check_totp(user, vault, pyotp.TOTP(secret).at(now - timedelta(minutes=2)),
                                now)
    assert users.check_totp(user, vault, pyotp.TOTP(secret).at(now + timedelta(seconds=30)),
                            now)


def test_admin_reset_password_forces_a_change(app, as_admin, dispatcher):
    page = as_admin.get("/admin/users")
    response = as_admin.post(f"/admin/users/{dispatcher}/reset-password",
                             data={"csrf_token": csrf_of(page.text)})
    temporary = response.text.split('data-testid="temporary-password">', 1)[1].split("<", 1)[0]
    other = app.test_client()
    assert login(other, "dispatcher@example.org").status_code == 401  # old password gone
    assert login(other, "dispatcher@example.org", temporary).status_code == 302
    assert other.get("/").location == "/account/password"
    page = other.get("/account/password")
    changed = other.post("/account/password", data={
        "csrf_token": csrf_of(page.text), "current": temporary, "new": "a brand new passphrase",
        "confirm": "a brand new passphrase"})
    assert changed.location == "/"
    assert other.get("/").status_code == 200
    assert not get_user(app, "dispatcher@example.org").must_change_password


def test_users_create_cli_and_short_passwords(app):
    with app.app_context():
        with pytest.raises(users.UserError, match="at least 12"):
            users.create_user(db.session, "a@example.org", "viewer", "short")
        with pytest.raises(users.UserError, match="unknown slug"):
            users.create_user(db.session, "a@example.org", "viewer", PASSWORD, ["atlantis"])
        users.create_user(db.session, "A@Example.org", "viewer", PASSWORD, ["chicago"])
        assert db.session.scalar(select(func.count(User.id)).where(
            User.email == "a@example.org")) == 1
