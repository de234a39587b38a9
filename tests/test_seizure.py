"""A seized database dump or Redis dump holds no phone number and no message in clear.

The whole flow runs first (webhooks, a real worker, verifier, lawyer, relay) so that every table
and queue that could hold PII has been written. See docs/seizure.md.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest
import redis

from tests.conftest import PG_ADMIN
from tests.e2e.test_pipeline import run_burst_worker
from tests.media.conftest import CAMERA_MARK, PILSEN, jpeg, mms, post
from tests.routing.helpers import phone

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.e2e]

REPORTS = [
    ("+17735550140", "Seizuretest: ICE arresting people at 18th and Ashland in Pilsen"),
    ("+17735550141", "Seizuretest: migra en la 18 y Ashland, Pilsen, llevándose a mi tío"),
    ("+13125550142", "Seizuretest: agents at 18th St & Ashland Ave Chicago right now"),
]
RELAY = "Seizuretest: quédense adentro, vamos en camino"


def server_logs() -> list[Path]:
    """PostgreSQL's own log files, where this machine keeps them (Debian's pg_ctlcluster)."""
    pattern = os.environ.get("HOTLINE_TEST_PG_LOGS", "/var/log/postgresql/*.log")
    return [Path(p) for p in glob.glob(pattern) if os.access(p, os.R_OK)]


def variants(number: str) -> list[str]:
    digits = number[2:]
    return [number, digits, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
            f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", digits[3:]]


def redis_text(connection: redis.Redis) -> str:
    chunks = []
    for key in connection.scan_iter(count=1000):
        chunks.append(key.decode(errors="replace"))
        kind = connection.type(key).decode()
        values: list[bytes] = []
        if kind == "string":
            values = [connection.get(key) or b""]
        elif kind == "hash":
            values = [v for pair in connection.hgetall(key).items() for v in pair]
        elif kind == "list":
            values = connection.lrange(key, 0, -1)
        elif kind == "set":
            values = list(connection.smembers(key))
        elif kind == "zset":
            values = connection.zrange(key, 0, -1)
        for value in values:
            try:
                value = zlib.decompress(value)  # RQ compresses job data
            except zlib.error:
                pass
            chunks.append(value.decode("utf-8", errors="replace"))
    return "\n".join(chunks)


@pytest.mark.skipif(shutil.which("pg_dump") is None, reason="pg_dump is not installed")
def test_dumps_hold_no_number_and_no_body(pg_url, redis_url, standin, twilio, make_pg_app):
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_SENDER_RATE": "50"}
    app = make_pg_app(REDIS_URL=redis_url, **extra)
    client = app.test_client()
    logs = {path: path.stat().st_size for path in server_logs()}
    twilio.post_sms(client, "si", from_number=REPORTS[0][0])
    for number, body in REPORTS:
        twilio.post_sms(client, body, from_number=number)
    # a photo on WhatsApp, its EXIF holding a camera serial and the GPS of where it was taken
    photo = mms(twilio, standin, "", [("image/jpeg", jpeg(PILSEN))], from_number=REPORTS[1][0])
    photo["From"], photo["To"] = "whatsapp:" + REPORTS[1][0], "whatsapp:+14155238886"
    assert post(client, twilio, photo).status_code == 200
    assert run_burst_worker(pg_url, redis_url, extra).returncode == 0
    assert len(standin.deleted_media) == 1  # fetched, kept, deleted at Twilio
    code = re.search(r"VERIFICA?R? (\w{4})", " ".join(m["body"] for m in standin.sent)
                     ).group(1)
    twilio.post_sms(client, f"YES {code}", from_number=phone("chicago-verifier-4"))
    assert run_burst_worker(pg_url, redis_url, extra).returncode == 0
    lawyer = next(m["to"] for m in standin.sent if m["body"].startswith("HOTLINE"))
    twilio.post_sms(client, f"ACCEPT {code}", from_number=lawyer)
    twilio.post_sms(client, f"MSG {code} {RELAY}", from_number=lawyer)
    assert run_burst_worker(pg_url, redis_url, extra).returncode == 0
    assert any(RELAY in m["body"] for m in standin.sent)  # the flow really ran

    database = pg_url.rsplit("/", 1)[1]
    host = PG_ADMIN.split("@", 1)[1].split("/", 1)[0]
    dump = subprocess.run(["pg_dump", "-h", host.split(":")[0], "-p",
                           host.split(":")[1] if ":" in host else "5432", "-U", "postgres",
                           "--data-only", database], capture_output=True, text=True,
                          check=True, timeout=120).stdout
    assert "COPY public.messages" in dump and len(dump) > 10_000
    connection = redis.Redis.from_url(redis_url)
    try:
        stored = redis_text(connection)
    finally:
        connection.close()
    assert "outbox-" in stored  # RQ's jobs are there to be read

    numbers = [n for n, _ in REPORTS] + [lawyer, phone("chicago-verifier-4")]
    for number in numbers:
        for form in variants(number):
            assert form not in dump, f"{form} in the database dump"
            assert form not in stored, f"{form} in Redis"
    for _, body in REPORTS:
        for fragment in (body, body.split(": ", 1)[1][:25]):
            assert fragment not in dump and fragment not in stored
    assert "Seizuretest" not in dump and "Seizuretest" not in stored
    assert RELAY not in dump
    assert "COPY public.media_items" in dump
    for form in (CAMERA_MARK, CAMERA_MARK.encode().hex()):  # bytea is dumped as hex
        assert form not in dump and form not in stored

    # PostgreSQL's own log of this run (errors with their statements, connections)
    written = ""
    for path, size in logs.items():
        with path.open("rb") as handle:
            handle.seek(size)
            written += handle.read().decode("utf-8", "replace")
    for number in numbers:
        for form in variants(number):
            assert form not in written, f"{form} in PostgreSQL's log"
    assert "Seizuretest" not in written
