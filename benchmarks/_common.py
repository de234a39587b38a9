"""Helpers shared by benchmarks/burst.py and benchmarks/routing.py.

The machinery of benchmarks/webhook.py (benchmark databases, `hotline config load`, gunicorn with
the Procfile's settings, waiting for a quiet machine, CPU accounting) is imported from it; what is
here is what those two add: a Hotline environment with a Twilio stand-in, `hotline worker`
processes, a fixed-count wrk run, CPU accounting that includes reaped children (RQ's work horses,
PostgreSQL's per-connection backends), and percentiles.
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.webhook import PG, REDIS, VENV_BIN, pg_admin, pg_scalar, sh  # noqa: E402

__all__ = ["PG", "REDIS", "ROOT", "VENV_BIN", "pg_admin", "pg_scalar", "sh"]


def hotline_env(dbname: str, redis_url: str, workdir: Path, public_port: int,
                auth_token: str, account_sid: str, **extra: str) -> dict[str, str]:
    """The environment of every Hotline process of a run: nothing inherited from the caller's
    HOTLINE_/TWILIO_ settings; the servers and the CLI run the code of this tree."""
    from hotline.settings import new_pii_key

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "TWILIO_", "DATABASE_URL", "REDIS_URL",
                                "FLOOR_", "SECRET_KEY"))}
    env.update(
        TWILIO_AUTH_TOKEN=auth_token, TWILIO_ACCOUNT_SID=account_sid,
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        DATABASE_URL=f"postgresql+psycopg://postgres@127.0.0.1:5432/{dbname}",
        REDIS_URL=redis_url, SECRET_KEY=secrets.token_urlsafe(48), HOTLINE_PII_KEY=new_pii_key(),
        HOTLINE_PUBLIC_URL=f"http://127.0.0.1:{public_port}",
        HOTLINE_CONFIG_DIR=str(ROOT / "config"), HOTLINE_INSTANCE=str(workdir / "instance"),
    )
    env.update(extra)
    return env


def create_database(name: str, env: dict[str, str], workdir: Path) -> str:
    """CREATE DATABASE, migrate it and load the demo config; returns the CLI's last line."""
    pg_admin(f'CREATE DATABASE "{name}"')
    cli = str(VENV_BIN / "hotline")
    sh([cli, "db", "upgrade"], env=env, cwd=workdir)
    return sh([cli, "config", "load"], env=env, cwd=workdir).strip().splitlines()[-1]


def drop_database(name: str) -> None:
    pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- processes ------------------------------------------------------------------------------

def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = stat.read_text()
        except OSError:
            continue
        parents[int(stat.parent.name)] = int(raw[raw.rindex(")") + 2:].split()[1])
    return parents


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (RQ's work horses start sessions of their own)."""
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [child for child, parent in parents.items() if parent == current]
        found.extend(children)
        frontier.extend(children)
    return found


@dataclass
class Worker:
    """One `hotline worker` (the Procfile's `worker` line) in a process group of its own."""

    process: subprocess.Popen
    log: Path

    @classmethod
    def start(cls, env: dict[str, str], workdir: Path, name: str) -> Worker:
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


def wait_for_workers(redis_client, count: int, workers: list[Worker],  # noqa: ANN001
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


# -- CPU ------------------------------------------------------------------------------------

def _stat(pid: int) -> tuple[int, str, int] | None:
    """(ppid, comm, utime+stime+cutime+cstime): a process's CPU with its reaped children."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    rest = raw[raw.rindex(")") + 2:].split()
    return int(rest[1]), comm, sum(int(x) for x in rest[11:15])


def cpu_groups(groups: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of each group: its root pids, their descendants (and what those
    reaped), plus PostgreSQL and Redis (every process of theirs, with exited backends)."""
    hz = os.sysconf("SC_CLK_TCK")
    parents = _parents()
    out: dict[str, float] = {}
    for name, roots in groups.items():
        pids, frontier = set(roots), list(roots)
        while frontier:
            current = frontier.pop()
            children = [c for c, p in parents.items() if p == current and c not in pids]
            pids.update(children)
            frontier.extend(children)
        out[name] = sum((s[2] for pid in pids if (s := _stat(pid))), 0) / hz
    out["postgres"] = out["redis"] = 0.0
    for pid in parents:
        stat = _stat(pid)
        if stat is None:
            continue
        if stat[1].startswith("postgres"):
            out["postgres"] += stat[2] / hz
        elif stat[1].startswith("redis-server"):
            out["redis"] += stat[2] / hz
    return out


# -- wrk, a fixed number of requests --------------------------------------------------------

# Sends each pre-signed request of the file exactly once, then nothing: when all are answered
# it stops its thread and says so on stdout (the caller then ends wrk's sleep with SIGINT).
# After the last request is handed out, a connection that frees up gets an empty request: wrk
# writes nothing, so the server sees nothing and no latency is recorded for it.
# LuaJIT's ffi reads the wall clock (CLOCK_REALTIME) at the first request and the last answer.
LUA_COUNT = r"""
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } bench_ts;
           int clock_gettime(int clk, bench_ts *ts); ]]
local ts = ffi.new("bench_ts")
local function now()
  ffi.C.clock_gettime(0, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local reqs, n, i, verified, answered = {}, 0, 0, false, 0
sent, ok, other, codes, first_at, last_at = 0, 0, 0, "", 0, 0
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args)
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
  if status == 200 then ok = ok + 1
  else
    other = other + 1
    if #codes < 200 then codes = codes .. status .. " " end
  end
  answered = answered + 1
  if answered == n then
    last_at = now()
    io.write("ALLANSWERED\n"); io.flush()
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  local t = threads[1]
  io.write(string.format(
    'WRKRESULT {"requests": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, '
    .. '"mean_us": %.1f, "connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d, '
    .. '"sent": %d, "ok": %d, "other": %d, "codes": "%s", "first_at": %.6f, "last_at": %.6f}\n',
    summary.requests, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, e.connect, e.read, e.write, e.status, e.timeout,
    t:get("sent"), t:get("ok"), t:get("other"), t:get("codes"), t:get("first_at"),
    t:get("last_at")))
end
"""


@dataclass
class CountRun:
    """A fixed-count wrk run."""

    requests: int
    first_at: float  # wall clock of the first request
    last_at: float  # wall clock of the last answer
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    sent: int
    ok: int
    non200: int
    socket_errors: int
    codes: str
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
    import json

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
    match = re.search(r"^WRKRESULT (.*)$", out, re.M)
    if proc.returncode or not match:
        raise SystemExit(f"wrk failed ({shlex.join(cmd)}):\n{out}\n{proc.stderr.read()}")
    raw = json.loads(match.group(1))
    run = CountRun(
        requests=raw["requests"], first_at=raw["first_at"], last_at=raw["last_at"],
        p50_ms=raw["p50_us"] / 1e3, p90_ms=raw["p90_us"] / 1e3, p99_ms=raw["p99_us"] / 1e3,
        max_ms=raw["max_us"] / 1e3, mean_ms=raw["mean_us"] / 1e3, sent=raw["sent"],
        ok=raw["ok"], non200=raw["other"],
        socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
        codes=raw["codes"].strip(), raw=raw)
    return run, cmd


# -- statistics -----------------------------------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank: a value that was observed."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-q * len(ordered) // 100)))
    return ordered[int(rank) - 1]


def command_line() -> str:
    return shlex.join([sys.executable] + sys.argv).replace(str(ROOT) + "/", "")
