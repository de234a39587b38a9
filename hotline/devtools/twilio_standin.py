"""A local stand-in of Twilio's Messages API, for tests, demos and benchmarks without internet.

Hotline's real `twilio` client is pointed at it with TWILIO_API_BASE_URL. It records every request,
answers like Twilio (201 with a message resource, or Twilio's error shape), and can be told to
answer 429, 500, a Twilio error code, or to hang past the client's timeout. It can post signed
delivery-status callbacks, as Twilio does, to the StatusCallback each message named.
"""

from __future__ import annotations

import base64
import json
import queue
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import requests
from twilio.request_validator import RequestValidator
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

API = "/2010-04-01/Accounts/"


def _template_text(form: dict[str, str]) -> str:
    """What a Content template whose text is one variable `{{1}}` says: that variable."""
    try:
        return str(json.loads(form.get("ContentVariables") or "{}").get("1", ""))
    except (ValueError, AttributeError):
        return ""


class _QuietHandler(WSGIRequestHandler):
    """No access log: request lines carry phone numbers in query strings."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    form: dict[str, str]
    at: float
    answered: int


@dataclass
class TwilioStandIn:
    """Start with `start()`; its `url` goes in TWILIO_API_BASE_URL."""

    account_sid: str
    auth_token: str
    auto_deliver: bool = False
    hang_seconds: float = 15.0
    requests: list[Recorded] = field(default_factory=list)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted_recordings: list[str] = field(default_factory=list)
    deleted_messages: list[str] = field(default_factory=list)
    # SIDs answered with 20009 (not finished yet) on DELETE, as Twilio does for a message
    # still in progress
    undeletable: set[str] = field(default_factory=set)
    fail_lists: int = 0  # answer this many list requests with 503
    # recordings it serves (GET .../Recordings/RE....mp3|.wav), by SID: (content type, bytes)
    recordings: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    # inbound media it serves (GET .../Messages/MM.../Media/ME..., redirected to its storage
    # as Twilio does), by media SID: (content type, bytes); and the SIDs deleted
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    deleted_media: list[str] = field(default_factory=list)
    fail_media: int = 0  # answer this many media fetches with 503
    # WhatsApp: when each address ("whatsapp:+1...") last wrote in (time.time()); a free-form
    # message to one whose 24-hour window is closed fails with 63016, as at Twilio
    whatsapp_sessions: dict[str, float] = field(default_factory=dict)
    _plan: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _auto_queue: queue.Queue[tuple[float, str]] | None = None

    def start(self, port: int = 0, host: str = "127.0.0.1") -> TwilioStandIn:
        """Serve in a background thread."""
        self._server = make_server(host, port, self._wsgi, threaded=True,
                                   request_handler=_QuietHandler)
        self.port = self._server.port
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._thread.join(5)

    def plan(self, *answers: Any) -> None:
        """Answer the next create requests with these, in order: 429, 500, "timeout", or a
        Twilio error code such as 21610 (answered 400 with that code)."""
        with self._lock:
            self._plan.extend(answers)

    @property
    def sent(self) -> list[dict[str, Any]]:
        """Messages accepted (201), in order."""
        return [m for m in self.messages.values()]

    def creates(self) -> list[Recorded]:
        """Every create request, accepted or not."""
        return [r for r in self.requests if r.method == "POST" and r.path.endswith(
            "/Messages.json")]

    def deliver(self, sid: str, status: str = "delivered", error_code: int | None = None,
                http: requests.Session | None = None) -> int:
        """Post a signed status callback for `sid`, as Twilio would; returns the HTTP status."""
        message = self.messages[sid]
        url = message.get("_callback")
        if not url:
            raise ValueError(f"message {sid} named no StatusCallback")
        form = {"MessageSid": sid, "SmsSid": sid, "MessageStatus": status, "SmsStatus": status,
                "AccountSid": self.account_sid, "To": message["to"], "From": message["from"] or "",
                "ApiVersion": "2010-04-01"}
        if error_code is not None:
            form["ErrorCode"] = str(error_code)
        signature = RequestValidator(self.auth_token).compute_signature(url, form)
        message["status"] = status
        return (http or requests).post(url, data=form, timeout=10,
                                       headers={"X-Twilio-Signature": signature}).status_code

    def add_media(self, content_type: str, data: bytes, message_sid: str | None = None) -> str:
        """Serve one inbound media item; returns its MediaUrl as a webhook carries it."""
        message_sid = message_sid or "MM" + secrets.token_hex(16)
        media_sid = "ME" + secrets.token_hex(16)
        with self._lock:
            self.media[media_sid] = (content_type, data)
        return f"https://api.twilio.com{API}{self.account_sid}/Messages/{message_sid}/Media/" \
               f"{media_sid}"

    def whatsapp_inbound(self, number: str, at: float | None = None) -> None:
        """Record that `number` wrote in on WhatsApp (its 24-hour session window opens)."""
        with self._lock:
            self.whatsapp_sessions["whatsapp:" + number.removeprefix("whatsapp:")] = \
                time.time() if at is None else at

    def _media_request(self, request: Request, form: dict[str, str]) -> Response:
        parts = request.path.split("/")
        media_sid = parts[-1].removesuffix(".json")
        if request.method == "DELETE":
            with self._lock:
                known = self.media.pop(media_sid, None) is not None
                if known:
                    self.deleted_media.append(media_sid)
            return self._record(request, form, Response("", status=204) if known
                                else self._error(404, 20404, "Not found"))
        with self._lock:
            failing = self.fail_media > 0
            self.fail_media -= 1 if failing else 0
            known = media_sid in self.media
        if failing:
            return self._record(request, form, self._error(503, 20503, "planned failure"))
        if not known:
            return self._record(request, form, self._error(404, 20404, "Not found"))
        # Twilio answers with a redirect to where the file is stored
        response = Response("", status=307)
        response.headers["Location"] = f"{self.url}/storage/{media_sid}"
        return self._record(request, form, response)

    def _storage(self, request: Request, form: dict[str, str]) -> Response:
        with self._lock:
            found = self.media.get(request.path.rsplit("/", 1)[-1])
        if found is None:
            return self._record(request, form, self._error(404, 20404, "Not found"))
        response = Response(found[1], mimetype=found[0])
        return self._record(request, form, response)

    def _delete_message(self, sid: str) -> Response:
        """Twilio's DELETE of a Message record (which also deletes its media): 204; 404 for an
        unknown SID; 20009 while the message is not finished."""
        with self._lock:
            if sid in self.undeletable:
                return self._error(409, 20009, "Cannot delete this resource before it is "
                                               "complete")
            known = self.messages.pop(sid, None) is not None or sid.startswith(("SM", "MM"))
            if not known:
                return self._error(404, 20404, "Not found")
            self.deleted_messages.append(sid)
        return Response("", status=204)

    # -- WSGI ---------------------------------------------------------------------------------

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        response = self._handle(request)
        return response(environ, start_response)

    def _handle(self, request: Request) -> Response:
        form = {k: v[-1] for k, v in parse_qs(request.get_data(as_text=True)).items()}
        if request.method == "GET":
            form.update(request.args.to_dict())
        if request.method == "GET" and request.path.startswith("/storage/ME"):
            return self._storage(request, form)  # the storage's own signed URL: no auth
        if not self._authorised(request):
            return self._record(request, form, self._error(401, 20003, "Authenticate"))
        if request.method == "GET" and request.path.startswith(
                f"{API}{self.account_sid}/Recordings/"):
            name = request.path.rsplit("/", 1)[-1]
            sid, _, extension = name.partition(".")
            with self._lock:
                found = self.recordings.get(sid) if sid not in self.deleted_recordings else None
            if found is None or extension not in ("mp3", "wav"):
                return self._record(request, form, self._error(404, 20404, "Not found"))
            return self._record(request, form, Response(found[1], mimetype=found[0]))
        if request.method == "DELETE" and request.path.startswith(
                f"{API}{self.account_sid}/Recordings/"):
            sid = request.path.rsplit("/", 1)[-1].removesuffix(".json")
            with self._lock:
                self.deleted_recordings.append(sid)
            return self._record(request, form, Response("", status=204))
        if request.path.startswith(f"{API}{self.account_sid}/Messages/") and \
                "/Media/ME" in request.path and request.method in ("GET", "DELETE"):
            return self._media_request(request, form)
        if request.method == "DELETE" and request.path.startswith(
                f"{API}{self.account_sid}/Messages/"):
            return self._record(request, form, self._delete_message(
                request.path.rsplit("/", 1)[-1].removesuffix(".json")))
        if not request.path.startswith(f"{API}{self.account_sid}/Messages"):
            return self._record(request, form, self._error(404, 20404, "Not found"))
        if request.method == "GET" and request.path.endswith("/Messages.json"):
            with self._lock:
                failing = self.fail_lists > 0
                self.fail_lists -= 1 if failing else 0
            if failing:
                return self._record(request, form, self._error(503, 20503, "planned failure"))
            return self._record(request, form, self._list(request.args.get("To")))
        if request.method != "POST" or not request.path.endswith("/Messages.json"):
            return self._record(request, form, self._error(405, 20004, "Method not allowed"))
        with self._lock:
            planned = self._plan.pop(0) if self._plan else None
        if planned == "timeout":
            time.sleep(self.hang_seconds)
            return self._record(request, form, self._error(504, 20500, "gateway timeout"))
        if planned in (429, 500, 502, 503):
            code = 20429 if planned == 429 else 20500
            return self._record(request, form, self._error(planned, code, "planned failure"))
        if isinstance(planned, int):
            return self._record(request, form, self._error(400, planned, "planned error"))
        problem = self._validate(form)
        if problem:
            return self._record(request, form, self._error(400, problem[0], problem[1]))
        sid = "SM" + secrets.token_hex(16)
        now = datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
        outside = form["To"].startswith("whatsapp:") and not form.get("ContentSid") and \
            time.time() - self.whatsapp_sessions.get(form["To"], 0.0) > 24 * 3600
        resource = {
            "sid": sid, "account_sid": self.account_sid, "to": form["To"],
            "from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body") or _template_text(form),
            "status": "queued" if form.get("From") else "accepted",
            "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
            "date_created": now, "date_updated": now, "date_sent": None, "price": None,
            "error_code": None, "error_message": None,
            "uri": f"{API}{self.account_sid}/Messages/{sid}.json",
        }
        with self._lock:
            self.messages[sid] = {**resource, "_callback": form.get("StatusCallback"),
                                  "_content_sid": form.get("ContentSid"),
                                  "_content_variables": form.get("ContentVariables"),
                                  "_outside_window": outside}
        response = self._record(request, form, Response(json.dumps(resource), status=201,
                                                        mimetype="application/json"))
        if self.auto_deliver and form.get("StatusCallback"):
            self._deliveries().put((time.monotonic() + 0.05, sid))
        return response

    def _deliveries(self) -> queue.Queue[tuple[float, str]]:
        """The queue of automatic deliveries, worked by a few threads that keep their
        connections to Hotline open (as Twilio does): a thread per message, each with a new
        connection, would cost more CPU than what it measures."""
        with self._lock:
            if self._auto_queue is None:
                self._auto_queue = queue.Queue()
                for _ in range(4):
                    threading.Thread(target=self._auto, daemon=True).start()
            return self._auto_queue

    def _auto(self) -> None:
        http = requests.Session()
        assert self._auto_queue is not None
        while True:
            due, sid = self._auto_queue.get()
            time.sleep(max(0.0, due - time.monotonic()))
            outside = self.messages.get(sid, {}).get("_outside_window")
            for status in (("failed",) if outside else ("sent", "delivered")):
                try:
                    self.deliver(sid, status, 63016 if outside else None, http=http)
                except requests.RequestException:
                    break

    def _authorised(self, request: Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == self.account_sid and password == self.auth_token

    @staticmethod
    def _validate(form: dict[str, str]) -> tuple[int, str] | None:
        if not form.get("To"):
            return 21604, "A 'To' phone number is required."
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return 21603, "A 'From' or 'MessagingServiceSid' parameter is required"
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return 21602, "Message body is required."
        if form["To"].startswith("whatsapp:") and form.get("From") and \
                not form["From"].startswith("whatsapp:"):
            return 21910, "Invalid From and To pair. From and To should be of the same channel"
        if len(form.get("Body", "")) > 1600:
            return 21617, "The concatenated message body exceeds the 1600 character limit."
        return None

    def _list(self, to: str | None) -> Response:
        with self._lock:
            found = [{k: v for k, v in m.items() if not k.startswith("_")}
                     for m in self.messages.values() if to is None or m["to"] == to]
        page = {"messages": list(reversed(found)), "page": 0, "page_size": 50,
                "first_page_uri": "", "next_page_uri": None, "previous_page_uri": None,
                "uri": "", "start": 0, "end": len(found)}
        return Response(json.dumps(page), status=200, mimetype="application/json")

    @staticmethod
    def _error(status: int, code: int, message: str) -> Response:
        body = {"code": code, "message": message, "more_info":
                f"https://www.twilio.com/docs/errors/{code}", "status": status}
        return Response(json.dumps(body), status=status, mimetype="application/json")

    def _record(self, request: Request, form: dict[str, str], response: Response) -> Response:
        with self._lock:
            self.requests.append(Recorded(request.method, request.path, form, time.time(),
                                          response.status_code))
        return response
