"""Twilio request signatures, checked with twilio's own RequestValidator as Twilio signs them."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, abort, current_app, request
from twilio.request_validator import RequestValidator

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def public_url() -> str:
    """The URL Twilio called: HOTLINE_PUBLIC_URL plus the path, or the request's own URL."""
    base = current_app.config["SETTINGS"].public_url
    if base:
        path = request.full_path if request.query_string else request.path
        return base + path
    return request.url


def twilio_signed(view: F) -> F:
    """403 (and nothing stored) unless X-Twilio-Signature matches the URL and the form."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        validator: RequestValidator = current_app.extensions["hotline_twilio_validator"]
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(public_url(), request.form, signature):
            logger.warning("rejected unsigned or forged webhook to %s", request.path)
            abort(403)
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
