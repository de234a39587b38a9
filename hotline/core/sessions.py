"""Flask's signed-cookie sessions for the people who sign in, and none for Twilio.

Twilio's webhooks carry no cookie and must never be given one; opening a session for them
costs a signing serializer per request on the hottest path there is.
"""

from __future__ import annotations

from flask import Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

SESSIONLESS_PREFIXES = ("/twilio/",)


class CookieSessions(SecureCookieSessionInterface):
    """Signed-cookie sessions, except a null session (nothing read, signed or set) on the
    paths only Twilio calls."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The request's session; a null one for Twilio's webhooks."""
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return self.make_null_session(app)  # type: ignore[return-value]
        return super().open_session(app, request)
