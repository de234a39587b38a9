"""Routing benchmark: verified -> first lawyer SMS, and a rate-limited fan-out over a sender pool.

    .venv/bin/python benchmarks/routing.py     # about 3 minutes; writes results/routing.txt

Outbound SMS go through the real twilio client to a TwilioStandIn in this process
(TWILIO_API_BASE_URL); it stamps every request it receives with the wall clock. PostgreSQL and
Redis (a database and a Redis db of the run's own, the demo config loaded), `hotline worker`
processes (the Procfile's `worker` line).

(a) Page latency, ONE worker. Incidents are made with the domain code in this process: a report
    per incident, triaged from a real message of a demo jurisdiction and placed a few kilometres
    from every other (so each opens its own incident, in one of the twelve demo jurisdictions),
    put through clustering. Then, one incident at a time, the dispatcher's verify action
    (`hotline.incidents.actions.apply_action(..., {"action": "verify"})` + commit, as the
    dashboard and the API do: verified -> routed, the policy snapshotted, the on-call lawyer
    paged through the outbox and RQ) is timed, and the latency is the time from just before
    apply_action to the stand-in's arrival stamp of the first create whose Body is that
    incident's page ("HOTLINE <code>: ..."). The next incident is verified once the page
    arrived. The first few are a warm-up and not counted. Target: p95 < 1 s.

(b) Fan-out: 300 SMS queued with `hotline.messaging.outbound.queue_sms` in ONE transaction
    (300 outbox jobs, handed to RQ on commit), sent by two workers through a pool of 10 senders
    (TWILIO_FROM_NUMBER, 10 numbers) at HOTLINE_SENDER_RATE=1 message/s each (the Redis limiter
    shared by the workers). Measured: the time from the commit to the last create at the stand-in
    (ideal: (300 / 10 - 1) / 1 = 29 s), and per sender, from the stand-in's stamps: the gaps
    between consecutive creates and the most creates in any 1 s window.
    The rate check, precisely: for every sender, every two consecutive creates arrive at least
    1/rate - 50 ms apart. The limiter hands out slots exactly 1/rate apart on Redis's clock; a
    send reaches the stand-in a few milliseconds after its slot (a commit, a thread wake-up, an
    HTTP request), and that delay varies from send to send, so two sends one slot apart can arrive
    a little less than 1/rate apart without two ever sharing a slot: 50 ms bounds that jitter.
    Also checked without any allowance: at most 10 * rate + 1 creates per sender in any 10 s.
    Zero lost: 300 accepted creates, every message `sent` with the stand-in's SID; zero
    duplicates: no To+Body pair created twice (every body is distinct), 300 creates in all.

Everything it creates is removed at the end: workers stopped, the database dropped, the Redis db
flushed (it refuses to start if that db is not empty).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    HOTLINE_NUMBER,
    PG,
    ROOT,
    SENDERS,
    add_run_args,
    check_lines,
    clean_up,
    command_line,
    create_database,
    empty_redis_db,
    hotline_env,
    machine_line,
    percentile,
    publish,
    twilio_credentials,
)
from benchmarks._paging import make_incidents, page_latency  # noqa: E402
from benchmarks._processes import (  # noqa: E402
    Worker,
    wait_for_quiet,
    wait_for_workers,
)

RESULTS = ROOT / "benchmarks" / "results" / "routing.txt"
TARGET_P95_S = 1.0
JITTER_S = 0.05
# the sender pool of (b): 555-01xx numbers, fictional
POOL = [f"+1{area}55501{80 + k:02d}" for k, area in enumerate(
    ["312", "773", "872", "212", "718", "347", "415", "213", "206", "512"])]


def fan_out(app, count: int, tag: str) -> tuple[list[int], float, float, dict[int, str]]:  # noqa: ANN001
    """Queue `count` SMS in one transaction; (message ids, before commit, after commit, bodies)."""
    from hotline.core.extensions import db
    from hotline.messaging.outbound import queue_sms

    vault = app.extensions["hotline_vault"]
    recipients = [SENDERS[(k * 37) % len(SENDERS)] for k in range(count)]
    assert len(set(recipients)) == count
    with app.app_context():
        session = db.session
        ids, bodies = [], {}
        for k, to in enumerate(recipients):
            body = (f"HOTLINE fan-out {k + 1}/{count} ({tag}): ICE activity reported at Corona "
                    "Plaza, Queens. Reply ACCEPT to take it.")
            message = queue_sms(session, vault, to, body, "page")
            ids.append(message.id)
            bodies[message.id] = body
        t0 = time.time()
        session.commit()  # 300 outbox rows become durable and are handed to RQ
        t1 = time.time()
    return ids, t0, t1, bodies


def rate_stats(times: list[float], rate: float) -> dict:
    times = sorted(times)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    in_1s = max((sum(1 for u in times[i:] if u < t + 1.0) for i, t in enumerate(times)),
                default=0)
    in_10s = max((sum(1 for u in times[i:] if u < t + 10.0) for i, t in enumerate(times)),
                 default=0)
    return {"n": len(times), "first": times[0] if times else 0, "last": times[-1] if times else 0,
            "min_gap": min(gaps) if gaps else float("inf"),
            "mean_gap": sum(gaps) / len(gaps) if gaps else float("nan"),
            "under_1": sum(1 for g in gaps if g < 1.0 / rate),
            "max_1s": in_1s, "max_10s": in_10s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--incidents", type=int, default=50, help="measured verify -> page")
    parser.add_argument("--warmup", type=int, default=3, help="verify -> page not counted")
    parser.add_argument("--fanout", type=int, default=300, help="SMS of the fan-out")
    parser.add_argument("--fanout-workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=1.0, help="messages/s per sender in (b)")
    parser.add_argument("--redis-db", type=int, default=10)
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait for other CPU load to go before each part")
    add_run_args(parser, RESULTS)
    args = parser.parse_args()

    from hotline import create_app
    from hotline.core.extensions import db
    from hotline.devtools.twilio_standin import TwilioStandIn

    redis_url, rclient, redis_version = empty_redis_db(args.redis_db)
    started = datetime.now(UTC).astimezone()
    t_start = time.monotonic()
    tag = secrets.token_hex(4)
    dbname = f"bench_routing_{tag}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-routing-bench-"))
    auth_token, account_sid = twilio_credentials()
    standin = TwilioStandIn(account_sid, auth_token).start()
    base = hotline_env(dbname, redis_url, workdir, 9, auth_token, account_sid,
                       TWILIO_API_BASE_URL=standin.url)
    env_a = dict(base, TWILIO_FROM_NUMBER=HOTLINE_NUMBER, HOTLINE_SENDER_RATE="1000")
    env_b = dict(base, TWILIO_FROM_NUMBER=",".join(POOL), HOTLINE_SENDER_RATE=f"{args.rate:g}")
    created = False
    workers: list[Worker] = []
    app = None
    out: list[str] = []
    checks: list[tuple[str, bool]] = []
    try:
        print(create_database(dbname, env_a, workdir), "(demo config loaded)", flush=True)
        created = True
        app = create_app({**env_a, "DOTENV_PATH": None})
        total = args.warmup + args.incidents
        incident_ids = make_incidents(app, total)
        print(f"{total} incidents made (status new, one report each)", flush=True)

        # -- (a) ---------------------------------------------------------------------------
        workers = [Worker.start(env_a, workdir, "worker-a")]
        wait_for_workers(rclient, 1, workers)
        background_a = wait_for_quiet(args.quiet_wait)
        print(f"(a) verify -> first page, 1 worker, {args.incidents} incidents "
              f"(+{args.warmup} warm-up; other load before: {100 * background_a:.0f}%) ...",
              flush=True)
        rows, repeated = page_latency(app, standin, incident_ids, args.warmup, wait=15)
        for worker in workers:
            worker.stop()
        workers = []
        measured = [r for r in rows if not r["warmup"]]
        lat = [r["latency"] for r in measured if r["latency"] is not None]
        commit = [r["commit"] for r in measured]
        queue_part = [r["latency"] - r["commit"] for r in measured if r["latency"] is not None]
        p95 = percentile(lat, 95)
        with app.app_context():
            from sqlalchemy import func, select

            from hotline.models import Alert, Incident
            routed = db.session.scalar(select(func.count(Incident.id)).where(
                Incident.id.in_(incident_ids), Incident.status == "routed"))
            pages = db.session.scalar(select(func.count(Alert.id)).where(
                Alert.incident_id.in_(incident_ids), Alert.kind == "page"))
            db.session.rollback()
        print(f"  p50 {1e3 * percentile(lat, 50):.0f} ms, p95 {1e3 * p95:.0f} ms", flush=True)

        # -- (b) ---------------------------------------------------------------------------
        rclient.delete(*[f"hotline:sender:{s}" for s in POOL])
        workers = [Worker.start(env_b, workdir, f"worker-b{i}")
                   for i in range(args.fanout_workers)]
        wait_for_workers(rclient, args.fanout_workers, workers)
        before = len(standin.creates())
        background_b = wait_for_quiet(args.quiet_wait)
        print(f"(b) fan-out: {args.fanout} SMS over {len(POOL)} senders at {args.rate:g}/s each, "
              f"{args.fanout_workers} workers (other load before: {100 * background_b:.0f}%) ...",
              flush=True)
        ids, c0, c1, bodies = fan_out(app, args.fanout, tag)
        ideal = (args.fanout / len(POOL) - 1) / args.rate
        deadline = time.monotonic() + ideal * 3 + 60
        while time.monotonic() < deadline:
            if len(standin.creates()) - before >= args.fanout:
                break
            time.sleep(0.2)
        time.sleep(3)  # anything extra (a duplicate) would arrive now
        import psycopg

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with psycopg.connect(f"{PG}/{dbname}") as conn:
                statuses = dict(conn.execute(
                    "SELECT id, status FROM messages WHERE id = ANY(%s)", (ids,)).fetchall())
                sids = dict(conn.execute(
                    "SELECT id, twilio_sid FROM messages WHERE id = ANY(%s)", (ids,)).fetchall())
                outbox = conn.execute(
                    "SELECT count(*) FROM outbox_jobs WHERE job = 'send_sms' AND "
                    "(args->>0)::int = ANY(%s)", (ids,)).fetchone()[0]
            if all(s not in ("queued", "sending") for s in statuses.values()):
                break
            time.sleep(0.5)
        fan = [r for r in standin.creates()[before:]]
        accepted = [r for r in fan if r.answered == 201]
        by_sender: dict[str, list[float]] = defaultdict(list)
        for r in accepted:
            by_sender[r.form.get("From", "?")].append(r.at)
        stats = {s: rate_stats(by_sender.get(s, []), args.rate) for s in POOL}
        last = max((r.at for r in accepted), default=c1)
        first = min((r.at for r in accepted), default=c1)
        pairs = Counter((r.form.get("To"), r.form.get("Body")) for r in fan)
        dup_pairs = sum(1 for v in pairs.values() if v > 1)
        standin_sids = {sid for sid, m in standin.messages.items()
                        if m["body"] in set(bodies.values())}
        print(f"  {len(accepted)} accepted in {last - c0:.1f} s (ideal {ideal:.0f} s)", flush=True)

        # -- checks and report ---------------------------------------------------------------
        missing = sum(1 for r in measured if r["latency"] is None)
        checks += [
            (f"(a) every verified incident routed ({routed} of {total}) and its on-call lawyer "
             f"paged ({pages} page alerts)", routed == total and pages == total),
            (f"(a) every page reached the stand-in within 15 s ({missing} missing)", missing == 0),
            (f"(a) no incident paged twice ({repeated})", repeated == 0),
            (f"(a) p95 verified -> first lawyer SMS request < {TARGET_P95_S:g} s "
             f"({p95:.3f} s)", p95 < TARGET_P95_S),
        ]
        worst_gap = min(s["min_gap"] for s in stats.values())
        worst_10 = max(s["max_10s"] for s in stats.values())
        checks += [
            (f"(b) zero lost: {len(accepted)} accepted creates == {args.fanout} queued; every "
             f"message sent ({sum(1 for s in statuses.values() if s == 'sent')}) with the "
             f"stand-in's SID", len(accepted) == args.fanout
             and all(s == "sent" for s in statuses.values())
             and {sids[i] for i in ids} == standin_sids),
            (f"(b) zero duplicates: {len(fan)} create requests, {dup_pairs} To+Body pairs "
             f"created more than once", len(fan) == args.fanout and dup_pairs == 0),
            (f"(b) every sender used ({sum(1 for s in stats.values() if s['n'])} of "
             f"{len(POOL)})", all(s["n"] for s in stats.values())),
            (f"(b) rate never exceeded: every gap between a sender's consecutive creates >= "
             f"1/rate - {1e3 * JITTER_S:.0f} ms (smallest {worst_gap:.3f} s)",
             worst_gap >= 1 / args.rate - JITTER_S),
            (f"(b) at most 10 x rate + 1 = {10 * args.rate + 1:g} creates per sender in any "
             f"10 s (most: {worst_10})", worst_10 <= 10 * args.rate + 1),
            (f"(b) total time within 20% of ideal ({last - c0:.1f} s vs {ideal:.0f} s)",
             last - c0 <= ideal * 1.2 + 1),
        ]

        out.append(f"Routing benchmark, {started:%Y-%m-%d %H:%M:%S %Z} "
                   f"({time.monotonic() - t_start:.0f} s in all)")
        out.append(f"command:  {command_line()}")
        out.append(machine_line(redis_version, "benchmark (with the stand-in), workers, PostgreSQL "
                                "and Redis", synchronous_commit=False))
        out.append("outbound: real twilio client -> TwilioStandIn in the benchmark process "
                   "(TWILIO_API_BASE_URL); arrival stamped by the stand-in (time.time())")
        out.append("")
        out.append(f"(a) verified -> first lawyer SMS request at the stand-in: 1 x `hotline "
                   f"worker`, TWILIO_FROM_NUMBER={HOTLINE_NUMBER}, HOTLINE_SENDER_RATE=1000")
        out.append(f"    {args.incidents} incidents in {len(set(r['to'] for r in measured))} "
                   f"on-call lawyers' phones, one at a time (+{args.warmup} warm-up not "
                   f"counted); other load before: {100 * background_a:.0f}%")
        head = f"    {'ms':<44}{'p50':>8}{'p95':>8}{'max':>8}{'mean':>8}"
        out.append(head)
        out.append("    " + "-" * (len(head) - 4))
        for label, values in (
                ("verify -> page request at the stand-in", lat),
                ("  apply_action + commit (route, enqueue)", commit),
                ("  commit -> stand-in (RQ, worker, client)", queue_part)):
            out.append(f"    {label:<44}{1e3 * percentile(values, 50):>8.0f}"
                       f"{1e3 * percentile(values, 95):>8.0f}{1e3 * max(values):>8.0f}"
                       f"{1e3 * sum(values) / len(values):>8.0f}")
        out.append(f"    target p95 < {TARGET_P95_S * 1e3:.0f} ms: "
                   f"{'met' if p95 < TARGET_P95_S else 'NOT MET'} ({1e3 * p95:.0f} ms)")
        out.append("")
        out.append(f"(b) fan-out: {args.fanout} SMS queued in one transaction (queue_sms), "
                   f"{args.fanout_workers} x `hotline worker`, {len(POOL)} senders "
                   f"(TWILIO_FROM_NUMBER), HOTLINE_SENDER_RATE={args.rate:g}; other load "
                   f"before: {100 * background_b:.0f}%")
        out.append(f"    commit of the 300 rows + enqueue:   {c1 - c0:6.2f} s")
        out.append(f"    commit -> first create:             {first - c0:6.2f} s")
        out.append(f"    commit -> last create (total):      {last - c0:6.2f} s   "
                   f"(ideal {ideal:.0f} s = ({args.fanout}/{len(POOL)} - 1) / {args.rate:g})")
        out.append(f"    overall rate: {len(accepted) / max(1e-9, last - first):.2f} creates/s "
                   f"(limit {len(POOL) * args.rate:g}/s); send_sms outbox rows {outbox} "
                   f"({outbox - args.fanout} re-deferred for a later slot)")
        head = (f"    {'sender':<14}{'sent':>6}{'span s':>8}{'rate/s':>8}{'min gap s':>11}"
                f"{'mean gap s':>12}{'gaps<1/rate':>13}{'max in 1 s':>12}{'max in 10 s':>13}")
        out.append(head)
        out.append("    " + "-" * (len(head) - 4))
        for sender in POOL:
            s = stats[sender]
            span = s["last"] - s["first"]
            out.append(f"    {sender:<14}{s['n']:>6}{span:>8.2f}"
                       f"{(s['n'] - 1) / span if span else 0:>8.3f}{s['min_gap']:>11.3f}"
                       f"{s['mean_gap']:>12.3f}{s['under_1']:>13}{s['max_1s']:>12}"
                       f"{s['max_10s']:>13}")
        out.append("    (rate/s = (sent - 1) / span; max in 1 s / 10 s = most creates of the "
                   "sender in any window [t, t+1 s) / [t, t+10 s) anchored on a create;")
        out.append(f"     gaps<1/rate counts consecutive creates less than 1/rate apart, "
                   f"allowed down to 1/rate - {1e3 * JITTER_S:.0f} ms of arrival jitter)")
        out.append("")
        out.append("checks:")
        out.extend(check_lines(checks))
        out.append("")
        out.append(f"RESULT incidents={args.incidents} page_p50_ms={1e3 * percentile(lat, 50):.0f} "
                   f"page_p95_ms={1e3 * p95:.0f} fanout={args.fanout} "
                   f"fanout_s={last - c0:.1f} fanout_ideal_s={ideal:.0f} "
                   f"checks_failed={sum(1 for _, ok in checks if not ok)}")
        publish("\n".join(out) + "\n", RESULTS, not args.no_write)
        return 0 if all(ok for _, ok in checks) else 1
    finally:
        for worker in workers:
            worker.stop()
        standin.stop()
        if app is not None:
            db.state(app).engine.dispose()
        clean_up(args, [dbname] if created else [], rclient, workdir, f"database {dbname}")


if __name__ == "__main__":
    raise SystemExit(main())
