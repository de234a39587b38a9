"""Logging set-up, with a last line of defence that masks phone numbers."""

from __future__ import annotations

import logging
import re

PHONE = re.compile(r"(?<![0-9A-Za-z])(?:\+?1?[\s.-]?\(?\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}|"
                   r"\+\d{8,15})\b")


class RedactPhones(logging.Filter):
    """Masks anything that looks like a phone number in a record's final message.

    Code logs identifiers and HMAC references only; this catches mistakes and library messages.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = PHONE.sub("[phone]", message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: str = "INFO") -> None:
    """Configure the root logger once per process."""
    root = logging.getLogger()
    if any(isinstance(f, RedactPhones) for h in root.handlers for f in h.filters):
        root.setLevel(level)
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactPhones())
    root.addHandler(handler)
    root.setLevel(level)
    # werkzeug/gunicorn access logs carry URLs, never bodies; the twilio client logs request
    # bodies (with numbers) at DEBUG/INFO, so keep it quiet.
    logging.getLogger("twilio").setLevel(logging.WARNING)
    logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
