"""What a request may carry: text that PostgreSQL can store and UTF-8 can encode.

A NUL byte or a lone surrogate in a query string or a form field is refused with a 400 that
names the field, before any view runs (PostgreSQL refuses NUL in text, and an unencodable
string cannot be encrypted). So is a value beyond its maximum: `MAX_QUERY_VALUE` characters in
a query string, `MAX_VALUE` in a form field or a JSON string (a note is the longest thing a
person types here), `MAX_PATH` in the path. Twilio's webhooks are exempt: what a reporter sends
is stored intact, encrypted, whatever it holds (up to the 1 MB request limit).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Flask, Response, jsonify, request
from werkzeug.routing import IntegerConverter

MAX_FIELD = 100  # characters of a field name shown back in the error
MAX_QUERY_VALUE = 1_000  # characters of one query-string value (filters, codes, `next`)
MAX_VALUE = 10_000  # characters of one form field or JSON string (notes)
MAX_PATH = 2_000  # characters of a path
MAX_ROW_ID = 2**31 - 1  # the largest id an integer column holds


class RowId(IntegerConverter):
    """`<int:...>` in every route: 1 to MAX_ROW_ID, else the route does not match (404) —
    never an id the database cannot compare (an overflow was a 500)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


def bad_text(value: str) -> bool:
    """True when `value` holds a NUL or cannot be encoded as UTF-8 (a lone surrogate)."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class _TooLong(str):
    """A field name whose value is beyond its maximum (the error says so)."""

    limit = 0


def _too_long(name: str, limit: int) -> _TooLong:
    found = _TooLong(name)
    found.limit = limit
    return found


def first_bad(items: Iterable[tuple[str, str]], limit: int = MAX_VALUE) -> str | None:
    """The name of the first field whose name or value is not storable text, or too long."""
    for name, value in items:
        if bad_text(name) or bad_text(value):
            return name
        if len(name) > MAX_FIELD:
            return _too_long(name, MAX_FIELD)
        if len(value) > limit:
            return _too_long(name, limit)
    return None


def _bad_in_json(value: object, where: str = "body") -> str | None:
    if isinstance(value, str):
        if bad_text(value):
            return where
        return _too_long(where, MAX_VALUE) if len(value) > MAX_VALUE else None
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
        bad = first_bad(request.args.items(multi=True), MAX_QUERY_VALUE)
        if bad is None and request.mimetype in ("application/x-www-form-urlencoded",
                                                "multipart/form-data"):
            bad = first_bad(request.form.items(multi=True))
        if bad is None and request.is_json:
            bad = _bad_in_json(request.get_json(silent=True))
        if bad is None and bad_text(request.path):
            bad = "path"
        if bad is None and len(request.path) > MAX_PATH:
            bad = _too_long("path", MAX_PATH)
        if bad is None:
            return None
        shown = bad.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\\0")
        if isinstance(bad, _TooLong):
            message = f"{shown[:MAX_FIELD]!r} is longer than {bad.limit} characters"
        else:
            message = f"{shown[:MAX_FIELD]!r} holds a NUL byte or an invalid character"
        if request.blueprint == "api":  # the API's documented error shape
            response = jsonify(error=message)
            response.status_code = 400
            return response
        return Response(f"bad request: {message}\n", status=400, mimetype="text/plain")
