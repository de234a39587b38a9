"""Burst benchmark: 5,000 SMS webhooks at 32 connections, triaged by two RQ workers.

    .venv/bin/python benchmarks/burst.py     # about 15 minutes; writes results/burst.txt

What a raid looks like to the hotline: thousands of people texting at once. Every request is a
distinct, signed Twilio SMS webhook (unique MessageSid) from one of 2,000 numbers (555-0100..0199
in twenty area codes, so no number nears the per-reporter limit of 8 per 10 minutes), in English
or Spanish, and each body is a complete report naming a real place of a demo jurisdiction (a
neighbourhood, a landmark or a street corner): no message is a follow-up answer, so every one must
become a report of its own. Before the clock starts, every body is run through triage to prove it
has a place (and so asks no follow-up question).

Servers: gunicorn with the Procfile's `web` line (2 gthread workers x 4 threads, access log on) and
TWO `hotline worker` processes (the Procfile's `worker` line: RQ with the scheduler and the outbox
sweeper), on PostgreSQL and Redis (a database and a Redis db of the run's own). Outbound SMS (the
requests to verifiers that new incidents set off) go through the real twilio client to a
TwilioStandIn in this process (TWILIO_API_BASE_URL), with a sender rate that does not throttle.

Client: wrk, one thread, 32 keep-alive connections, each request sent exactly once (a Lua script;
wrk stops when all are answered). Measured: webhook throughput (requests / time from the first
request to the last answer), latency percentiles, errors; then the time from the first request until
the last inbound message is triaged (`processed_at` set on all of them, polled every 0.2 s).

Checks: zero lost (stored inbound messages == distinct MessageSids sent == 5,000, and they are the
same SIDs), zero duplicated (no SID stored twice, no report made of two messages), all triaged
(every message processed and linked to a report, reports == 5,000, every triage outbox job done, no
failed RQ job), and no outbound SMS sent twice (no two creates at the stand-in with the same To and
Body: requests to one verifier for different incidents differ by the incident's code; every
outbound row `sent` exactly once with the SID the stand-in gave it).

Everything it creates is removed at the end: servers and workers stopped, the database dropped,
the Redis db flushed (it refuses to start if that db is not empty).
"""

from __future__ import annotations

import argparse
import secrets
import shlex
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    HOTLINE_NUMBER,
    PG,
    REPORT_BODIES,
    ROOT,
    SENDERS,
    add_run_args,
    check_lines,
    clean_up,
    command_line,
    create_database,
    empty_redis_db,
    free_port,
    hotline_env,
    machine_line,
    pg_scalar,
    publish,
    twilio_credentials,
    write_webhooks,
)
from benchmarks._processes import (  # noqa: E402
    Server,
    Worker,
    add_server_args,
    cpu_groups,
    cpu_ticks_total,
    gunicorn_settings,
    start_server,
    stop_server,
    wait_for_quiet,
    wait_for_workers,
)
from benchmarks._wrk import (  # noqa: E402
    LUA_COUNT,
    require_wrk,
    run_wrk_count,
)

RESULTS = ROOT / "benchmarks" / "results" / "burst.txt"


def write_burst(path: Path, settings, url: str, auth_token: str, count: int,  # noqa: ANN001
                ) -> list[str]:
    """`count` distinct signed SMS webhooks for `url`, one per line; returns their SIDs."""
    # consecutive messages come from different numbers; each number writes 2-3 times
    return write_webhooks(path, settings, url, auth_token,
                          ((SENDERS[k % len(SENDERS)],
                            REPORT_BODIES[(k * 7 + k // len(SENDERS)) % len(REPORT_BODIES)])
                           for k in range(count)))


def preflight(env: dict[str, str]) -> list[str]:
    """Triage every body as the worker will: each must name a place of a demo jurisdiction."""
    from hotline import create_app
    from hotline.core.extensions import db
    from hotline.incidents.geography import current_gazetteer
    from hotline.triage import triage_text

    app = create_app({**env, "DOTENV_PATH": None})
    problems = []
    with app.app_context():
        gazetteer = current_gazetteer(db.session)
        for body in REPORT_BODIES:
            result = triage_text(body, gazetteer, from_number=SENDERS[0])
            if result.needs_location or not result.jurisdiction:
                problems.append(f"{body!r}: needs_location={result.needs_location}, "
                                f"jurisdiction={result.jurisdiction}")
    db.state(app).engine.dispose()
    return problems


class Poller(threading.Thread):
    """Samples (time, stored, untriaged) every `every` s until all `total` are stored and
    triaged, or `stop` is set."""

    def __init__(self, dbname: str, total: int, every: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.dbname, self.total, self.every = dbname, total, every
        self.samples: list[tuple[float, int, int]] = []
        self.finished_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(f"{PG}/{self.dbname}", autocommit=True) as conn:
            while not self.stop.is_set():
                stored, untriaged = conn.execute(
                    "SELECT count(*), count(*) FILTER (WHERE processed_at IS NULL) "
                    "FROM messages WHERE direction = 'inbound'").fetchone()
                now = time.time()
                self.samples.append((now, stored, untriaged))
                if stored >= self.total and untriaged == 0:
                    self.finished_at = now
                    return
                self.stop.wait(self.every)


def outbound_settled(dbname: str, limit: float) -> bool:
    """Wait until no outbound SMS is queued or being sent."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        pending = pg_scalar(dbname, "SELECT count(*) FROM messages WHERE direction = 'outbound' "
                                    "AND status IN ('queued', 'sending')")
        if pending == 0:
            return True
        time.sleep(0.5)
    return False


def checks(dbname: str, sids: list[str], run, standin, rclient) -> list[tuple[str, bool]]:  # noqa: ANN001
    import psycopg
    from rq import Queue
    from rq.registry import FailedJobRegistry

    out: list[tuple[str, bool]] = []
    n = len(sids)
    out.append((f"every webhook answered 200 ({run.ok} of {n}; non-200: {run.non200} "
                f"{run.codes})", run.ok == n and run.non200 == 0))
    out.append((f"no socket errors or timeouts ({run.socket_errors})", run.socket_errors == 0))
    out.append((f"each MessageSid sent exactly once ({run.sent} sent, {len(set(sids))} distinct)",
                run.sent == n and len(set(sids)) == n))
    with psycopg.connect(f"{PG}/{dbname}") as conn:
        def one(sql: str):  # noqa: ANN202
            return conn.execute(sql).fetchone()

        stored_sids = {r[0] for r in conn.execute(
            "SELECT twilio_sid FROM messages WHERE direction = 'inbound'")}
        stored, distinct = one("SELECT count(*), count(DISTINCT twilio_sid) FROM messages "
                               "WHERE direction = 'inbound'")
        out.append((f"zero lost: stored inbound messages ({stored}) == distinct SIDs sent ({n}) "
                    f"and they are the SIDs sent", stored == n and stored_sids == set(sids)))
        out.append((f"zero duplicated: no SID stored twice ({stored - distinct} repeats)",
                    distinct == stored))
        untriaged, unlinked = one("SELECT count(*) FILTER (WHERE processed_at IS NULL), "
                                  "count(*) FILTER (WHERE report_id IS NULL) FROM messages "
                                  "WHERE direction = 'inbound'")
        out.append((f"all triaged: every inbound message processed ({untriaged} not) and "
                    f"linked to a report ({unlinked} not)", untriaged == 0 and unlinked == 0))
        reports, awaiting = one("SELECT count(*), count(*) FILTER (WHERE state <> 'complete') "
                                "FROM reports")
        out.append((f"reports ({reports}) == messages sent ({n}); none awaiting a follow-up "
                    f"answer ({awaiting})", reports == n and awaiting == 0))
        shared = one("SELECT count(*) FROM (SELECT report_id FROM messages WHERE direction = "
                     "'inbound' AND report_id IS NOT NULL GROUP BY report_id "
                     "HAVING count(*) > 1) x")[0]
        orphan = one("SELECT count(*) FROM reports r WHERE NOT EXISTS (SELECT 1 FROM messages m "
                     "WHERE m.report_id = r.id AND m.direction = 'inbound')")[0]
        out.append((f"one message per report: {shared} reports made of two messages, {orphan} "
                    f"reports without one", shared == 0 and orphan == 0))
        jobs_, done, failed = one("SELECT count(*), count(done_at), count(failed_at) FROM "
                                  "outbox_jobs WHERE job = 'triage_message'")
        out.append((f"triage outbox jobs ({jobs_}) == messages, all done ({done}), none failed "
                    f"({failed})", jobs_ == n and done == n and failed == 0))
        rq_failed = sum(len(FailedJobRegistry(queue=Queue(q, connection=rclient)))
                        for q in ("triage", "alerts", "timers"))
        out.append((f"no failed RQ jobs ({rq_failed})", rq_failed == 0))

        rows = conn.execute("SELECT id, status, twilio_sid FROM messages "
                            "WHERE direction = 'outbound'").fetchall()
    creates = standin.creates()
    accepted = [r for r in creates if r.answered == 201]
    pairs = Counter((r.form.get("To"), r.form.get("Body")) for r in creates)
    twice = sum(1 for c in pairs.values() if c > 1)
    out.append((f"no outbound SMS sent twice: {len(creates)} creates at the stand-in, "
                f"{twice} To+Body pairs more than once", twice == 0))
    standin_sids = {sid for sid in standin.messages}
    sent = [r for r in rows if r[1] == "sent"]
    out.append((f"every outbound row sent once: {len(rows)} rows, {len(sent)} sent == "
                f"{len(accepted)} accepted creates, SIDs match, none left queued/failed",
                len(sent) == len(rows) == len(accepted)
                and {r[2] for r in sent} == standin_sids))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=32)
    add_server_args(parser)
    parser.add_argument("--rq-workers", type=int, default=2, help="`hotline worker` processes")
    parser.add_argument("--redis-db", type=int, default=11)
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait for other CPU load to go before the burst")
    parser.add_argument("--limit", type=float, default=1800,
                        help="seconds the burst and its triage may take in all")
    add_run_args(parser, RESULTS)
    args = parser.parse_args()

    require_wrk()
    from hotline.core.settings import load_settings
    from hotline.devtools.twilio_standin import TwilioStandIn

    redis_url, rclient, redis_version = empty_redis_db(args.redis_db)
    started = datetime.now(UTC).astimezone()
    t0 = time.monotonic()
    dbname = f"bench_burst_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-burst-bench-"))
    lua = workdir / "burst.lua"
    lua.write_text(LUA_COUNT)
    auth_token, account_sid = twilio_credentials()
    standin = TwilioStandIn(account_sid, auth_token).start()
    port = free_port()
    env = hotline_env(dbname, redis_url, workdir, port, auth_token, account_sid,
                      TWILIO_API_BASE_URL=standin.url, TWILIO_FROM_NUMBER=HOTLINE_NUMBER,
                      HOTLINE_SENDER_RATE="1000")
    settings = load_settings(environ=env, dotenv_path=None)
    server = Server("burst", "hotline /twilio/sms", "hotline:create_app()", env, port)
    created = False
    workers: list[Worker] = []
    proc = None
    try:
        print(create_database(dbname, env, workdir), "(demo config loaded)", flush=True)
        created = True
        problems = preflight(env)
        if problems:
            raise SystemExit("bodies without a place:\n  " + "\n  ".join(problems))
        url = f"http://127.0.0.1:{port}/twilio/sms"
        data = workdir / "burst.txt"
        sids = write_burst(data, settings, url, auth_token, args.requests)
        print(f"{len(sids)} signed webhooks written ({len(REPORT_BODIES)} bodies, every one "
              f"with a place; {len(set(SENDERS[k % len(SENDERS)] for k in range(len(sids))))} "
              f"From numbers)", flush=True)

        workers = [Worker.start(env, workdir, f"worker{i}") for i in range(args.rq_workers)]
        wait_for_workers(rclient, args.rq_workers, workers)
        background = wait_for_quiet(args.quiet_wait)
        proc = start_server(args, server, workdir)
        print(f"burst: {args.requests} webhooks at {args.connections} connections, "
              f"{args.rq_workers} RQ workers (other load before: {100 * background:.0f}%) ...",
              flush=True)

        roots = {"gunicorn": [proc.pid], "rq workers": [w.process.pid for w in workers]}
        cpu0, busy0 = cpu_groups(roots), cpu_ticks_total()
        poller = Poller(dbname, args.requests)
        poller.start()
        run, wrk_cmd = run_wrk_count(lua, data, port, args.connections, args.limit)
        cpu_web = cpu_groups(roots)
        print(f"  webhooks: {run.rps:.0f} req/s over {run.seconds:.1f} s, p50 {run.p50_ms:.0f} "
              f"ms, p99 {run.p99_ms:.0f} ms, errors {run.non200 + run.socket_errors}",
              flush=True)
        poller.join(max(1.0, args.limit - (time.time() - run.first_at)))
        poller.stop.set()
        cpu1, busy1 = cpu_groups(roots), cpu_ticks_total()
        if poller.finished_at is None:
            print("  WARNING: not all messages were triaged within the limit", flush=True)
        triaged_at = poller.finished_at or time.time()
        settled = outbound_settled(dbname, 60)
        time.sleep(0.5)
        results = checks(dbname, sids, run, standin, rclient)
        results.append(("all triaged within the limit", poller.finished_at is not None))
        results.append(("outbound SMS settled (none queued or sending)", settled))

        stats = {
            "incidents": pg_scalar(dbname, "SELECT count(*) FROM incidents"),
            "held": pg_scalar(dbname, "SELECT count(*) FROM incidents WHERE "
                                      "coalesce(flags->>'flood', 'false') <> 'false' OR "
                                      "coalesce(flags->>'denunciation', 'false') <> 'false'"),
            "verifying": pg_scalar(dbname, "SELECT count(*) FROM incidents "
                                           "WHERE status = 'verifying'"),
            "jurisdictions": pg_scalar(dbname, "SELECT count(DISTINCT jurisdiction_id) FROM "
                                               "reports WHERE jurisdiction_id IS NOT NULL"),
            "outbound": pg_scalar(dbname, "SELECT count(*) FROM messages "
                                          "WHERE direction = 'outbound'"),
            "creates": len(standin.creates()),
        }
        wall = triaged_at - run.first_at
        cpu = {k: cpu1[k] - cpu0[k] for k in cpu0}
        web_cpu = {k: cpu_web[k] - cpu0[k] for k in cpu0}
        busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
        text = report(args, run, wrk_cmd, sids, poller, triaged_at, wall, stats, cpu, web_cpu,
                      busy, background, results, started, time.monotonic() - t0, redis_version,
                      dbname)
        publish(text, RESULTS, not args.no_write)
        return 0 if all(ok for _, ok in results) else 1
    finally:
        if proc is not None:
            stop_server(proc)
        for worker in workers:
            worker.stop()
        standin.stop()
        clean_up(args, [dbname] if created else [], rclient, workdir, f"database {dbname}")


def report(args, run, wrk_cmd, sids, poller, triaged_at, wall, stats, cpu, web_cpu,  # noqa: ANN001
           busy, background, results, started, elapsed, redis_version, dbname) -> str:
    n = len(sids)
    lines = [f"Burst benchmark, {started:%Y-%m-%d %H:%M:%S %Z} ({elapsed:.0f} s in all)"]
    lines.append(f"command:  {command_line()}")
    lines.append(f"server:   gunicorn {gunicorn_settings(args, 'hotline:create_app()')}")
    lines.append(f"workers:  {args.rq_workers} x `hotline worker` (RQ, scheduler, outbox sweeper; "
                 "queues alerts, triage, timers, maintenance)")
    lines.append(f"outbound: real twilio client -> TwilioStandIn in the benchmark process "
                 f"(TWILIO_API_BASE_URL), TWILIO_FROM_NUMBER={HOTLINE_NUMBER}, "
                 f"HOTLINE_SENDER_RATE=1000")
    lines.append(f"client:   {shlex.join(['wrk'] + wrk_cmd[1:]).replace(str(ROOT) + '/', '')}"
                 .replace(dbname, "<db>"))
    lines.append(f"          (Lua: each of {n} pre-signed webhooks sent once, stop when all are "
                 f"answered; {len(REPORT_BODIES)} en/es bodies, each a complete report with a "
                 f"place; {len(SENDERS)} From numbers, 2-3 messages each)")
    lines.append(machine_line(redis_version, "wrk, gunicorn, workers, PostgreSQL and Redis"))
    lines.append("")
    head = (f"{'webhooks':<22}{'req/s':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'mean ms':>9}{'errors':>8}{'answered':>10}")
    lines.append(head)
    lines.append("-" * len(head))
    lines.append(f"{'POST /twilio/sms':<22}{run.rps:>8.0f}{run.p50_ms:>9.1f}{run.p90_ms:>9.1f}"
                 f"{run.p99_ms:>9.1f}{run.max_ms:>9.1f}{run.mean_ms:>9.1f}"
                 f"{run.non200 + run.socket_errors:>8}{run.requests:>10}")
    lines.append(f"(req/s = {run.requests} answers / {run.seconds:.2f} s from the first request to "
                 "the last answer; triage runs on the same cores meanwhile)")
    lines.append("")
    answered_at = run.last_at - run.first_at
    at_answer = next((s for s in poller.samples if s[0] >= run.last_at), None)
    backlog = at_answer[2] if at_answer else float("nan")
    lines.append("time from the first request (s):")
    lines.append(f"  last webhook answered          {answered_at:8.1f}")
    lines.append(f"  last message triaged           {wall:8.1f}   "
                 f"(polled every 0.2 s: inbound messages with processed_at NULL == 0)")
    lines.append(f"  triage backlog when the last webhook was answered: {backlog} messages; "
                 f"drained in {wall - answered_at:.1f} s after")
    lines.append(f"  end-to-end triage throughput   {n / wall:8.1f} messages/s with "
                 f"{args.rq_workers} workers")
    lines.append("")
    lines.append("backlog over time (s from the first request: stored / not yet triaged):")
    marks, step, row = [], max(1.0, wall / 12), []
    for t, stored, untriaged in poller.samples:
        if not marks or t - run.first_at >= marks[-1] + step or untriaged == 0:
            marks.append(t - run.first_at)
            row.append(f"{t - run.first_at:5.1f}s {stored}/{untriaged}")
        if untriaged == 0 and stored >= n:
            break
    for k in range(0, len(row), 4):
        lines.append("  " + "   ".join(row[k:k + 4]))
    lines.append("")
    total = sum(cpu.values())
    lines.append(f"CPU seconds from the first request to the last triage ({wall:.1f} s wall, "
                 f"{100 * busy:.0f}% of both cores busy; other load before: "
                 f"{100 * background:.0f}%):")
    lines.append(f"  {'':<12}{'whole run':>10}{'ms/msg':>8}{'webhook phase':>15}")
    for name in ("gunicorn", "rq workers", "postgres", "redis"):
        lines.append(f"  {name:<12}{cpu[name]:>10.1f}{1e3 * cpu[name] / n:>8.1f}"
                     f"{web_cpu[name]:>15.1f}")
    lines.append(f"  {'sum':<12}{total:>10.1f}{1e3 * total / n:>8.1f}")
    lines.append("  (rq workers include their work horses, one fork per job; postgres includes "
                 "backends that exited)")
    lines.append("")
    lines.append(f"what the burst became: {stats['incidents']} incidents in "
                 f"{stats['jurisdictions']} jurisdictions ({stats['held']} held by the flood or "
                 f"denunciation flags, {stats['verifying']} verifying); {stats['outbound']} "
                 f"outbound SMS, {stats['creates']} create requests at the stand-in")
    lines.append("")
    lines.append("checks:")
    lines.extend(check_lines(results))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
