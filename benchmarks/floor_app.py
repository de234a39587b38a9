"""Reference apps for `benchmarks/webhook.py`: the ceiling and the floor of `POST /twilio/sms`.

- `ceiling_app()`: bare Flask, answers a fixed TwiML string. Nothing can be faster than this with
  the same server (gunicorn, same workers/threads): it measures Flask + gunicorn + the client.
- `floor_app()`: only the work a durable SMS webhook cannot avoid: check the Twilio signature with
  twilio's RequestValidator, one committed INSERT (ON CONFLICT DO NOTHING on the SID) into a small
  table of its own in PostgreSQL, one RQ enqueue on Redis (a dummy job path nobody runs), then the
  same TwiML. One psycopg connection per server thread, no ORM.

Both are served by gunicorn as `benchmarks.floor_app:ceiling_app()` / `...:floor_app()`; the floor
reads FLOOR_DATABASE_URL (a libpq URL), FLOOR_REDIS_URL, TWILIO_AUTH_TOKEN and FLOOR_PUBLIC_URL
(the base URL the load generator signs) from the environment.
"""

from __future__ import annotations

import os
import threading

from flask import Flask, Response, abort, request

ACK_TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hotline: we got your '
             "report and a volunteer is on it. Stay safe. You do not have to open the door or "
             "answer questions. Reply STOP to stop.</Message></Response>")

FLOOR_TABLE = """
CREATE TABLE IF NOT EXISTS floor_messages (
    id bigserial PRIMARY KEY,
    twilio_sid varchar(64) NOT NULL UNIQUE,
    from_number varchar(32) NOT NULL,
    body text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
)
"""
FLOOR_QUEUE = "floor"


def noop(*_args: object, **_kwargs: object) -> None:
    """The dummy job the floor enqueues (nothing needs to run it)."""


def ceiling_app() -> Flask:
    """A bare Flask endpoint with a fixed TwiML answer."""
    app = Flask("ceiling")

    @app.post("/twilio/sms")
    def sms() -> Response:
        return Response(ACK_TWIML, mimetype="text/xml")

    return app


def floor_app() -> Flask:
    """Signature check + one committed INSERT + one RQ enqueue."""
    import psycopg
    from redis import Redis
    from rq import Queue
    from twilio.request_validator import RequestValidator

    dsn = os.environ["FLOOR_DATABASE_URL"]
    base = os.environ["FLOOR_PUBLIC_URL"].rstrip("/")
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    queue = Queue(FLOOR_QUEUE, connection=Redis.from_url(os.environ["FLOOR_REDIS_URL"]))
    local = threading.local()

    def connection() -> psycopg.Connection:
        conn = getattr(local, "conn", None)
        if conn is None or conn.closed:
            conn = local.conn = psycopg.connect(dsn)
        return conn

    app = Flask("floor")

    @app.post("/twilio/sms")
    def sms() -> Response:
        form = request.form
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature or not validator.validate(base + request.path, form, signature):
            abort(403)
        sid = form.get("MessageSid", "")
        conn = connection()
        with conn.cursor() as cur:
            cur.execute("INSERT INTO floor_messages (twilio_sid, from_number, body) "
                        "VALUES (%s, %s, %s) ON CONFLICT (twilio_sid) DO NOTHING",
                        (sid, form.get("From", ""), form.get("Body", "")))
        conn.commit()
        queue.enqueue("benchmarks.floor_app.noop", sid)
        return Response(ACK_TWIML, mimetype="text/xml")

    return app
