"""Twilio webhooks: SMS, voice and delivery status."""

from hotline.webhooks.views import bp

__all__ = ["bp"]
