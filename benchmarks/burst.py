"""Burst benchmark: 5,000 SMS webhooks at 32 connections, triaged by two RQ workers.

    .venv/bin/python benchmarks/burst.py     # about 4-6 minutes; writes results/burst.txt
    .venv/bin/python benchmarks/burst.py --scale-out 1,2,4 --messages 3000
        # one burst per worker count; writes results/burst_scale_out.txt

What a raid looks like to the hotline: thousands of people texting at once. Every request is a
distinct, signed Twilio SMS webhook (unique MessageSid) from one of 2,000 numbers (555-0100..0199
in twenty area codes, so no number nears the per-reporter limit of 8 per 10 minutes; less those
the demo config gives a responder, whose texts are commands, never reports), in English
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

In the same run (both skippable): the in-process row, the same webhooks stored untimed in a
database of their own on the same server and their jobs run through the workers' job function
(`workers.triage.triage_message`) one after another in this process, its CPU per message the
in-process cost (target: the workers' at most 1.5x that); and the verify probe, a dispatcher's
verify of 20 incidents made before the burst (+3 warm-up), one after another from the last webhook
answered, each timed until the lawyer's page reaches the stand-in (target p95 < 1 s).

Checks: zero lost (stored inbound messages == distinct MessageSids sent == 5,000, and they are the
same SIDs), zero duplicated (no SID stored twice, no report made of two messages), all triaged
(every message processed and linked to a report, reports == 5,000, every triage outbox job done, no
failed RQ job), and no outbound SMS sent twice (no two creates at the stand-in with the same To and
Body: requests to one verifier for different incidents differ by the incident's code; every
outbound row `sent` exactly once with the SID the stand-in gave it).

Ends with `RESULT messages= workers= webhook_s= triaged_s= ratio= worker_cpu_ms= inprocess_cpu_ms=
gunicorn_cpu_ms= postgres_cpu_ms= lost= duplicated= verify_p95_ms= checks_failed=` (target
ratio <= 2). Everything it creates is removed at the end: servers and workers stopped, the
database dropped, the Redis db flushed (it refuses to start if that db is not empty).
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
    drop_database,
    empty_redis_db,
    free_port,
    hotline_env,
    machine_line,
    percentile,
    pg_scalar,
    publish,
    twilio_credentials,
    write_webhooks,
)
from benchmarks._paging import make_incidents, page_latency  # noqa: E402
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
SCALE_RESULTS = ROOT / "benchmarks" / "results" / "burst_scale_out.txt"
PROBE_WARMUP = 3  # verifies before the measured ones, not counted
TARGET_VERIFY_S = 1.0
TARGET_RATIO = 2.0  # last triaged / last webhook answered
TARGET_CPU_RATIO = 1.5  # workers' CPU per message / the in-process cost


def write_burst(path: Path, settings, url: str, auth_token: str, count: int,  # noqa: ANN001
                senders: list[str]) -> list[str]:
    """`count` distinct signed SMS webhooks for `url`, one per line; returns their SIDs."""
    # consecutive messages come from different numbers; each number writes 2-3 times
    return write_webhooks(path, settings, url, auth_token,
                          ((senders[k % len(senders)],
                            REPORT_BODIES[(k * 7 + k // len(senders)) % len(REPORT_BODIES)])
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


def checks(dbname: str, sids: list[str], run, standin, rclient,  # noqa: ANN001
           tally: dict[str, int]) -> list[tuple[str, bool]]:
    """The run's checks; `tally` gets the RESULT line's `lost` and `duplicated`."""
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
        # the verify probe's incidents have a report each with no reporter: not the burst's
        reports, awaiting = one("SELECT count(*), count(*) FILTER (WHERE state <> 'complete') "
                                "FROM reports WHERE reporter_id IS NOT NULL")
        out.append((f"reports ({reports}) == messages sent ({n}); none awaiting a follow-up "
                    f"answer ({awaiting})", reports == n and awaiting == 0))
        shared = one("SELECT count(*) FROM (SELECT report_id FROM messages WHERE direction = "
                     "'inbound' AND report_id IS NOT NULL GROUP BY report_id "
                     "HAVING count(*) > 1) x")[0]
        orphan = one("SELECT count(*) FROM reports r WHERE r.reporter_id IS NOT NULL AND NOT "
                     "EXISTS (SELECT 1 FROM messages m WHERE m.report_id = r.id AND "
                     "m.direction = 'inbound')")[0]
        out.append((f"one message per report: {shared} reports made of two messages, {orphan} "
                    f"reports without one", shared == 0 and orphan == 0))
        tally["lost"] = len(set(sids) - stored_sids)
        tally["duplicated"] = stored - distinct + shared
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


def burst_senders(app) -> list[str]:  # noqa: ANN001
    """SENDERS less any number the demo config gives a responder (a responder's text is a
    command or nothing, never a report)."""
    from sqlalchemy import select

    from hotline.core.extensions import db
    from hotline.models import Responder

    vault = app.extensions["hotline_vault"]
    with app.app_context():
        taken = set(db.session.scalars(select(Responder.phone_hmac)))
        db.session.rollback()
    return [number for number in SENDERS if vault.phone_hmac(number) not in taken]


def in_process_cost(args, lines: list[str], env: dict[str, str],  # noqa: ANN001
                    workdir: Path) -> dict:
    """The same webhooks stored (untimed) in a database of their own on the same server, then
    their triage jobs run one after another through the job function the workers run
    (`workers.triage.triage_message`, outbox guard and lease included, and the jobs queued
    behind it that it takes on), in this one process: CPU seconds of this process per message."""
    import psycopg

    from hotline import create_app
    from hotline.core.extensions import db
    from hotline.jobs import outbox
    from workers.base import use_app
    from workers.start import warm_up
    from workers.triage import triage_message

    dbname = env["DATABASE_URL"].rsplit("/", 1)[1]
    create_database(dbname, env, workdir)
    try:
        app = create_app({**env, "DOTENV_PATH": None})
        client = app.test_client()
        for line in lines:
            path, signature, body = line.split("\t")
            answer = client.post(path, data=body, headers={
                "X-Twilio-Signature": signature,
                "Content-Type": "application/x-www-form-urlencoded"})
            if answer.status_code != 200:
                raise SystemExit(f"in-process: a webhook answered {answer.status_code}")
        with psycopg.connect(f"{PG}/{dbname}") as conn:
            jobs = conn.execute("SELECT id, args FROM outbox_jobs WHERE job = 'triage_message' "
                                "ORDER BY id").fetchall()
        use_app(app)
        warm_up(app)
        # each call as RQ makes it: its own job first taken off the queue (a job that runs
        # takes on the jobs queued behind it, which are then done: RQ never runs those, so
        # neither does this loop; the check is not timed)
        queue = outbox.backend_of(app).queue("triage")
        cpu = wall = 0.0
        with psycopg.connect(f"{PG}/{dbname}", autocommit=True) as conn:
            for outbox_id, job_args in jobs:
                if conn.execute("SELECT done_at FROM outbox_jobs WHERE id = %s",
                                (outbox_id,)).fetchone()[0] is not None:
                    continue
                queue.remove(f"outbox-{outbox_id}")
                cpu0, wall0 = time.process_time(), time.monotonic()
                triage_message(*job_args, outbox_id=outbox_id)
                cpu += time.process_time() - cpu0
                wall += time.monotonic() - wall0
        untriaged = pg_scalar(dbname, "SELECT count(*) FROM messages WHERE direction = "
                                      "'inbound' AND (processed_at IS NULL OR report_id IS NULL)")
        db.state(app).engine.dispose()
        return {"jobs": len(jobs), "cpu_s": cpu, "wall_s": wall, "untriaged": untriaged}
    finally:
        if not args.keep:
            drop_database(dbname)


def run_burst(args, workers_n: int, auth_token: str, account_sid: str,  # noqa: ANN001
              redis_url: str, rclient, probe: bool, in_process: bool) -> dict:
    """One burst on a database of its own, with a Twilio stand-in of its own; everything
    measured and checked, as a dict."""
    from hotline import create_app
    from hotline.core.extensions import db
    from hotline.core.settings import load_settings
    from hotline.devtools.twilio_standin import TwilioStandIn

    standin = TwilioStandIn(account_sid, auth_token).start()
    started = datetime.now(UTC).astimezone()
    t0 = time.monotonic()
    dbname = f"bench_burst_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-burst-bench-"))
    lua = workdir / "burst.lua"
    lua.write_text(LUA_COUNT)
    port = free_port()
    env = hotline_env(dbname, redis_url, workdir, port, auth_token, account_sid,
                      TWILIO_API_BASE_URL=standin.url, TWILIO_FROM_NUMBER=HOTLINE_NUMBER,
                      HOTLINE_SENDER_RATE="1000")
    settings = load_settings(environ=env, dotenv_path=None)
    server = Server("burst", "hotline /twilio/sms", "hotline:create_app()", env, port)
    created = False
    workers: list[Worker] = []
    proc = None
    app = None
    out: dict = {"workers": workers_n, "started": started, "dbname": dbname}
    try:
        print(create_database(dbname, env, workdir), "(demo config loaded)", flush=True)
        created = True
        problems = preflight(env)
        if problems:
            raise SystemExit("bodies without a place:\n  " + "\n  ".join(problems))
        app = create_app({**env, "DOTENV_PATH": None})
        senders = burst_senders(app)
        probe_ids = make_incidents(app, PROBE_WARMUP + args.verifies, first_ring=2) \
            if probe else []
        url = f"http://127.0.0.1:{port}/twilio/sms"
        data = workdir / "burst.txt"
        sids = write_burst(data, settings, url, auth_token, args.messages, senders)
        out["senders"] = len(set(senders[k % len(senders)] for k in range(len(sids))))
        print(f"{len(sids)} signed webhooks written ({len(REPORT_BODIES)} bodies, every one "
              f"with a place; {out['senders']} From numbers, none a responder's)"
              + (f"; {len(probe_ids)} incidents made for the verify probe" if probe else ""),
              flush=True)

        workers = [Worker.start(env, workdir, f"worker{i}") for i in range(workers_n)]
        wait_for_workers(rclient, workers_n, workers)
        background = wait_for_quiet(args.quiet_wait)
        proc = start_server(args, server, workdir)
        print(f"burst: {args.messages} webhooks at {args.connections} connections, "
              f"{workers_n} RQ workers (other load before: {100 * background:.0f}%) ...",
              flush=True)

        roots = {"gunicorn": [proc.pid], "rq workers": [w.process.pid for w in workers]}
        cpu0, busy0 = cpu_groups(roots), cpu_ticks_total()
        poller = Poller(dbname, args.messages)
        poller.start()
        run, wrk_cmd = run_wrk_count(lua, data, port, args.connections, args.limit)
        cpu_web = cpu_groups(roots)
        print(f"  webhooks: {run.rps:.0f} req/s over {run.seconds:.1f} s, p50 {run.p50_ms:.0f} "
              f"ms, p99 {run.p99_ms:.0f} ms, errors {run.non200 + run.socket_errors}",
              flush=True)
        verifies: list[dict] = []
        prober = None
        if probe:  # a dispatcher verifying while the backlog drains
            def verify_all() -> None:
                rows, _ = page_latency(app, standin, probe_ids, PROBE_WARMUP, wait=15)
                verifies.extend(rows)
            prober = threading.Thread(target=verify_all, daemon=True)
            prober.start()
        poller.join(max(1.0, args.limit - (time.time() - run.first_at)))
        poller.stop.set()
        cpu1, busy1 = cpu_groups(roots), cpu_ticks_total()
        if prober is not None:
            prober.join(60 + 16 * len(probe_ids))
        if poller.finished_at is None:
            print("  WARNING: not all messages were triaged within the limit", flush=True)
        triaged_at = poller.finished_at or time.time()
        settled = outbound_settled(dbname, 60)
        time.sleep(0.5)
        tally: dict[str, int] = {}
        results = checks(dbname, sids, run, standin, rclient, tally)
        results.append(("all triaged within the limit", poller.finished_at is not None))
        results.append(("outbound SMS settled (none queued or sending)", settled))
        if probe:
            measured = [r for r in verifies if not r["warmup"]]
            during = [r for r in measured if r["t0"] < triaged_at]
            lat = [r["latency"] for r in measured if r["latency"] is not None]
            out["verify"] = {"measured": len(measured), "during": len(during),
                             "paged": len(lat), "p50": percentile(lat, 50),
                             "p95": percentile(lat, 95), "max": max(lat, default=float("nan"))}
            results.append((f"every verify paged the lawyer ({len(lat)} of {len(measured)})",
                            len(lat) == len(measured) == args.verifies))
            results.append((f"verify -> page p95 {1e3 * out['verify']['p95']:.0f} ms < "
                            f"{1e3 * TARGET_VERIFY_S:.0f} ms", out["verify"]["p95"]
                            < TARGET_VERIFY_S))
        if in_process:
            print("in-process: the same webhooks stored in a database of their own, their "
                  "triage jobs run in this process ...", flush=True)
            redis_ip, rclient_ip, _ = empty_redis_db(args.redis_db + 1)
            env_ip = hotline_env(f"{dbname}_inprocess", redis_ip, workdir, port, auth_token,
                                 account_sid, TWILIO_API_BASE_URL=standin.url,
                                 TWILIO_FROM_NUMBER=HOTLINE_NUMBER, HOTLINE_SENDER_RATE="1000",
                                 SECRET_KEY=env["SECRET_KEY"],
                                 HOTLINE_PII_KEY=env["HOTLINE_PII_KEY"])
            try:
                out["inprocess"] = in_process_cost(args, data.read_text().splitlines(), env_ip,
                                                   workdir)
            finally:
                rclient_ip.flushdb()
            results.append((f"in-process: every message triaged ({out['inprocess']['untriaged']}"
                            " not)", out["inprocess"]["untriaged"] == 0))
            print(f"  {1e3 * out['inprocess']['cpu_s'] / len(sids):.1f} ms of CPU per message "
                  f"({out['inprocess']['wall_s']:.1f} s)", flush=True)

        out.update(stats={
            "incidents": pg_scalar(dbname, "SELECT count(*) FROM incidents") - len(probe_ids),
            "held": pg_scalar(dbname, "SELECT count(*) FROM incidents WHERE "
                                      "coalesce(flags->>'flood', 'false') <> 'false' OR "
                                      "coalesce(flags->>'denunciation', 'false') <> 'false'"),
            "verifying": pg_scalar(dbname, "SELECT count(*) FROM incidents "
                                           "WHERE status = 'verifying'"),
            "jurisdictions": pg_scalar(dbname, "SELECT count(DISTINCT jurisdiction_id) FROM "
                                               "reports WHERE jurisdiction_id IS NOT NULL "
                                               "AND reporter_id IS NOT NULL"),
            "outbound": pg_scalar(dbname, "SELECT count(*) FROM messages "
                                          "WHERE direction = 'outbound'"),
            "creates": len(standin.creates()),
        })
        out.update(run=run, wrk_cmd=wrk_cmd, sids=sids, poller=poller, triaged_at=triaged_at,
                   wall=triaged_at - run.first_at, results=results, background=background,
                   cpu={k: cpu1[k] - cpu0[k] for k in cpu0},
                   web_cpu={k: cpu_web[k] - cpu0[k] for k in cpu0},
                   busy=(busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]),
                   lost=tally["lost"], duplicated=tally["duplicated"],
                   elapsed=time.monotonic() - t0)
        return out
    finally:
        if app is not None:
            db.state(app).engine.dispose()
        if proc is not None:
            stop_server(proc)
        for worker in workers:
            worker.stop()
        standin.stop()
        clean_up(args, [dbname] if created else [], rclient, workdir, f"database {dbname}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--messages", "--requests", dest="messages", type=int, default=5000,
                        help="signed SMS webhooks in the burst")
    parser.add_argument("--connections", type=int, default=32)
    add_server_args(parser)
    parser.add_argument("--rq-workers", type=int, default=2, help="`hotline worker` processes")
    parser.add_argument("--verifies", type=int, default=20,
                        help="dispatcher verifies timed while the burst drains (0: none)")
    parser.add_argument("--no-in-process", action="store_true",
                        help="skip the in-process row (the job function in this process)")
    parser.add_argument("--scale-out", metavar="N,N,...",
                        help="run the burst once per worker count (e.g. 1,2,4) and print "
                             "messages/s for each, instead of the single run")
    parser.add_argument("--redis-db", type=int, default=11,
                        help="Redis db of the run (the in-process row uses the next one)")
    parser.add_argument("--quiet-wait", type=float, default=30,
                        help="seconds to wait for other CPU load to go before the burst")
    parser.add_argument("--limit", type=float, default=1800,
                        help="seconds the burst and its triage may take in all")
    add_run_args(parser, RESULTS)
    args = parser.parse_args()

    require_wrk()
    redis_url, rclient, redis_version = empty_redis_db(args.redis_db)
    auth_token, account_sid = twilio_credentials()
    if args.scale_out:
        counts = [int(x) for x in args.scale_out.split(",") if x.strip()]
        runs = [run_burst(args, n, auth_token, account_sid, redis_url, rclient, probe=False,
                          in_process=False) for n in counts]
        text = scale_report(args, runs, redis_version)
        publish(text, SCALE_RESULTS, not args.no_write)
        return 0 if all(ok for r in runs for _, ok in r["results"]) else 1
    out = run_burst(args, args.rq_workers, auth_token, account_sid, redis_url, rclient,
                    probe=args.verifies > 0, in_process=not args.no_in_process)
    text = report(args, out, redis_version)
    publish(text, RESULTS, not args.no_write)
    return 0 if all(ok for _, ok in out["results"]) else 1


def scale_report(args, runs: list[dict], redis_version: str) -> str:  # noqa: ANN001
    """The scale-out table: one row per worker count, and its RESULT line."""
    lines = [f"Burst scale-out, {runs[0]['started']:%Y-%m-%d %H:%M:%S %Z}",
             f"command:  {command_line()}",
             f"server:   gunicorn {gunicorn_settings(args, 'hotline:create_app()')}",
             machine_line(redis_version, "wrk, gunicorn, workers, PostgreSQL and Redis"), ""]
    head = (f"{'workers':>8}{'webhook s':>11}{'triaged s':>11}{'ratio':>7}{'msgs/s':>9}"
            f"{'worker ms/msg':>15}{'pg ms/msg':>11}{'cores busy':>12}{'checks':>8}")
    lines += [head, "-" * len(head)]
    for r in runs:
        n = len(r["sids"])
        answered = r["run"].last_at - r["run"].first_at
        ok = all(ok for _, ok in r["results"])
        lines.append(f"{r['workers']:>8}{answered:>11.1f}{r['wall']:>11.1f}"
                     f"{r['wall'] / answered:>7.2f}{n / r['wall']:>9.1f}"
                     f"{1e3 * r['cpu']['rq workers'] / n:>15.1f}"
                     f"{1e3 * r['cpu']['postgres'] / n:>11.1f}{100 * r['busy']:>11.0f}%"
                     f"{'ok' if ok else 'FAIL':>8}")
    lines.append("(msgs/s: messages / time from the first request to the last triaged)")
    for r in runs:
        for name, ok in r["results"]:
            if not ok:
                lines.append(f"  FAIL ({r['workers']} workers) {name}")
    lines.append("")
    lines.append("RESULT " + " ".join(
        f"workers_{r['workers']}_msgs_per_s={len(r['sids']) / r['wall']:.1f}" for r in runs)
        + " " + " ".join(f"workers_{r['workers']}_ratio="
                         f"{r['wall'] / (r['run'].last_at - r['run'].first_at):.2f}"
                         for r in runs))
    return "\n".join(lines) + "\n"


def report(args, out: dict, redis_version: str) -> str:  # noqa: ANN001
    """The run's report: tables, checks and the RESULT line."""
    run, wrk_cmd, sids, poller = out["run"], out["wrk_cmd"], out["sids"], out["poller"]
    wall, stats, cpu, web_cpu = out["wall"], out["stats"], out["cpu"], out["web_cpu"]
    busy, background, results = out["busy"], out["background"], out["results"]
    started, elapsed, dbname = out["started"], out["elapsed"], out["dbname"]
    n = len(sids)
    lines = [f"Burst benchmark, {started:%Y-%m-%d %H:%M:%S %Z} ({elapsed:.0f} s in all)"]
    lines.append(f"command:  {command_line()}")
    lines.append(f"server:   gunicorn {gunicorn_settings(args, 'hotline:create_app()')}")
    lines.append(f"workers:  {out['workers']} x `hotline worker` (RQ SimpleWorker: jobs in the "
                 "warmed process; scheduler, outbox sweeper; queues in priority order)")
    lines.append(f"outbound: real twilio client -> TwilioStandIn in the benchmark process "
                 f"(TWILIO_API_BASE_URL), TWILIO_FROM_NUMBER={HOTLINE_NUMBER}, "
                 f"HOTLINE_SENDER_RATE=1000")
    lines.append(f"client:   {shlex.join(['wrk'] + wrk_cmd[1:]).replace(str(ROOT) + '/', '')}"
                 .replace(dbname, "<db>"))
    lines.append(f"          (Lua: each of {n} pre-signed webhooks sent once, stop when all are "
                 f"answered; {len(REPORT_BODIES)} en/es bodies, each a complete report with a "
                 f"place; {out['senders']} From numbers, none a responder's, 2-3 messages "
                 "each)")
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
    lines.append("  (postgres includes backends that exited)")
    worker_ms = 1e3 * cpu["rq workers"] / n
    inprocess_ms = None
    if "inprocess" in out:
        ip = out["inprocess"]
        inprocess_ms = 1e3 * ip["cpu_s"] / ip["jobs"]
        lines.append("")
        lines.append("the same job function in one process (the in-process cost): the same "
                     f"{ip['jobs']} webhooks stored untimed in a database of their own on the "
                     "same server, then `workers.triage.triage_message` run for each, one after "
                     "another:")
        lines.append(f"  CPU of that process   {inprocess_ms:6.1f} ms/msg   "
                     f"({ip['wall_s']:.1f} s wall, {ip['jobs'] / ip['wall_s']:.0f} messages/s)")
        lines.append(f"  rq workers in the burst {worker_ms:4.1f} ms/msg   = "
                     f"{worker_ms / inprocess_ms:.2f}x the in-process cost "
                     f"(target <= {TARGET_CPU_RATIO}x)")
    if "verify" in out:
        v = out["verify"]
        lines.append("")
        lines.append(f"a dispatcher's verify while the burst drains ({v['measured']} verifies of "
                     f"incidents made before the burst, one after another from the last webhook "
                     f"answered; {v['during']} of them before the last message was triaged; "
                     f"+{PROBE_WARMUP} warm-up): verify -> the lawyer's page at the stand-in")
        lines.append(f"  p50 {1e3 * v['p50']:.0f} ms   p95 {1e3 * v['p95']:.0f} ms   max "
                     f"{1e3 * v['max']:.0f} ms   (target p95 < {1e3 * TARGET_VERIFY_S:.0f} ms)")
    lines.append("")
    lines.append(f"what the burst became: {stats['incidents']} incidents in "
                 f"{stats['jurisdictions']} jurisdictions ({stats['held']} held by the flood or "
                 f"denunciation flags, {stats['verifying']} verifying); {stats['outbound']} "
                 f"outbound SMS, {stats['creates']} create requests at the stand-in")
    lines.append("")
    ratio = wall / answered_at
    results = [*results, (f"last triaged within {TARGET_RATIO}x the last webhook answered "
                          f"({ratio:.2f}x)", ratio <= TARGET_RATIO)]
    if inprocess_ms is not None:
        results.append((f"workers' CPU per message within {TARGET_CPU_RATIO}x the in-process cost "
                        f"({worker_ms / inprocess_ms:.2f}x)",
                        worker_ms <= TARGET_CPU_RATIO * inprocess_ms))
    lines.append("checks:")
    lines.extend(check_lines(results))
    lines.append("")
    fields_ = {"messages": n, "workers": out["workers"], "webhook_s": f"{answered_at:.1f}",
               "triaged_s": f"{wall:.1f}", "ratio": f"{ratio:.2f}",
               "worker_cpu_ms": f"{worker_ms:.1f}",
               "inprocess_cpu_ms": f"{inprocess_ms:.1f}" if inprocess_ms else "nan",
               "gunicorn_cpu_ms": f"{1e3 * cpu['gunicorn'] / n:.1f}",
               "postgres_cpu_ms": f"{1e3 * cpu['postgres'] / n:.1f}",
               "lost": out["lost"], "duplicated": out["duplicated"],
               "verify_p95_ms": f"{1e3 * out['verify']['p95']:.0f}" if "verify" in out
               else "nan",
               "checks_failed": sum(1 for _, ok in results if not ok)}
    lines.append("RESULT " + " ".join(f"{k}={v}" for k, v in fields_.items()))
    out["results"] = results
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
