"""Broadcast benchmark: a community alert to 10,000 confirmed subscribers at
HOTLINE_BROADCAST_RATE=100 through two `hotline worker` processes and the Twilio stand-in.

    .venv/bin/python benchmarks/broadcast.py                 # about 5 minutes; two runs
    .venv/bin/python benchmarks/broadcast.py --messages 2000 --no-kill-run
    .venv/bin/python benchmarks/broadcast.py --no-callbacks    # the sending alone on the cores

Each run gets a database of its own (migrated, the demo config loaded), 10,000 confirmed Chicago
subscribers (every third in Spanish), a verified incident, and its alert approved; the clock
starts at the approval's commit. Outbound SMS go through the real twilio client to a
TwilioStandIn in this process, over a Messaging Service whose sender rate does not throttle
(HOTLINE_SENDER_RATE=200: a short code's 100 MPS and more), which posts the delivery status
callbacks (sent, delivered) to gunicorn, as Twilio does. Twenty lawyer pages are queued while
the broadcast is going, one every two seconds; each must leave within two sender slots.

Measured, from the stand-in's arrival times: the total time (first to last arrival; target
within 5 % of messages / rate), the busiest second (the most arrivals in any one-second window,
sliding, and in any calendar second; never above the rate), duplicates (a number that got two)
and missed (a recipient that got none), the pages' latency, and the CPU per message of the
workers, gunicorn, PostgreSQL and Redis. The second run SIGKILLs one of the two workers (and its
whole process group) when 40 % have been sent; the other carries on once the killed pump's lease
lapses: 0 duplicates and 0 missed again, and how long the handover took.

Ends with one `RESULT name=value ...` line per run. Everything it creates is removed at the end.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    ROOT,
    add_run_args,
    check_lines,
    command_line,
    create_database,
    drop_database,
    empty_redis_db,
    free_port,
    hotline_env,
    machine_line,
    percentile,
    pg_scalar,
    publish,
    twilio_credentials,
)
from benchmarks._processes import (  # noqa: E402
    Server,
    Worker,
    add_server_args,
    cpu_groups,
    cpu_ticks_total,
    descendants,
    start_server,
    stop_server,
    wait_for_workers,
)

RESULTS = ROOT / "benchmarks" / "results" / "broadcast.txt"
RESULTS_NO_CALLBACKS = RESULTS.with_name("broadcast_no_callbacks.txt")  # --no-callbacks
SERVICE = "MG" + "b" * 32
PAGE_EVERY = 2.0


def numbers(n: int) -> list[str]:
    return [f"+1312{5560000 + i:07d}" for i in range(n)]


def prepare(env: dict[str, str], n: int) -> tuple[object, int]:
    """Subscribers, a verified incident and its draft; returns (app, broadcast id)."""
    from sqlalchemy import select

    from hotline import create_app
    from hotline.broadcasts import drafts
    from hotline.core.extensions import db
    from hotline.messaging.templates import load_templates
    from hotline.models import Incident, Jurisdiction, Subscriber, SubscriberArea

    app = create_app({**env, "DOTENV_PATH": None, "JOBS_AUTOSTART": False})
    vault = app.extensions["hotline_vault"]
    with app.app_context():
        session = db.session
        chicago = session.scalar(select(Jurisdiction).where(Jurisdiction.slug == "chicago"))
        incident = Incident(code="BNCH", status="verified", jurisdiction_id=chicago.id,
                            lat=41.8089, lon=-87.6845, location_text="Western & 47th",
                            salute={"activity": ["raid"], "size": {"agents": 6}})
        session.add(incident)
        rows = [{"phone_hmac": vault.phone_hmac(number), "status": "confirmed",
                 "phone_enc": vault.encrypt(number, "subscriber.phone"),
                 "language": "es" if i % 3 == 0 else "en"}
                for i, number in enumerate(numbers(n))]
        session.execute(Subscriber.__table__.insert(), rows)
        ids = session.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
        session.execute(SubscriberArea.__table__.insert(), [
            {"subscriber_id": sid, "jurisdiction_id": chicago.id, "kind": "jurisdiction",
             "key": "chicago", "label": chicago.name} for sid in ids])
        session.flush()
        templates = load_templates(app.config["SETTINGS"].config_dir)
        broadcast = drafts.create(session, incident, templates, actor="benchmark")
        session.commit()
        return app, broadcast.id


def approve(app, broadcast_id: int) -> float:  # noqa: ANN001
    """Approve (sending starts at the commit); returns the commit time."""
    from hotline.broadcasts import drafts
    from hotline.core.extensions import db
    from hotline.messaging.templates import load_templates
    from hotline.models import Broadcast

    with app.app_context():
        templates = load_templates(app.config["SETTINGS"].config_dir)
        broadcast = db.session.get(Broadcast, broadcast_id)
        drafts.approve(db.session, broadcast, templates, "user:1", "benchmark")
        db.session.commit()
        return time.time()


def page(app, k: int) -> float:  # noqa: ANN001
    """Queue one lawyer page (the high lane); returns when it was committed."""
    from sqlalchemy import select

    from hotline.core.extensions import db
    from hotline.messaging import outbound
    from hotline.models import Alert, Incident, Responder

    with app.app_context():
        incident = db.session.scalar(select(Incident).where(Incident.code == "PAGE"))
        if incident is None:
            incident = Incident(code="PAGE", status="routed")
            db.session.add(incident)
            db.session.flush()
        lawyer = db.session.scalar(select(Responder).where(Responder.role == "lawyer"))
        alert = Alert(incident_id=incident.id, responder_id=lawyer.id, kind="page", step=k,
                      round=0, status="queued")
        db.session.add(alert)
        db.session.flush()
        outbound.queue_sms(db.session, app.extensions["hotline_vault"],
                           f"+1773555{4000 + k:04d}", f"HOTLINE PAGE {k}", "page",
                           alert_id=alert.id)
        db.session.commit()
        return time.time()


def busiest(stamps: list[float]) -> tuple[int, int]:
    """(most arrivals in any one-second window, most in any calendar second)."""
    stamps = sorted(stamps)
    sliding, j = 0, 0
    for i, t in enumerate(stamps):
        while stamps[j] <= t - 1.0:
            j += 1
        sliding = max(sliding, i - j + 1)
    calendar = max(Counter(int(t) for t in stamps).values(), default=0)
    return sliding, calendar


def one_run(args: argparse.Namespace, kill: bool, auth_token: str, account_sid: str,
            rclient, redis_url: str) -> tuple[list[str], str, list[tuple[str, bool]]]:  # noqa: ANN001
    from hotline.devtools.twilio_standin import TwilioStandIn

    n, rate = args.messages, args.rate
    dbname = f"bench_broadcast_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-broadcast-bench-"))
    standin = TwilioStandIn(account_sid, auth_token, auto_deliver=args.callbacks).start()
    port = free_port()
    env = hotline_env(dbname, redis_url, workdir, port, auth_token, account_sid,
                      TWILIO_API_BASE_URL=standin.url, TWILIO_MESSAGING_SERVICE_SID=SERVICE,
                      HOTLINE_SENDER_RATE="200", HOTLINE_BROADCAST_RATE=str(rate),
                      HOTLINE_LOG_LEVEL="WARNING")
    server = Server("broadcast", "hotline status callbacks", "hotline:create_app()", env, port)
    workers: list[Worker] = []
    proc = None
    app = None
    try:
        create_database(dbname, env, workdir)
        app, broadcast_id = prepare(env, n)
        proc = start_server(args, server, workdir)
        workers = [Worker.start(env, workdir, f"worker{i}") for i in range(args.rq_workers)]
        wait_for_workers(rclient, args.rq_workers, workers)
        roots = {"gunicorn": [proc.pid], "rq workers": [w.process.pid for w in workers]}
        cpu0, harness0, busy0 = cpu_groups(roots), time.process_time(), cpu_ticks_total()
        label = ("one worker SIGKILLed at 40 %" if kill else "no fault") + \
            ("" if args.callbacks else ", no status callbacks")
        print(f"{label}: {n} recipients at {rate:g}/s, {args.rq_workers} workers ...", flush=True)
        started = approve(app, broadcast_id)
        pages: list[float] = []
        killed_at = None
        next_page = started + PAGE_EVERY
        deadline = started + n / rate * 3 + 120
        while time.time() < deadline:
            sent = sum(1 for m in list(standin.messages.values())
                       if not m["body"].startswith("HOTLINE PAGE"))
            if kill and killed_at is None and sent >= 0.4 * n:
                victim = workers[0]
                for pid in [victim.process.pid, *descendants(victim.process.pid)]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                victim.process.wait(10)
                killed_at = time.time()
                print(f"  SIGKILLed worker0 after {sent} sent", flush=True)
            if time.time() >= next_page and len(pages) < args.pages:
                pages.append(page(app, len(pages)))
                next_page += PAGE_EVERY
            if sent >= n:
                break
            time.sleep(0.2)
        time.sleep(1.0)  # the last status callbacks
        cpu1, harness, busy1 = cpu_groups(roots), time.process_time() - harness0, \
            cpu_ticks_total()
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        creates = standin.creates()
        mine = [r for r in creates if not r.form.get("Body", "").startswith("HOTLINE PAGE")]
        page_creates = {r.form["Body"]: r.at for r in creates
                        if r.form.get("Body", "").startswith("HOTLINE PAGE")}
        to = Counter(r.form["To"] for r in mine if r.answered == 201)
        expected = set(numbers(n))
        duplicated = sum(c - 1 for c in to.values() if c > 1)
        missed = len(expected - set(to))
        stamps = sorted(r.at for r in mine if r.answered == 201)
        total = stamps[-1] - stamps[0] if len(stamps) > 1 else float("nan")
        since_approval = stamps[-1] - started if stamps else float("nan")
        sliding, calendar = busiest(stamps)
        gaps = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
        stalls = [g for g in gaps if g > 0.05]
        latencies = [page_creates[f"HOTLINE PAGE {k}"] - at for k, at in enumerate(pages)
                     if f"HOTLINE PAGE {k}" in page_creates]
        cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
        per_message = {k: 1e3 * v / n for k, v in cpu.items()}
        status = pg_scalar(dbname, f"SELECT status FROM broadcasts WHERE id = {broadcast_id}")
        delivered = pg_scalar(dbname, "SELECT count(*) FROM messages WHERE status = "
                                      "'delivered' AND flags->>'purpose' = 'broadcast_alert'")
        ideal = (n - 1) / rate
        slot = 1.25 / 200  # one sender slot of the Messaging Service at HOTLINE_SENDER_RATE
        lines = [
            f"{label}:",
            f"  {'recipients':<34}{n:>10}",
            f"  {'first to last arrival (s)':<34}{total:>10.1f}   ideal (n-1)/rate "
            f"{ideal:.1f}: {100 * (total / ideal - 1):+.1f} %",
            f"  {'approval to last arrival (s)':<34}{since_approval:>10.1f}",
            f"  {'busiest 1 s window / calendar s':<34}{sliding:>6} / {calendar:<4}  "
            f"(rate {rate:g})",
            f"  {'duplicated / missed':<34}{duplicated:>6} / {missed:<4}",
            f"  {'pauses over 50 ms between sends':<34}{len(stalls):>10}   "
            f"{sum(stalls):.1f} s in all, longest {max(stalls, default=0):.2f} s; median gap "
            f"{1e3 * percentile(gaps, 50):.1f} ms",
            f"  {'delivered (status callbacks)':<34}{delivered:>10}   broadcast: {status}",
            f"  {'pages queued during it':<34}{len(pages):>10}   left: {len(latencies)}, "
            f"p50 {1e3 * percentile(latencies, 50):.0f} ms, max "
            f"{1e3 * max(latencies, default=float('nan')):.0f} ms",
            f"  CPU ms per message: workers {per_message['rq workers']:.2f}, gunicorn "
            f"{per_message['gunicorn']:.2f}, postgres {per_message['postgres']:.2f}, redis "
            f"{per_message['redis']:.2f}; sum {sum(per_message.values()):.2f} (and the "
            f"stand-in, in this process: {1e3 * harness / n:.2f}); both cores "
            f"{100 * busy:.0f} % busy",
        ]
        if killed_at is not None:
            after = [s for s in stamps if s > killed_at]
            gap = (after[0] - killed_at) if after else float("nan")
            lines.append(f"  {'handover after the kill (s)':<34}{gap:>10.1f}   (the pump's "
                         "lease lapses, the sweeper runs the tick again)")
        key = "kill" if kill else "run"
        checks = [
            (f"[{key}] 0 duplicated ({duplicated}) and 0 missed ({missed})",
             duplicated == 0 and missed == 0),
            (f"[{key}] never above the rate: busiest calendar second {calendar} <= {rate:g} "
             f"(any one-second window: {sliding})", calendar <= rate),
            (f"[{key}] pages left within two sender slots plus a second "
             f"(max {max(latencies, default=0):.2f} s)",
             len(latencies) == len(pages) and max(latencies, default=0) <= 2 * slot + 1.0),
        ]
        if not kill:
            checks.append((f"[{key}] total time within 5 % of (n-1)/rate ({total:.1f} s vs "
                           f"{ideal:.1f} s)", total <= ideal * 1.05))
        result = (f"RESULT run={key} callbacks={int(args.callbacks)} messages={n} "
                  f"rate={rate:g} total_s={total:.1f} ideal_s={ideal:.1f} "
                  f"busiest_second={calendar} busiest_window={sliding} duplicated={duplicated} "
                  f"missed={missed} page_max_ms={1e3 * max(latencies, default=0):.0f} "
                  f"worker_cpu_ms={per_message['rq workers']:.2f} "
                  f"total_cpu_ms={sum(per_message.values()):.2f}")
        return lines, result, checks
    finally:
        if proc is not None:
            stop_server(proc)
        for w in workers:
            w.stop()
        standin.stop()
        if app is not None:
            from hotline.core.extensions import db

            db.state(app).engine.dispose()
        if not args.keep:
            drop_database(dbname)
            shutil.rmtree(workdir, ignore_errors=True)
        rclient.flushdb()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", type=int, default=10_000, help="confirmed subscribers")
    parser.add_argument("--rate", type=float, default=100.0, help="HOTLINE_BROADCAST_RATE")
    parser.add_argument("--rq-workers", type=int, default=2)
    parser.add_argument("--pages", type=int, default=20, help="pages queued during the run")
    parser.add_argument("--no-callbacks", dest="callbacks", action="store_false",
                        help="the stand-in posts no delivery status callbacks (gunicorn idle)")
    parser.add_argument("--no-kill-run", action="store_true",
                        help="skip the second run (a worker SIGKILLed mid-way)")
    parser.add_argument("--redis-db", type=int, default=12)
    add_server_args(parser)
    add_run_args(parser, RESULTS)
    args = parser.parse_args()

    redis_url, rclient, redis_version = empty_redis_db(args.redis_db)
    auth_token, account_sid = twilio_credentials()
    started = datetime.now(UTC).astimezone()
    t0 = time.monotonic()
    lines = [f"Broadcast benchmark, {started:%Y-%m-%d %H:%M:%S %Z}"]
    lines.append(f"command:  {command_line()}")
    lines.append(f"sending:  {args.rq_workers} x `hotline worker`, HOTLINE_BROADCAST_RATE="
                 f"{args.rate:g}, Messaging Service at HOTLINE_SENDER_RATE=200, real twilio "
                 "client -> TwilioStandIn " + ("(delivery status callbacks, sent and delivered, "
                                               "to gunicorn)" if args.callbacks else
                                               "(no status callbacks)"))
    lines.append(machine_line(redis_version, "workers, gunicorn, the stand-in, PostgreSQL "
                                             "and Redis"))
    lines.append("")
    results, checks = [], []
    for kill in ([False] if args.no_kill_run else [False, True]):
        run_lines, result, run_checks = one_run(args, kill, auth_token, account_sid, rclient,
                                                redis_url)
        lines.extend(run_lines)
        lines.append("")
        results.append(result)
        checks.extend(run_checks)
    lines.append("checks:")
    lines.extend(check_lines(checks))
    lines.append(f"({time.monotonic() - t0:.0f} s in all)")
    lines.extend(results)
    publish("\n".join(lines) + "\n", RESULTS if args.callbacks else RESULTS_NO_CALLBACKS,
            not args.no_write)
    rclient.flushdb()
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
