"""Security headers, cookies, and no caching of pages that may carry PII."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/openapi.json"])
def test_security_headers_everywhere(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "default-src 'self'" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_when_served_over_https(client):
    # the test apps' public URL is https://hotline.test
    (hsts,) = client.get("/healthz").headers.getlist("Strict-Transport-Security")
    assert "max-age=" in hsts
    (hsts,) = client.get("/healthz", base_url="https://hotline.test").headers.getlist(
        "Strict-Transport-Security")  # once, however the request came


def test_no_hsts_without_an_https_public_url(make_app):
    app = make_app(HOTLINE_PUBLIC_URL=None, HOTLINE_TRUSTED_PROXIES="1")
    assert "Strict-Transport-Security" not in app.test_client().get("/healthz").headers
    # behind a proxy that terminates TLS (the request itself is secure), it is sent once
    secure = app.test_client().get("/healthz", base_url="https://localhost")
    assert len(secure.headers.getlist("Strict-Transport-Security")) == 1


def test_session_cookie_is_secure_httponly_samesite(app):
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] in ("Lax", "Strict")
    assert app.config["SESSION_COOKIE_NAME"].startswith("__Host-")


def test_tile_host_is_allowed_for_images_only(make_app):
    app = make_app(HOTLINE_TILE_URL="https://{s}.tile.example.org/{z}/{x}/{y}.png")
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tile.example.org" in csp
    assert "script-src 'self';" in csp
