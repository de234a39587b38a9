"""The real `twilio` REST client, optionally pointed at a local stand-in by TWILIO_API_BASE_URL."""

from __future__ import annotations

import os
import re
import threading
import time
import urllib.request
from typing import Any

import requests
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from hotline.core.settings import Settings

_TWILIO_HOST = re.compile(r"^https://[a-z0-9.-]*twilio\.com")


class ForgetfulHttpClient(TwilioHttpClient):
    """twilio's HTTP client, minus its memory: it keeps the last request and response (a number
    and a message body) for tests, and ours lives as long as the process.

    The environment's proxy and CA-bundle settings (HTTPS_PROXY, NO_PROXY, REQUESTS_CA_BUNDLE)
    are read once, when the client is made, instead of on every request as `requests` does
    when it trusts the environment (that lookup cost about 3 ms of CPU per message sent)."""

    def __init__(self, timeout: float = 10) -> None:
        super().__init__(timeout=timeout, proxy=urllib.request.getproxies() or None)
        if self.session is not None:
            self.session.trust_env = False
            bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
            if bundle:
                self.session.verify = bundle

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Send as twilio does, then forget what was sent and answered."""
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            self._test_only_last_request = None
            self._test_only_last_response = None


class RedirectingHttpClient(ForgetfulHttpClient):
    """Sends the client's requests to another base URL; everything else is twilio's own code."""

    def __init__(self, base_url: str, timeout: float = 10) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        """Rewrite https://api.twilio.com/... to the base URL, then send as twilio would."""
        return super().request(method, _TWILIO_HOST.sub(self.base_url, url), *args, **kwargs)


_clients = threading.local()


def make_client(settings: Settings, timeout: float = 10) -> Client:
    """A twilio Client for the configured account (and stand-in, if any).

    One per thread, process and configuration: its HTTP session keeps the connection (and the
    TLS session) to Twilio open between sends, so a page does not wait for a new handshake.
    """
    key = (os.getpid(), settings.twilio_account_sid, settings.twilio_auth_token,
           settings.twilio_api_base_url, timeout)
    cache: dict[tuple[Any, ...], Client] = _clients.__dict__.setdefault("by_key", {})
    client = cache.get(key)
    if client is None:
        if len(cache) >= 8:
            cache.clear()  # settings changed (tests build many apps): start over
        http_client = (RedirectingHttpClient(settings.twilio_api_base_url, timeout)
                       if settings.twilio_api_base_url else ForgetfulHttpClient(timeout=timeout))
        client = cache[key] = Client(settings.twilio_account_sid, settings.twilio_auth_token,
                                     http_client=http_client)
    return client


def can_send(settings: Settings) -> bool:
    """True when outbound SMS has somewhere real to go (Twilio or a stand-in of it)."""
    has_sender = bool(settings.twilio_messaging_service_sid or settings.twilio_from_numbers)
    return has_sender and (bool(settings.twilio_api_base_url) or not settings.embedded)


RECORDING_SID = re.compile(r"^RE[0-9a-fA-F]{32}$")


class RecordingUnavailable(RuntimeError):
    """Twilio (or the stand-in) did not give the recording: deleted, unknown, or unreachable."""


def fetch_recording(settings: Settings, recording_sid: str) -> tuple[str, bytes]:
    """(content type, audio) of a call recording, fetched with the account's credentials.

    The URL is built from the SID and the configured API base, never from a stored URL, so a
    forged RecordingUrl cannot make Hotline fetch anything else."""
    if not RECORDING_SID.match(recording_sid):
        raise RecordingUnavailable("not a recording SID")
    url = _account_url(settings, f"Recordings/{recording_sid}.mp3")
    try:
        response = requests.get(url, auth=(settings.twilio_account_sid,
                                           settings.twilio_auth_token),
                                timeout=settings.twilio_timeout)
    except requests.RequestException as exc:
        raise RecordingUnavailable(type(exc).__name__) from None
    if response.status_code != 200:
        raise RecordingUnavailable(f"HTTP {response.status_code}")
    return response.headers.get("Content-Type", "audio/mpeg").split(";")[0], response.content


MEDIA_URL = re.compile(r"/Accounts/(AC[0-9a-fA-F]{32})/Messages/((?:SM|MM)[0-9a-fA-F]{32})"
                       r"/Media/(ME[0-9a-fA-F]{32})(?:\.[a-z0-9]+)?/?$")


class MediaUnavailable(RuntimeError):
    """Twilio did not give the media: `final` when asking again cannot help (gone, refused,
    too large), else a passing failure (timeout, 5xx)."""

    def __init__(self, reason: str, final: bool = False) -> None:
        super().__init__(reason)
        self.final = final


def media_sids(settings: Settings, url: str) -> tuple[str, str] | None:
    """(message SID, media SID) of an inbound `MediaUrlN` of this account, or None."""
    found = MEDIA_URL.search(url.split("?", 1)[0]) if url else None
    if found is None or found.group(1) != settings.twilio_account_sid:
        return None
    return found.group(2), found.group(3)


def _account_url(settings: Settings, path: str) -> str:
    """A resource of the account at Twilio (or the stand-in), built from what Hotline knows."""
    base = (settings.twilio_api_base_url or "https://api.twilio.com").rstrip("/")
    return f"{base}/2010-04-01/Accounts/{settings.twilio_account_sid}/{path}"


def _media_url(settings: Settings, message_sid: str, media_sid: str) -> str:
    return _account_url(settings, f"Messages/{message_sid}/Media/{media_sid}")


def fetch_media(settings: Settings, message_sid: str, media_sid: str,
                max_bytes: int, deadline: float = 90.0) -> tuple[str, bytes]:
    """(content type, bytes) of an inbound message's media item, with the account's
    credentials (Twilio answers with a redirect to its storage, which `requests` follows
    without the credentials). Read at most `max_bytes`: anything larger is refused unread;
    a download still going after `deadline` seconds is given up (a passing failure).

    The URL is built from the SIDs and the configured API base, never from the webhook's URL,
    so a forged MediaUrl cannot make Hotline fetch anything else."""
    try:
        response = requests.get(_media_url(settings, message_sid, media_sid),
                                auth=(settings.twilio_account_sid, settings.twilio_auth_token),
                                timeout=settings.twilio_timeout, stream=True)
    except requests.RequestException as exc:
        raise MediaUnavailable(type(exc).__name__) from None
    with response:
        if response.status_code in (401, 403, 404, 410):
            raise MediaUnavailable(f"HTTP {response.status_code}", final=True)
        if response.status_code != 200:
            raise MediaUnavailable(f"HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise MediaUnavailable(f"too large: {int(declared)} bytes", final=True)
        chunks, size = [], 0
        ends = time.monotonic() + deadline
        try:
            for chunk in response.iter_content(64 * 1024):
                if time.monotonic() > ends:
                    raise MediaUnavailable(f"still downloading after {deadline:.0f} s")
                size += len(chunk)
                if size > max_bytes:
                    raise MediaUnavailable(f"too large: over {max_bytes} bytes", final=True)
                chunks.append(chunk)
        except requests.RequestException as exc:
            raise MediaUnavailable(type(exc).__name__) from None
        content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type, b"".join(chunks)


def delete_media(settings: Settings, message_sid: str, media_sid: str) -> bool:
    """Delete a media item at Twilio (DELETE on the Media resource: 204; 404 when it is gone
    already). False when Twilio could not be asked: try again later."""
    try:
        response = requests.delete(_media_url(settings, message_sid, media_sid) + ".json",
                                   auth=(settings.twilio_account_sid,
                                         settings.twilio_auth_token),
                                   timeout=settings.twilio_timeout)
    except requests.RequestException:
        return False
    return response.status_code in (204, 404)
