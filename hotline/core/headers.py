"""HTTP security headers for every response; no caching of anything but static files."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, request


def _tile_origin(app: Flask) -> str:
    tile_url = app.config.get("HOTLINE_TILE_URL") or ""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    if not parts.scheme or not parts.netloc:
        return ""
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
    return f" {parts.scheme}://{host}"


def _blob(app: Flask) -> str:
    # the PMTiles adapter reads a tile's bytes with fetch() (connect-src 'self') and shows them
    # as an <img> of a blob: URL it makes from them; nothing else needs blob:, and no worker runs
    return " blob:" if app.config.get("HOTLINE_PMTILES_PATH") else ""


def init_app(app: Flask) -> None:
    """Install the headers; HSTS only where Hotline is served over HTTPS."""
    settings = app.config["SETTINGS"]
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; "
           f"img-src 'self' data:{_tile_origin(app)}{_blob(app)}; connect-src 'self'; "
           "font-src 'self'; "
           "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
    https = bool(settings.public_url and settings.public_url.startswith("https://"))
    hsts = ("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    always = [("Content-Security-Policy", csp), ("X-Content-Type-Options", "nosniff"),
              ("X-Frame-Options", "DENY"), ("Referrer-Policy", "no-referrer"),
              ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
              ("Cross-Origin-Opener-Policy", "same-origin"), hsts]
    # (name, lower-case name, value); HSTS last, and only over HTTPS
    secure = [(key, key.lower(), value) for key, value in always]
    plain = secure if https else secure[:-1]

    @app.after_request
    def _headers(response: Response) -> Response:
        # what a view set itself wins; one pass over the headers instead of a lookup for each
        headers = response.headers
        present = {key.lower() for key in headers.keys()}
        for key, lower, value in secure if request.is_secure else plain:
            if lower not in present:
                headers.add(key, value)
        if request.endpoint and not request.endpoint.endswith("static") and not (
                "cache-control" in present
                and headers["Cache-Control"].startswith("private")):
            # pages and API answers may carry PII: never stored by a browser or a proxy. A view
            # that serves no PII (the basemap) says so itself with `Cache-Control: private`.
            headers["Cache-Control"] = "no-store"
            if "pragma" not in present:
                headers.add("Pragma", "no-cache")
        return response
