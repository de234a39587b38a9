"""Load benchmark of the SMS webhook against its ceiling and its floor, in one run.

    .venv/bin/python benchmarks/webhook.py     # about 2 minutes; writes results/webhook.txt
    .venv/bin/python benchmarks/webhook.py --rounds 6 --seconds 10    # (b), (c) alternating

Three endpoints, one after another, each served by gunicorn with the same settings (the Procfile's
`web` line: 2 gthread workers x 4 threads, access log on), the same PostgreSQL and the same Redis:

  (a) ceiling  bare Flask answering a fixed TwiML string           (benchmarks/floor_app.py)
  (b) floor    Twilio signature check + one committed INSERT into a table of its own
               + one RQ enqueue: the work a durable webhook cannot avoid (benchmarks/floor_app.py)
  (c) hotline  the real `POST /twilio/sms` (create_app against a freshly migrated database with the
               demo config loaded, RQ on a Redis db of its own)

Every request is a distinct Twilio SMS webhook (unique MessageSid, several From numbers, English
and Spanish bodies) built and signed with `hotline.simulate` before the clock starts, for the URL
the server checks signatures against.

Load generator: wrk (Debian package `wrk`), one thread, 16 keep-alive connections, a Lua script
that reads the pre-signed requests from a file in `init` (before wrk's clock starts) and hands out
the next one on every `request()`. Why wrk and not Python: the machine has 2 cores shared by the
client, gunicorn, PostgreSQL and Redis. A Python client spends tens of microseconds of CPU (and
GIL time) per request, which would be taken from the server and would add its own scheduling
delay to every latency sample; wrk's C event loop costs a few microseconds per request and
timestamps in the loop that does the I/O, so its numbers stay trustworthy at the ceiling's rate.
wrk is closed-loop (16 requests in flight at most), so latency percentiles are those of a
saturated server at 16 connections, not of a fixed arrival rate: by Little's law the mean latency
is 16 / throughput, so no server this machine can run answers 16 saturating connections in a
p99 under 50 ms unless it sustains well over 500 requests/s. A second, unsaturated run of (b)
and (c) keeps the same 16 connections but has each wait a random think time (exponential, mean
16 / `--paced-rate` seconds) before every request: about 200 requests/s offered, 12,000 texts a
minute, far beyond any hotline's real peak. Its percentiles are what a sender waits when the
server is busy but not overrun.

With `--rounds N`, (b) and (c) are served side by side (each idle while the other is measured)
and measured in N alternating runs of `--seconds` each (b c, c b, b c, ...); (c)/(b) is then the
median of the N rounds' own ratios. This VM's speed drifts by up to 2x within minutes, which one
run of each, minutes apart, mistakes for a difference between the two.

wrk runs for a fixed time: `--warmup` seconds (discarded), then `--seconds` measured. The Lua
script counts what it sent and every status it got; after (b) and (c) the database and the queue
are checked: every answer was 200, and the stored rows, the outbox rows and the RQ jobs equal the
number of distinct MessageSids sent (requests still in flight when wrk stops are finished by the
server and are counted as sent).

Everything it creates is removed at the end: servers stopped, both benchmark databases dropped,
the Redis db flushed (it refuses to start if that db is not empty).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import (  # noqa: E402
    PG,
    ROOT,
    SENDERS,
    add_run_args,
    base_env,
    check_lines,
    clean_up,
    command_line,
    empty_redis_db,
    free_port,
    hotline_env,
    machine_line,
    migrate,
    pg_admin,
    pg_scalar,
    publish,
    twilio_credentials,
    write_webhooks,
)
from benchmarks._processes import (  # noqa: E402
    Server,
    add_server_args,
    child_cpu_seconds,
    cpu_ticks_total,
    gunicorn_settings,
    proc_ticks,
    start_server,
    stop_server,
    wait_for_quiet,
)
from benchmarks._wrk import (  # noqa: E402
    LUA_REQUESTS,
    WrkRun,
    require_wrk,
    wrk_result,
)

RESULTS = ROOT / "benchmarks" / "results" / "webhook.txt"
BODIES = [
    "ICE at the Home Depot on Western and 47th, 3 vans, agents in vests",
    "la migra en la esquina de la 26 y Pulaski, dos camionetas negras",
    "agents knocking on doors on 18th st in Pilsen right now",
    "Hay agentes afuera de la escuela en Mission y 24, están pidiendo papeles",
    "checkpoint on Atlantic Ave near Nostrand, unmarked SUVs",
    "vi 4 agentes de inmigración en el estacionamiento del Walmart de Little Village",
    "ICE arresting people outside the laundromat on Broadway and 110th",
    "ayuda, están tocando la puerta en mi edificio en Roosevelt Ave, Queens",
]
TARGET_FLOOR_RATIO = 0.9  # (c)/(b), by requests/s and by CPU per request
TARGET_P99_VS_FLOOR = 1.2  # p99 of (c) at most this times the floor's, same run
TARGET_P99_MS = 50.0  # the unsaturated p99
PACED_RATE = 200  # requests/s offered in the paced run: 12,000 texts a minute

# LUA_REQUESTS, then: hand out the next request on every `request()`, from the first again
# (counted in `wrapped`) if the file runs out.
LUA = LUA_REQUESTS + r"""
local i = 0
wrapped = 0

function init(args)
  if args[3] then think = tonumber(args[3]) end
  read_requests(args)
end

function request()
  -- wrk 4.1 calls request() once before the run to check the script (script_verify_request):
  -- that call sends nothing, so it neither counts nor uses up a MessageSid.
  if not verified then verified = true; return reqs[1] end
  i = i + 1
  if i > n then i = 1; wrapped = wrapped + 1 end
  sent = sent + 1
  return reqs[i]
end

function response(status, headers, body) tally(status) end

-- PACED: each connection waits a random think time (exponential, mean args[3] ms) before
-- each request, so 16 connections offer about 16000 / mean requests/s instead of saturating.
--PACED think = 0
--PACED function delay() return math.floor(-think * math.log(1 - math.random())) end

function done(summary, latency, requests)
  write_result(summary, latency, string.format(', "duration_us": %d, "wrapped": %d',
                                               summary.duration, threads[1]:get("wrapped")))
end
"""


@dataclass
class Run(WrkRun):
    """One wrk run of a fixed time."""

    seconds: float
    wrapped: int
    cpu_busy: float = 0.0  # share of both cores busy during the run
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU ms per answered request

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def capacity(self) -> float:
        """req/s if the cores did nothing else: cores / CPU per request (server+db+redis+wrk)."""
        per_request = sum(self.cpu_ms.values())
        return (os.cpu_count() or 1) * 1000 / per_request if per_request else 0.0

    @property
    def errors(self) -> int:
        return self.non200 + self.socket_errors


@dataclass
class Endpoint(Server):
    """One of the three servers under test."""

    warmup: Run | None = None
    measured: Run | None = None
    paced: Run | None = None  # 16 connections with think time: PACED_RATE offered, unsaturated
    rounds: list[Run] = field(default_factory=list)  # --rounds: the alternating measured runs
    sids: list[str] = field(default_factory=list)  # in the order they were sent
    checks: list[tuple[str, bool]] = field(default_factory=list)
    background: float = 0.0  # share of the cores busy with other work just before the server

    def runs(self) -> list[Run]:
        """Every wrk run of this endpoint, in order."""
        return [r for r in (self.warmup, *(self.rounds or [self.measured]), self.paced)
                if r is not None]


# -- CPU and requests -----------------------------------------------------------------------

def group_ticks(snapshot: dict[int, tuple[int, str, int]], server_pid: int) -> dict[str, int]:
    """CPU jiffies of the server (gunicorn master and workers), PostgreSQL and Redis."""
    groups = {"server": 0, "postgres": 0, "redis": 0}
    for pid, (ppid, comm, ticks) in snapshot.items():
        if pid == server_pid or ppid == server_pid:
            groups["server"] += ticks
        elif comm.startswith("postgres"):
            groups["postgres"] += ticks
        elif comm.startswith("redis-server"):
            groups["redis"] += ticks
    return groups


def write_requests(path: Path, settings, url: str, auth_token: str, count: int,  # noqa: ANN001
                   start: int) -> list[str]:
    """`count` distinct signed SMS webhooks for `url`, one per line; returns their SIDs."""
    return write_webhooks(path, settings, url, auth_token,
                          ((SENDERS[(k * 7 + k // len(BODIES)) % len(SENDERS)],
                            BODIES[k % len(BODIES)]) for k in range(start, start + count)))


def run_wrk(args: argparse.Namespace, ep: Endpoint, lua: Path, data: Path, seconds: float,
            server_pid: int, think_ms: float | None = None) -> Run:
    cmd = ["wrk", "-t1", f"-c{args.connections}", f"-d{int(seconds)}s", "--timeout", "10s",
           "-s", str(lua), f"http://127.0.0.1:{ep.port}/twilio/sms", "--", str(data),
           f"127.0.0.1:{ep.port}"] + ([f"{think_ms:.3f}"] if think_ms is not None else [])
    busy0, total0 = cpu_ticks_total()
    groups0 = group_ticks(proc_ticks(), server_pid)
    child0 = child_cpu_seconds()
    done = subprocess.run(cmd, capture_output=True, text=True)
    child1 = child_cpu_seconds()
    groups1 = group_ticks(proc_ticks(), server_pid)
    busy1, total1 = cpu_ticks_total()
    raw = wrk_result(done.stdout)
    if done.returncode or raw is None:
        raise SystemExit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    run = Run(**WrkRun.fields(raw), seconds=raw["duration_us"] / 1e6, wrapped=raw["wrapped"])
    hz = os.sysconf("SC_CLK_TCK")
    run.cpu_busy = (busy1 - busy0) / max(1, total1 - total0)
    answered = max(1, run.requests)
    run.cpu_ms = {name: (groups1[name] - groups0[name]) / hz * 1e3 / answered
                  for name in groups0}
    run.cpu_ms["wrk"] = (child1 - child0) * 1e3 / answered
    return run


# -- the benchmark --------------------------------------------------------------------------

def measure(args: argparse.Namespace, ep: Endpoint, settings, auth_token: str,  # noqa: ANN001
            workdir: Path, lua: Path, paced_lua: Path) -> None:
    url = f"http://127.0.0.1:{ep.port}/twilio/sms"
    warm_data = workdir / f"{ep.key}-warmup.txt"
    ep.sids = write_requests(warm_data, settings, url, auth_token,
                             int(args.warmup * args.max_rate) + 1000, 0)
    ep.background = wait_for_quiet(args.quiet_wait)
    proc = start_server(args, ep, workdir)
    try:
        ep.warmup = run_wrk(args, ep, lua, warm_data, args.warmup, proc.pid)
        # size the measured pool on the warm rate, with room to spare; wrapping is reported
        count = int(ep.warmup.rps * args.seconds * 2) + 2000
        data = workdir / f"{ep.key}-measure.txt"
        sids = write_requests(data, settings, url, auth_token, count, len(ep.sids))
        time.sleep(1)  # let the in-flight tail of the warm-up and the signing settle
        ep.measured = run_wrk(args, ep, lua, data, args.seconds, proc.pid)
        paced_sids: list[str] = []
        if args.paced_seconds and ep.key != "a":
            paced_data = workdir / f"{ep.key}-paced.txt"
            paced_sids = write_requests(paced_data, settings, url, auth_token,
                                        int(args.paced_rate * args.paced_seconds * 2) + 1000,
                                        len(ep.sids) + len(sids))
            time.sleep(1)
            ep.paced = run_wrk(args, ep, paced_lua, paced_data, args.paced_seconds, proc.pid,
                               think_ms=args.connections * 1000 / args.paced_rate)
    finally:
        stop_server(proc)
    ep.sids = (ep.sids[:min(ep.warmup.sent, len(ep.sids))]
               + sids[:min(ep.measured.sent, len(sids))])
    if ep.paced is not None:
        ep.sids += paced_sids[:min(ep.paced.sent, len(paced_sids))]


def combined(runs: list[Run]) -> Run:
    """The rounds of one endpoint as one run: their answers and CPU added up, the median of
    each latency percentile."""
    answered = sum(r.requests for r in runs)
    cpu = {name: sum(r.cpu_ms[name] * r.requests for r in runs) / max(1, answered)
           for name in runs[0].cpu_ms}
    return Run(requests=answered, p50_ms=statistics.median(r.p50_ms for r in runs),
               p90_ms=statistics.median(r.p90_ms for r in runs),
               p99_ms=statistics.median(r.p99_ms for r in runs),
               max_ms=max(r.max_ms for r in runs), sent=sum(r.sent for r in runs),
               ok=sum(r.ok for r in runs), non200=sum(r.non200 for r in runs),
               socket_errors=sum(r.socket_errors for r in runs),
               codes=" ".join(r.codes for r in runs), seconds=sum(r.seconds for r in runs),
               wrapped=sum(r.wrapped for r in runs),
               cpu_busy=statistics.mean(r.cpu_busy for r in runs), cpu_ms=cpu)


def measure_rounds(args: argparse.Namespace, pair: list[Endpoint], settings,  # noqa: ANN001
                   auth_token: str, workdir: Path, lua: Path, paced_lua: Path) -> None:
    """(b) and (c) served side by side and measured in `--rounds` alternating runs (b c, c b,
    ...), so that both see the same machine: this VM's speed drifts by up to 2x within
    minutes, which one run of each, one after the other, mistakes for a difference."""
    procs: dict[str, subprocess.Popen] = {}
    urls = {ep.key: f"http://127.0.0.1:{ep.port}/twilio/sms" for ep in pair}
    offset = {ep.key: 0 for ep in pair}
    pools: dict[Path, list[str]] = {}  # each request file's MessageSids, in order

    def requests_for(ep: Endpoint, name: str, count: int) -> Path:
        data = workdir / f"{ep.key}-{name}.txt"
        sids = write_requests(data, settings, urls[ep.key], auth_token, count, offset[ep.key])
        offset[ep.key] += count
        pools[data] = sids
        return data

    try:
        for ep in pair:
            warm = requests_for(ep, "warmup", int(args.warmup * args.max_rate) + 1000)
            ep.background = wait_for_quiet(args.quiet_wait)
            procs[ep.key] = start_server(args, ep, workdir)
            ep.warmup = run_wrk(args, ep, lua, warm, args.warmup, procs[ep.key].pid)
            ep.sids += pools[warm][:ep.warmup.sent]
        size = int(max(ep.warmup.rps for ep in pair if ep.warmup) * args.seconds * 2) + 2000
        # every round's requests signed before the first round starts: signing takes CPU
        plan = [[(ep, requests_for(ep, f"round{n}", size)) for ep in (pair if n % 2 == 0
                 else pair[::-1])] for n in range(args.rounds)]
        time.sleep(1)
        for n, round_ in enumerate(plan, start=1):
            for ep, data in round_:
                run = run_wrk(args, ep, lua, data, args.seconds, procs[ep.key].pid)
                ep.rounds.append(run)
                ep.sids += pools[data][:min(run.sent, len(pools[data]))]
            b, c = (ep.rounds[-1] for ep in pair)
            print(f"  round {n}: (b) {b.rps:.0f} req/s, (c) {c.rps:.0f} req/s; (c)/(b) "
                  f"{c.rps / b.rps:.2f} by requests, {c.capacity / b.capacity:.2f} by CPU",
                  flush=True)
        for ep in pair:
            ep.measured = combined(ep.rounds)
            if args.paced_seconds:
                data = requests_for(ep, "paced", int(args.paced_rate * args.paced_seconds * 2)
                                    + 1000)
                time.sleep(1)
                ep.paced = run_wrk(args, ep, paced_lua, data, args.paced_seconds,
                                   procs[ep.key].pid,
                                   think_ms=args.connections * 1000 / args.paced_rate)
                ep.sids += pools[data][:min(ep.paced.sent, len(pools[data]))]
    finally:
        for proc in procs.values():
            stop_server(proc)


def round_ratios(b: Endpoint, c: Endpoint) -> dict[str, float]:
    """Medians over the rounds of (c)/(b): by requests/s, by CPU, at p99."""
    pairs = list(zip(b.rounds, c.rounds, strict=True))
    return {"rps": statistics.median(y.rps / x.rps for x, y in pairs),
            "cpu": statistics.median(y.capacity / x.capacity for x, y in pairs),
            "p99": statistics.median(y.p99_ms / x.p99_ms for x, y in pairs)}


def verify(ep: Endpoint, dbname: str, table: str, redis_client, queue: str,  # noqa: ANN001
           args: argparse.Namespace) -> None:
    runs = ep.runs()
    distinct = len(set(ep.sids))
    answered = sum(r.ok + r.non200 for r in runs)
    unanswered = sum(r.sent for r in runs) - answered
    ep.checks.append(("every answer was 200", all(r.non200 == 0 for r in runs)))
    ep.checks.append(("no socket errors or timeouts", all(r.socket_errors == 0 for r in runs)))
    ep.checks.append(("every request was a distinct MessageSid (no pool wrap)",
                      all(r.wrapped == 0 for r in runs) and distinct == len(ep.sids)))
    ep.checks.append((f"unanswered only because in flight when wrk stopped "
                      f"({unanswered} <= {len(runs) * args.connections})",
                      0 <= unanswered <= len(runs) * args.connections))
    stored = pg_scalar(dbname, f"SELECT count(DISTINCT twilio_sid) FROM {table}")
    ep.checks.append((f"stored {table} ({stored}) == distinct MessageSids sent ({distinct})",
                      stored == distinct))
    if table == "messages":
        outbox = pg_scalar(dbname, "SELECT count(*) FROM outbox_jobs")
        ep.checks.append((f"outbox rows ({outbox}) == stored messages", outbox == stored))
    jobs = redis_client.llen(f"rq:queue:{queue}")
    ep.checks.append((f"RQ jobs on '{queue}' ({jobs}) == stored rows", jobs == stored))


def latency_row(label: str, r: Run | None) -> str:
    """One endpoint's line of a latency table."""
    assert r is not None
    return (f"{label:<26}{r.rps:>9.0f}{r.p50_ms:>9.2f}{r.p90_ms:>9.2f}{r.p99_ms:>9.2f}"
            f"{r.max_ms:>9.1f}{r.errors:>8}{r.requests:>10}")


def report(args: argparse.Namespace, endpoints: list[Endpoint], settings_line: str,
           started: datetime, elapsed: float) -> str:
    a, b, c = endpoints
    lines = []
    lines.append(f"Webhook benchmark, {started:%Y-%m-%d %H:%M:%S %Z} ({elapsed:.0f} s)")
    lines.append(f"command:  {command_line()}")
    lines.append(f"server:   {settings_line}")
    lines.append(f"client:   wrk -t1 -c{args.connections} (keep-alive), warm-up {args.warmup:g} s, "
                 f"measured {args.seconds:g} s per endpoint; every request a distinct signed "
                 f"Twilio SMS webhook ({len(SENDERS)} From numbers, en/es bodies)")
    lines.append(machine_line(args.redis_version, "client, server, PostgreSQL and Redis"))
    lines.append("")
    head = (f"{'endpoint':<26}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'errors':>8}{'answered':>10}")
    lines.append(head)
    lines.append("-" * len(head))
    lines.extend(latency_row(ep.label, ep.measured) for ep in endpoints)
    lines.append("")
    lines.append("CPU per answered request (ms; both cores busy "
                 "= 2000 ms per second of wall time):")
    lines.append(f"{'endpoint':<26}{'busy %':>8}{'server':>9}{'postgres':>9}{'redis':>8}"
                 f"{'wrk':>7}{'other load before %':>21}{'CPU-bound req/s':>17}")
    for ep in endpoints:
        r = ep.measured
        assert r is not None
        lines.append(f"{ep.label:<26}{100 * r.cpu_busy:>8.0f}{r.cpu_ms['server']:>9.3f}"
                     f"{r.cpu_ms['postgres']:>9.3f}{r.cpu_ms['redis']:>8.3f}"
                     f"{r.cpu_ms['wrk']:>7.3f}{100 * ep.background:>21.0f}{r.capacity:>17.0f}")
    lines.append("(CPU-bound req/s = cores x 1000 / CPU ms per request of server, PostgreSQL, "
                 "Redis and wrk: what the\n cores would sustain with nothing else running; it does "
                 "not move with other load, req/s does.)")
    noisy = [ep.key for ep in endpoints if ep.background > 0.15]
    if noisy:
        lines.append(f"WARNING: other processes were using the cores before ({', '.join(noisy)}); "
                     "req/s and latency of those rows are depressed.")
    lines.append("")
    ra, rb, rc = a.measured.rps, b.measured.rps, c.measured.rps  # type: ignore[union-attr]
    ca, cb, cc = (e.measured.capacity for e in endpoints)  # type: ignore[union-attr]
    p99_b, p99_c = b.measured.p99_ms, c.measured.p99_ms  # type: ignore[union-attr]
    # (c)/(b): of the one run of each, or the median of the rounds' own ratios
    ratios = round_ratios(b, c) if c.rounds else {
        "rps": rc / rb, "cpu": cc / cb, "p99": p99_c / p99_b}
    if c.rounds:
        lines.append(f"{len(c.rounds)} rounds of {args.seconds:g} s, (b) and (c) alternating "
                     "(b c, c b, ...) on servers running side by side:")
        lines.append(f"{'round':<7}{'(b) req/s':>10}{'(c) req/s':>10}{'by requests':>13}"
                     f"{'by CPU':>8}{'(b) p99':>9}{'(c) p99':>9}{'p99 ratio':>11}")
        for n, (x, y) in enumerate(zip(b.rounds, c.rounds, strict=True), start=1):
            lines.append(f"{n:<7}{x.rps:>10.0f}{y.rps:>10.0f}{y.rps / x.rps:>13.2f}"
                         f"{y.capacity / x.capacity:>8.2f}{x.p99_ms:>9.1f}{y.p99_ms:>9.1f}"
                         f"{y.p99_ms / x.p99_ms:>11.2f}")
        lines.append(f"{'median':<27}{ratios['rps']:>13.2f}{ratios['cpu']:>8.2f}"
                     f"{'':>18}{ratios['p99']:>11.2f}")
        lines.append("(the first table adds the rounds up; its p50/p90/p99 are the medians of "
                     "the rounds')")
        lines.append("")
    lines.append(f"(c)/(a) requests/s: {rc / ra:.2f}")
    lines.append(f"(c)/(b) requests/s: {ratios['rps']:.2f}")
    lines.append(f"same ratios from CPU per request (load-independent): (c)/(a) {cc / ca:.2f}, "
                 f"(c)/(b) {ratios['cpu']:.2f}")
    lines.append(f"target (c)/(b) >= {TARGET_FLOOR_RATIO} by requests/s: "
                 f"{'met' if ratios['rps'] >= TARGET_FLOOR_RATIO else 'NOT MET'} "
                 f"({ratios['rps']:.2f}); by CPU: "
                 f"{'met' if ratios['cpu'] >= TARGET_FLOOR_RATIO else 'NOT MET'} "
                 f"({ratios['cpu']:.2f})")
    lines.append(f"target p99 of (c) <= {TARGET_P99_VS_FLOOR}x the floor's at "
                 f"{args.connections} connections: "
                 f"{'met' if ratios['p99'] <= TARGET_P99_VS_FLOOR else 'NOT MET'} "
                 f"({p99_c:.1f} ms against {p99_b:.1f} ms: {ratios['p99']:.2f}x)")
    paced = [ep for ep in endpoints if ep.paced is not None]
    if paced:
        lines.append("")
        lines.append(f"Unsaturated: the same {args.connections} connections, each waiting a "
                     "random think time before each request\n(exponential, mean "
                     f"{args.connections * 1000 / args.paced_rate:.0f} ms: about "
                     f"{args.paced_rate:g} requests/s offered), {args.paced_seconds:g} s on the "
                     "same server after its saturated run:")
        lines.append(head)
        lines.append("-" * len(head))
        lines.extend(latency_row(ep.label, ep.paced) for ep in paced)
        if c.paced is not None:
            lines.append(f"p99 of (c) at {args.connections} connections and "
                         f"{c.paced.rps:.0f} requests/s: {c.paced.p99_ms:.1f} ms "
                         f"({'under' if c.paced.p99_ms < TARGET_P99_MS else 'NOT under'} "
                         f"{TARGET_P99_MS:g} ms)")
    lines.append("")
    lines.append("checks (warm-up, measured and unsaturated requests together):")
    for ep in endpoints:
        lines.extend(check_lines(ep.checks, ep.key))
    lines.append("")
    cpu_b, cpu_c = b.measured.cpu_ms, c.measured.cpu_ms  # type: ignore[union-attr]
    fields_ = {"a_rps": f"{ra:.0f}", "b_rps": f"{rb:.0f}", "c_rps": f"{rc:.0f}",
               "c_b_rps": f"{ratios['rps']:.2f}", "c_b_cpu": f"{ratios['cpu']:.2f}",
               "b_p99_ms": f"{p99_b:.1f}", "c_p99_ms": f"{p99_c:.1f}",
               "c_b_p99": f"{ratios['p99']:.2f}", "rounds": len(c.rounds),
               "b_server_cpu_ms": f"{cpu_b['server']:.3f}",
               "c_server_cpu_ms": f"{cpu_c['server']:.3f}",
               "c_paced_p99_ms": f"{c.paced.p99_ms:.1f}" if c.paced is not None else "nan",
               "checks_failed": sum(1 for e in endpoints for _, ok in e.checks if not ok)}
    lines.append("RESULT " + " ".join(f"{k}={v}" for k, v in fields_.items()))
    return "\n".join(lines) + "\n"


def report_progress(ep: Endpoint) -> None:
    """One endpoint's measured figures, as they come."""
    r = ep.measured
    assert r is not None
    print(f"{ep.label}: {r.rps:.0f} req/s, p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms, "
          f"errors {r.errors} {r.codes}; CPU ms/request: server {r.cpu_ms['server']:.2f}, "
          f"postgres {r.cpu_ms['postgres']:.2f}, redis {r.cpu_ms['redis']:.2f}; cores busy "
          f"{100 * r.cpu_busy:.0f}% (other load before: {100 * ep.background:.0f}%)",
          flush=True)
    if ep.paced is not None:
        print(f"  unsaturated: {ep.paced.rps:.0f} req/s, p50 {ep.paced.p50_ms:.2f} ms, "
              f"p99 {ep.paced.p99_ms:.2f} ms, errors {ep.paced.errors}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=int, default=15, help="measured seconds per endpoint")
    parser.add_argument("--warmup", type=int, default=4, help="warm-up seconds per endpoint")
    parser.add_argument("--rounds", type=int, default=0,
                        help="measure (b) and (c) in this many alternating runs of --seconds "
                             "each, on servers running side by side; 0: one run of each, one "
                             "after the other")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--paced-rate", type=float, default=PACED_RATE,
                        help="requests/s the unsaturated run offers over the same connections")
    parser.add_argument("--paced-seconds", type=int, default=10,
                        help="seconds of the unsaturated run of (b) and (c); 0 skips it")
    add_server_args(parser)
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--max-rate", type=float, default=5000,
                        help="requests/s the warm-up pool is sized for")
    parser.add_argument("--only", choices=["ceiling", "floor", "hotline"], action="append",
                        help="run only these endpoints (no ratios); for profiling")
    parser.add_argument("--quiet-wait", type=float, default=20,
                        help="seconds to wait for other CPU load to go before each endpoint")
    parser.add_argument("--hotline-app", default="hotline:create_app()",
                        help="gunicorn APP_MODULE for (c), to measure a variant (with PYTHONPATH)")
    add_run_args(parser, RESULTS, databases="databases")
    args = parser.parse_args()

    require_wrk()
    from hotline.core.settings import load_settings

    redis_url, rclient, args.redis_version = empty_redis_db(args.redis_db)
    started = datetime.now(UTC).astimezone()
    t0 = time.monotonic()
    tag = secrets.token_hex(4)
    db_hotline, db_floor = f"bench_webhook_{tag}", f"bench_webhook_floor_{tag}"
    workdir = Path(tempfile.mkdtemp(prefix="hotline-webhook-bench-"))
    lua = workdir / "webhook.lua"
    lua.write_text(LUA)
    paced_lua = workdir / "webhook-paced.lua"
    paced_lua.write_text(LUA.replace("--PACED ", ""))
    auth_token, account_sid = twilio_credentials()
    env = base_env(auth_token, account_sid)

    ports = [free_port() for _ in range(3)]
    ceiling = Endpoint("a", "(a) ceiling: bare Flask", "benchmarks.floor_app:ceiling_app()",
                       dict(env), ports[0])
    floor = Endpoint("b", "(b) floor: sig+INSERT+RQ", "benchmarks.floor_app:floor_app()",
                     dict(env, FLOOR_DATABASE_URL=f"{PG}/{db_floor}", FLOOR_REDIS_URL=redis_url,
                          FLOOR_PUBLIC_URL=f"http://127.0.0.1:{ports[1]}"), ports[1])
    hotline = Endpoint("c", "(c) hotline /twilio/sms", args.hotline_app,
                       hotline_env(db_hotline, redis_url, workdir, ports[2], auth_token,
                                   account_sid), ports[2])
    endpoints = [ceiling, floor, hotline]
    chosen = [e for e in endpoints
              if not args.only or {"a": "ceiling", "b": "floor", "c": "hotline"}[e.key]
              in args.only]
    settings = load_settings(environ=hotline.env, dotenv_path=None)
    created: list[str] = []
    try:
        for name in (db_hotline, db_floor):
            pg_admin(f'CREATE DATABASE "{name}"')
            created.append(name)
        import psycopg

        with psycopg.connect(f"{PG}/{db_floor}") as conn:
            from benchmarks.floor_app import FLOOR_TABLE

            conn.execute(FLOOR_TABLE)
        print(migrate(hotline.env, workdir), "(demo config loaded)", flush=True)

        paired = args.rounds > 0 and floor in chosen and hotline in chosen
        for ep in chosen:
            if paired and ep is hotline:
                continue  # measured with the floor
            if paired and ep is floor:
                print(f"(b) and (c): warm-up {args.warmup:g} s each, then {args.rounds} "
                      f"alternating rounds of {args.seconds:g} s ...", flush=True)
                measure_rounds(args, [floor, hotline], settings, auth_token, workdir, lua,
                               paced_lua)
            else:
                print(f"{ep.label}: warm-up {args.warmup:g} s, measure {args.seconds:g} s ...",
                      flush=True)
                measure(args, ep, settings, auth_token, workdir, lua, paced_lua)
            for done in [floor, hotline] if paired and ep is floor else [ep]:
                report_progress(done)
                if done is floor:
                    verify(done, db_floor, "floor_messages", rclient, "floor", args)
                if done is hotline:
                    verify(done, db_hotline, "messages", rclient, "triage", args)

        settings_line = (f"gunicorn {gunicorn_settings(args, 'APP')}"
                         f"  (APP = {', '.join(e.app for e in endpoints)})")
        if len(chosen) == 3:
            text = report(args, endpoints, settings_line, started, time.monotonic() - t0)
            publish(text, RESULTS, not args.no_write)
        else:
            for ep in chosen:
                for line in check_lines(ep.checks, ep.key):
                    print(line)
        failed = [t for e in chosen for t, ok in e.checks if not ok]
        return 1 if failed else 0
    finally:
        clean_up(args, created, rclient, workdir, f"databases {created}")


if __name__ == "__main__":
    raise SystemExit(main())
