"""Twilio webhooks: SMS, voice and delivery status."""

from hotline.webhooks import voice as _voice  # noqa: F401 - registers the voice routes
from hotline.webhooks.views import bp

__all__ = ["bp"]
