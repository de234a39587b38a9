"""What a request may carry: text that PostgreSQL can store and UTF-8 can encode.

A NUL byte or a lone surrogate in a query string or a form field is refused with a 400 that
names the field, before any view runs (PostgreSQL refuses NUL in text, and an unencodable
string cannot be encrypted). Twilio's webhooks are exempt: what a reporter sends is stored
intact, encrypted, whatever it holds.
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, jsonify, request

MAX_FIELD = 100  # characters of a field name shown back in the error


def bad_text(value: str) -> bool:
    """True when `value` holds a NUL or cannot be encoded as UTF-8 (a lone surrogate)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def first_bad(items: Iterable[tuple[str, str]]) -> str | None:
    """The name of the first field whose name or value is not storable text."""
    for name, value in items:
        if bad_text(name) or bad_text(value):
            return name
    return None


def _bad_in_json(value: object, where: str = "body") -> str | None:
    if isinstance(value, str):
        return where if bad_text(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _bad_in_json(key, where) or _bad_in_json(item, f"{where}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_in_json(item, f"{where}[{i}]")
            if found:
                return found
    return None


def init_app(app: Flask) -> None:
    """Refuse NUL bytes and lone surrogates in every query string and form (not webhooks)."""

    @app.before_request
    def _storable_text() -> Response | None:
        if request.blueprint == "webhooks":
            return None
        bad = first_bad(request.args.items(multi=True))
        if bad is None and request.mimetype in ("application/x-www-form-urlencoded",
                                                "multipart/form-data"):
            bad = first_bad(request.form.items(multi=True))
        if bad is None and request.is_json:
            bad = _bad_in_json(request.get_json(silent=True))
        if bad is None and bad_text(request.path):
            bad = "path"
        if bad is None:
            return None
        shown = bad.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\\0")
        message = f"{shown[:MAX_FIELD]!r} holds a NUL byte or an invalid character"
        if request.blueprint == "api":  # the API's documented error shape
            response = jsonify(error=message)
            response.status_code = 400
            return response
        return Response(f"bad request: {message}\n", status=400, mimetype="text/plain")
