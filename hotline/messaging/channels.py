"""Which channel an outbound message goes on, and the Messages create request for it.

SMS goes from a number of the sender pool, or through the Messaging Service. WhatsApp follows
WhatsApp's rules as Twilio states them: a free-form message only within 24 hours of the
person's last message to us (the customer service window); outside it only an approved
template, sent with `ContentSid` and `ContentVariables` (error 63016 otherwise,
https://www.twilio.com/docs/api/errors/63016); addresses written `whatsapp:+E.164` on both
sides (https://www.twilio.com/docs/whatsapp/api). Outside the window and with no template
(`TWILIO_WHATSAPP_TEMPLATE_SID`), a reporter's message is not sent at all (they chose
WhatsApp; an SMS to their number might be read by someone else), a responder's page goes by
SMS: a page must arrive.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.core.settings import Settings
from hotline.models import Message, utcnow

WINDOW = timedelta(hours=24)
# a message queued a minute before the window closes may reach Twilio after it: keep a margin
WINDOW_MARGIN = timedelta(minutes=5)
PREFIX = "whatsapp:"


@dataclass(frozen=True)
class Route:
    """How one message goes: `channel` sms or whatsapp, from one of `senders`; a WhatsApp
    message outside the window as the template."""

    channel: str
    senders: tuple[str, ...]
    template: bool = False
    fallback: bool = False  # WhatsApp was preferred, SMS it is

    def address(self, to: str) -> str:
        """The recipient as Twilio writes it on this channel."""
        return PREFIX + to if self.channel == "whatsapp" else to


def sms_senders(settings: Settings) -> tuple[str, ...]:
    """The SMS sender pool (or the Messaging Service as one sender)."""
    if settings.twilio_from_numbers:
        return tuple(settings.twilio_from_numbers)
    return (settings.twilio_messaging_service_sid or "default",)


def window_open(session: Session, phone_hmac: str, now: datetime | None = None) -> bool:
    """Whether the person wrote to us on WhatsApp in the last 24 hours (less a margin)."""
    last = session.scalar(select(func.max(Message.received_at)).where(
        Message.counterpart_hmac == phone_hmac, Message.direction == "inbound",
        Message.channel == "whatsapp"))
    return last is not None and last > (now or utcnow()) - WINDOW + WINDOW_MARGIN


def route_of(session: Session, settings: Settings, message: Message) -> Route | str:
    """The route of a queued message, or why it must not be sent (a reason, as text)."""
    sms = Route("sms", sms_senders(settings))
    if message.channel != "whatsapp":
        return sms
    line = (message.flags or {}).get("line")
    sender = settings.twilio_whatsapp_from or settings.twilio_messaging_service_sid or line
    for_responder = message.responder_id is not None
    if not sender:
        return sms if for_responder else "no WhatsApp sender configured"
    whatsapp = (sender,)
    if window_open(session, message.counterpart_hmac):
        return Route("whatsapp", whatsapp)
    if settings.twilio_whatsapp_template_sid:
        return Route("whatsapp", whatsapp, template=True)
    if for_responder:
        return Route("sms", sms.senders, fallback=True)
    return "outside the WhatsApp 24-hour window, and no approved template is configured"


def create_params(settings: Settings, route: Route, to: str, body: str,
                  sender: str) -> dict[str, Any]:
    """The Messages create request: from the sender's number, or through the Messaging
    Service; with the status callback when Hotline has a public URL."""
    params: dict[str, Any] = {"to": route.address(to)}
    if route.template:
        params["content_sid"] = settings.twilio_whatsapp_template_sid
        params["content_variables"] = json.dumps({"1": body}, ensure_ascii=False)
    else:
        params["body"] = body
    if sender.startswith("MG"):
        params["messaging_service_sid"] = sender
    elif route.channel == "whatsapp":
        params["from_"] = PREFIX + sender.removeprefix(PREFIX)
    elif settings.twilio_from_numbers:
        params["from_"] = sender
    else:
        params["messaging_service_sid"] = settings.twilio_messaging_service_sid
    if settings.public_url:
        params["status_callback"] = f"{settings.public_url}/twilio/status"
    return params
