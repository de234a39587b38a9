"""Machinery shared by the benchmarks that run Hotline's processes: benchmarks/webhook.py,
benchmarks/burst.py and benchmarks/routing.py. It imports nothing from them.

- Places and messages: ROOT, VENV_BIN, the PostgreSQL server (PG) and Redis (REDIS) every run
  uses; the hotline's number, 2,000 fictional senders, complete reports that name a place of a
  demo jurisdiction; signed Twilio SMS webhooks written to a file before the clock starts.
- Databases: a database of the run's own (created, migrated, the demo config loaded, dropped at
  the end), `pg_admin` / `pg_scalar`, a Redis db that must be empty and is flushed at the end.
- Processes: the environment of every Hotline process (nothing inherited from the caller's
  HOTLINE_/TWILIO_ settings; the code of this tree), gunicorn with the Procfile's `web` line,
  `hotline worker` processes (its `worker` line) in process groups of their own.
- CPU: waiting for a quiet machine, jiffies of all cores and of every process, CPU that includes
  reaped children (RQ's work horses, PostgreSQL's per-connection backends), wrk's own CPU.
- wrk: the Lua that reads the pre-signed requests and counts the statuses, the WRKRESULT line its
  `done` prints, and a fixed-count run (each request sent once, stop when all are answered).
- Reports: the command line, the machine, percentiles, checks, writing results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"

# -- messages -------------------------------------------------------------------------------

HOTLINE_NUMBER = "+13125550199"
# Many distinct senders, as in a real burst: each number writes only a few times, so the
# per-reporter rate limit (8 per 10 minutes) does not turn the run into over-limit replies.
# 555-0100..0199 are the numbers reserved for fiction, here across twenty area codes.
AREA_CODES = ["312", "773", "212", "718", "415", "213", "323", "408", "714", "206", "303",
              "512", "215", "203", "414", "347", "646", "872", "628", "737"]
SENDERS = [f"+1{area}55501{n:02d}" for n in range(100) for area in AREA_CODES]
# Complete reports, each naming a place of a demo jurisdiction (English and Spanish).
REPORT_BODIES = [
    "ICE agents arresting people at Corona Plaza in Queens right now, 3 vans",
    "la migra está en Jackson Heights en la Roosevelt Ave, dos camionetas negras",
    "agents in vests knocking on doors in Sunset Park Brooklyn",
    "agentes de inmigración en Washington Heights deteniendo gente, 4 agentes",
    "ICE checkpoint in Pilsen on 18th st and Ashland, unmarked SUVs",
    "hay agentes de ICE en La Villita en la 26 y Pulaski, están pidiendo papeles",
    "ICE agents at the Broadview processing center, 2 buses arriving",
    "agents detaining workers in Back of the Yards on 47th and Ashland",
    "la migra en Boyle Heights en Cesar Chavez y Soto, 5 agentes",
    "ICE raid at MacArthur Park in Westlake, agents in green vests",
    "agentes federales en Huntington Park en Pacific Blvd, tres carros",
    "ICE vans in the Mission District on 24th st and Mission, 3 agents",
    "agentes de inmigración en el Excelsior en Geneva Ave, dos camionetas",
    "ICE agents at the Lundy Ave office in San Jose, people being detained",
    "la migra en East San Jose en Story Rd y King Rd, cuatro agentes",
    "ICE agents outside the Santa Ana federal courthouse, 3 unmarked cars",
    "agentes de ICE en White Center en Seattle, están deteniendo a un señor",
    "ICE agents at the Denver immigration court on Stout St, 2 vans",
    "la migra en Westwood Denver en Morrison Rd, tres agentes",
    "ICE agents in Dove Springs Austin stopping cars, 2 trucks",
    "agentes de ICE en Kensington Philadelphia en Kensington Ave, 4 agentes",
    "ICE at the Italian Market in South Philly on 9th st, agents with vests",
    "agentes de inmigración en Fair Haven New Haven en Grand Ave, una camioneta",
    "ICE agents in Walkers Point Milwaukee, 3 agents detaining a man",
]


def twilio_credentials() -> tuple[str, str]:
    """A fresh (auth token, account SID) for a run."""
    return secrets.token_hex(16), "AC" + secrets.token_hex(16)


def write_webhooks(path: Path, settings: Any, url: str, auth_token: str,
                   messages: Iterable[tuple[str, str]]) -> list[str]:
    """One distinct signed SMS webhook for `url` per (From, Body), a line each (path, signature,
    form body, tab-separated: what LUA_REQUESTS reads); returns their MessageSids in order."""
    from hotline.simulate import sign, sms_form

    route = "/" + url.split("/", 3)[3]
    sids = []
    with path.open("w", encoding="utf-8") as handle:
        for sender, body in messages:
            sid = "SM" + secrets.token_hex(16)
            form = sms_form(settings, sender, HOTLINE_NUMBER, body, sid=sid)
            handle.write(f"{route}\t{sign(auth_token, url, form)}\t{urlencode(form)}\n")
            sids.append(sid)
    return sids


# -- commands and databases -----------------------------------------------------------------

def free_port() -> int:
    """A loopback TCP port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def sh(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run `cmd` and return its stdout; exit with its output if it fails."""
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"failed: {shlex.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def pg_admin(sql: str) -> None:
    """Run `sql` (CREATE / DROP DATABASE) on the maintenance database, outside a transaction."""
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def pg_scalar(dbname: str, sql: str) -> Any:
    """The first column of the first row of `sql` on `dbname`."""
    import psycopg

    with psycopg.connect(f"{PG}/{dbname}") as conn:
        return conn.execute(sql).fetchone()[0]


def base_env(auth_token: str, account_sid: str) -> dict[str, str]:
    """The environment of every server of a run: nothing inherited from the caller's
    HOTLINE_/TWILIO_ settings; the servers and the CLI run the code of this tree."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "TWILIO_", "DATABASE_URL", "REDIS_URL",
                                "FLOOR_", "SECRET_KEY"))}
    env.update(
        TWILIO_AUTH_TOKEN=auth_token, TWILIO_ACCOUNT_SID=account_sid,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    return env


def hotline_env(dbname: str, redis_url: str, workdir: Path, public_port: int,
                auth_token: str, account_sid: str, **extra: str) -> dict[str, str]:
    """`base_env` plus what a Hotline process needs: database `dbname`, `redis_url`, fresh
    secrets, the demo config, an instance folder in `workdir`; then `extra`."""
    from hotline.core.settings import new_pii_key

    env = base_env(auth_token, account_sid)
    env.update(
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}",
        REDIS_URL=redis_url, SECRET_KEY=secrets.token_urlsafe(48), HOTLINE_PII_KEY=new_pii_key(),
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{public_port}",
        HOTLINE_CONFIG_DIR=str(ROOT / "config"), HOTLINE_INSTANCE=str(workdir / "instance"),
    )
    env.update(extra)
    return env


def migrate(env: dict[str, str], workdir: Path) -> str:
    """`hotline db upgrade`, then `hotline config load` (the demo config); the CLI's last line."""
    cli = str(VENV_BIN / "hotline")
    sh([cli, "db", "upgrade"], env=env, cwd=workdir)
    return sh([cli, "config", "load"], env=env, cwd=workdir).strip().splitlines()[-1]


def create_database(name: str, env: dict[str, str], workdir: Path) -> str:
    """CREATE DATABASE, migrate it and load the demo config; returns the CLI's last line."""
    pg_admin(f'CREATE DATABASE "{name}"')
    return migrate(env, workdir)


def drop_database(name: str) -> None:
    """DROP DATABASE, closing its connections."""
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def empty_redis_db(db: int) -> tuple[str, Any, str]:
    """(URL, client, server version) of Redis db `db`, which must be empty: runs flush it."""
    import redis

    url = f"{REDIS}/{db}"
    client = redis.Redis.from_url(url)
    if client.dbsize():
        raise SystemExit(f"Redis db {db} is not empty; pick another with --redis-db")
    return url, client, client.info("server")["redis_version"]


def clean_up(args: argparse.Namespace, databases: list[str], redis_client: Any, workdir: Path,
             kept: str) -> None:
    """Drop `databases`, flush the Redis db and remove `workdir`; with --keep, say what is kept
    (`kept` names the databases)."""
    if args.keep:
        print(f"kept: {kept}, redis db {args.redis_db}, {workdir}")
        return
    for name in databases:
        drop_database(name)
    redis_client.flushdb()
    shutil.rmtree(workdir, ignore_errors=True)


# -- CPU ------------------------------------------------------------------------------------

def cpu_ticks_total() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot."""
    fields_ = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields_[3] + fields_[4]
    total = sum(fields_[:8])
    return total - idle, total


def proc_ticks(reaped: bool = False) -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, comm, utime+stime jiffies) of every process; with `reaped`, plus
    cutime+cstime: the CPU of the children it has waited for."""
    out: dict[int, tuple[int, str, int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        comm = raw[raw.index("(") + 1:raw.rindex(")")]
        rest = raw[raw.rindex(")") + 2:].split()
        ticks = sum(int(x) for x in rest[11:15 if reaped else 13])
        out[int(entry.name)] = (int(rest[1]), comm, ticks)
    return out


def _below(snapshot: dict[int, tuple[int, str, int]], roots: list[int]) -> set[int]:
    """`roots` and every process below them in a `proc_ticks` snapshot."""
    found, frontier = set(roots), list(roots)
    while frontier:
        current = frontier.pop()
        children = [pid for pid, (ppid, _, _) in snapshot.items()
                    if ppid == current and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (RQ's work horses start sessions of their own)."""
    return sorted(_below(proc_ticks(), [pid]) - {pid})


def cpu_groups(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each group: its root pids, their descendants (and what those
    reaped), plus PostgreSQL and Redis (every process of theirs, with exited backends)."""
    hz = os.sysconf("SC_CLK_TCK")
    snapshot = proc_ticks(reaped=True)
    out = {name: sum(snapshot[pid][2] for pid in _below(snapshot, roots) if pid in snapshot) / hz
           for name, roots in groups.items()}
    out["postgres"] = out["redis"] = 0.0
    for _, comm, ticks in snapshot.values():
        if comm.startswith("postgres"):
            out["postgres"] += ticks / hz
        elif comm.startswith("redis-server"):
            out["redis"] += ticks / hz
    return out


def background_load(seconds: float = 1.0) -> float:
    """Share of the cores busy while nothing of ours runs: other work that will skew the run."""
    busy0, total0 = cpu_ticks_total()
    time.sleep(seconds)
    busy1, total1 = cpu_ticks_total()
    return (busy1 - busy0) / max(1, total1 - total0)


def wait_for_quiet(limit: float, threshold: float = 0.15) -> float:
    """Wait (at most `limit` seconds) until other processes leave the cores alone; their load."""
    deadline = time.monotonic() + limit
    load = background_load()
    while load > threshold and time.monotonic() < deadline:
        load = background_load()
    if load > threshold:
        print(f"  warning: other processes keep {100 * load:.0f}% of the cores busy",
              flush=True)
    return load


def child_cpu_seconds() -> float:
    """CPU seconds of the children this process has waited for (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- servers and workers --------------------------------------------------------------------

@dataclass
class Server:
    """A gunicorn server under test: `app` is its APP_MODULE, `key` names its log file."""

    key: str
    label: str
    app: str
    env: dict[str, str]
    port: int


def add_server_args(parser: argparse.ArgumentParser) -> None:
    """--workers and --threads of gunicorn, as in the Procfile."""
    parser.add_argument("--workers", type=int, default=2,
                        help="gunicorn workers (Procfile: WEB_CONCURRENCY, default 2)")
    parser.add_argument("--threads", type=int, default=4,
                        help="threads per gunicorn worker (Procfile: WEB_THREADS, default 4)")


def gunicorn_cmd(args: argparse.Namespace, app: str, port: int) -> list[str]:
    """The Procfile's `web` line (gthread: --threads > 1), bound to loopback; the access log goes
    to the server's log file, as it goes to stdout in production."""
    return [str(VENV_BIN / "gunicorn"), "--workers", str(args.workers),
            "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
            "--access-logfile", "-", "--pythonpath", str(ROOT), app]


def gunicorn_settings(args: argparse.Namespace, app: str) -> str:
    """`gunicorn_cmd` for a report: its arguments, with `.` for ROOT and no port."""
    return shlex.join(gunicorn_cmd(args, app, 0)[1:]).replace(
        str(ROOT), ".").replace("127.0.0.1:0", "127.0.0.1:<port>")


def start_server(args: argparse.Namespace, ep: Server, workdir: Path) -> subprocess.Popen:
    """Start gunicorn for `ep` and wait until every worker has imported the app."""
    log = (workdir / f"{ep.key}.log").open("w")
    proc = subprocess.Popen(gunicorn_cmd(args, ep.app, ep.port), env=ep.env, cwd=workdir,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{ep.label}: gunicorn exited; see {workdir / (ep.key + '.log')}:\n"
                             + (workdir / f"{ep.key}.log").read_text()[-3000:])
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{ep.port}/ready-probe", timeout=1)
        except urllib.error.HTTPError:
            # every worker must be up and have imported the app before the clock starts
            if len([p for p, (pp, _, _) in proc_ticks().items() if pp == proc.pid]) \
                    >= args.workers:
                time.sleep(0.5)
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{ep.label}: gunicorn did not start on port {ep.port}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop gunicorn: SIGTERM, then SIGKILL if it has not exited within 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: in-flight requests are finished
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Worker:
    """One `hotline worker` (the Procfile's `worker` line) in a process group of its own."""

    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], workdir: Path, name: str) -> Worker:
        """Start it, its output to `name`.log in `workdir`."""
        log = workdir / f"{name}.log"
        with log.open("w") as handle:
            process = subprocess.Popen([str(VENV_BIN / "hotline"), "worker"], env=env,
                                       cwd=workdir, stdout=handle, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        return cls(process, log)

    def stop(self) -> None:
        """SIGTERM (RQ's warm shutdown: the current job finishes), then SIGKILL what is left."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                pass
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass


def wait_for_workers(redis_client: Any, count: int, workers: list[Worker],
                     limit: float = 90) -> None:
    """Until `count` RQ workers are registered on this Redis db (they register after warm-up)."""
    from rq import Worker as RQWorker

    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        for worker in workers:
            if worker.process.poll() is not None:
                raise SystemExit(f"hotline worker exited:\n{worker.log.read_text()[-3000:]}")
        if RQWorker.count(connection=redis_client) >= count:
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise SystemExit(f"{count} hotline worker(s) did not register within {limit:g} s")


# -- wrk ------------------------------------------------------------------------------------

def require_wrk() -> None:
    """Exit unless wrk is installed."""
    if not shutil.which("wrk"):
        raise SystemExit("wrk not found: apt-get install -y wrk")


# The start of every wrk script here. Pre-signed requests, one per line of the file args[1]:
# path \t signature \t form body, read in `init` (before wrk's clock starts) for Host args[2];
# `tally` counts each answer's status (the counts are globals, so the main state can read them
# from the thread); `write_result`, called by `done`, prints the WRKRESULT line: wrk's summary
# and latency (microseconds), those counts, and the JSON members `more` the script adds.
LUA_REQUESTS = r"""
local reqs, n, verified = {}, 0, false
sent, ok, other, codes = 0, 0, 0, ""
local threads = {}

function setup(thread) table.insert(threads, thread) end

local function read_requests(args)
  local f = assert(io.open(args[1], "rb"))
  for line in f:lines() do
    local path, sig, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    n = n + 1
    reqs[n] = wrk.format("POST", path, {
      ["Host"] = args[2],
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["X-Twilio-Signature"] = sig,
    }, body)
  end
  f:close()
end

local function tally(status)
  if status == 200 then ok = ok + 1
  else
    other = other + 1
    if #codes < 200 then codes = codes .. status .. " " end
  end
end

local function write_result(summary, latency, more)
  local e, t = summary.errors, threads[1]
  io.write(string.format(
    'WRKRESULT {"requests": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
    .. '"sent": %d, "ok": %d, "other": %d, "codes": "%s"%s}\n',
    summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    t:get("sent"), t:get("ok"), t:get("other"), t:get("codes"), more))
end
"""

# Sends each pre-signed request of the file exactly once, then nothing: when all are answered
# it stops its thread and says so on stdout (the caller then ends wrk's sleep with SIGINT).
# After the last request is handed out, a connection that frees up gets an empty request: wrk
# writes nothing, so the server sees nothing and no latency is recorded for it.
# LuaJIT's ffi reads the wall clock (CLOCK_REALTIME) at the first request and the last answer.
LUA_COUNT = LUA_REQUESTS + r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_ts;
           int clock_gettime(int clk, bench_ts *ts); ]]
local ts = ffi.new("bench_ts")
local function now()
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local i, answered = 0, 0
first_at, last_at = 0, 0

function init(args) read_requests(args) end

function request()
  -- wrk 4.1 calls request() once to check the script before the run; that call sends nothing
  if not verified then verified = true; return reqs[1] end
  if i >= n then return "" end
  i = i + 1
  if i == 1 then first_at = now() end
  sent = sent + 1
  return reqs[i]
end

function response(status, headers, body)
  tally(status)
  answered = answered + 1
  if answered == n then
    last_at = now()
    io.write("ALLANSWERED\n"); io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local t = threads[1]
  write_result(summary, latency, string.format(', "first_at": %.6f, "last_at": %.6f',
                                               t:get("first_at"), t:get("last_at")))
end
"""


def wrk_result(stdout: str) -> dict | None:
    """The JSON of the WRKRESULT line the Lua `done` prints; None if there is none."""
    match = re.search(r"^WRKRESULT (.*)$", stdout, re.M)
    return json.loads(match.group(1)) if match else None


@dataclass
class WrkRun:
    """What every wrk run reports: answers, latency percentiles (ms), sent, statuses, errors."""

    requests: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    sent: int
    ok: int
    non200: int
    socket_errors: int
    codes: str

    @staticmethod
    def fields(raw: dict) -> dict[str, Any]:
        """The WrkRun fields of a `wrk_result`."""
        return dict(
            requests=raw["requests"], p50_ms=raw["p50_us"] / 1e3, p90_ms=raw["p90_us"] / 1e3,
            p99_ms=raw["p99_us"] / 1e3, max_ms=raw["max_us"] / 1e3, sent=raw["sent"],
            ok=raw["ok"], non200=raw["other"],
            socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
            codes=raw["codes"].strip())


@dataclass
class CountRun(WrkRun):
    """A fixed-count wrk run."""

    first_at: float  # wall clock of the first request
    last_at: float  # wall clock of the last answer
    mean_ms: float
    raw: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return self.last_at - self.first_at

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def run_wrk_count(lua: Path, data: Path, port: int, connections: int,
                  limit: float) -> tuple[CountRun, list[str]]:
    """Send every request of `data` once over `connections` keep-alive connections."""
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{int(limit)}s", "--timeout", f"{int(limit)}s",
           "-s", str(lua), f"http://127.0.0.1:{port}/twilio/sms", "--", str(data),
           f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("ALLANSWERED"):
            proc.send_signal(signal.SIGINT)  # ends wrk's sleep(duration): it reports at once
    proc.wait(60)
    out = "".join(lines)
    raw = wrk_result(out)
    if proc.returncode or raw is None:
        raise SystemExit(f"wrk failed ({shlex.join(cmd)}):\n{out}\n{proc.stderr.read()}")
    run = CountRun(**WrkRun.fields(raw), first_at=raw["first_at"], last_at=raw["last_at"],
                   mean_ms=raw["mean_us"] / 1e3, raw=raw)
    return run, cmd


# -- reports --------------------------------------------------------------------------------

def add_run_args(parser: argparse.ArgumentParser, results: Path,
                 databases: str = "database") -> None:
    """--keep (the run's `databases`, Redis db and work folder) and --no-write (`results`)."""
    parser.add_argument("--keep", action="store_true",
                        help=f"keep the {databases}, the Redis db and the work folder (debugging)")
    parser.add_argument("--no-write", action="store_true",
                        help=f"do not write {results.relative_to(ROOT / 'benchmarks')}")


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank: a value that was observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-q * len(ordered) // 100)))
    return ordered[int(rank) - 1]


def command_line() -> str:
    """How this run was started, with paths relative to ROOT."""
    prefix = str(ROOT) + "/"
    return shlex.join([sys.executable.replace(prefix, "")] + sys.argv).replace(prefix, "")


def machine_line(redis_version: str, sharing: str, synchronous_commit: bool = True) -> str:
    """A report's `machine:` line: cores, Python, PostgreSQL, Redis and who shares the cores."""
    postgres = pg_scalar("postgres", "SHOW server_version")
    if synchronous_commit:
        postgres = (f"{postgres} (synchronous_commit="
                    f"{pg_scalar('postgres', 'SHOW synchronous_commit')})")
    return (f"machine:  {os.cpu_count()} cores, {platform.python_implementation()} "
            f"{platform.python_version()}, PostgreSQL {postgres}, Redis {redis_version}; "
            f"{sharing} share the cores")


def check_lines(checks: list[tuple[str, bool]], key: str = "") -> list[str]:
    """A report's lines of `checks`, each `ok` or `FAIL`, after `key` if one is given."""
    lead = f"  {key} " if key else "  "
    return [f"{lead}{'ok  ' if ok else 'FAIL'} {text}" for text, ok in checks]


def publish(text: str, results: Path, write: bool) -> None:
    """Print the report `text` and, if `write`, write it to `results`."""
    print()
    print(text, end="")
    if write:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(text)
        print(f"written to {results.relative_to(ROOT)}")
