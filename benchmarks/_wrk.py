"""wrk for the benchmarks: the Lua that reads the pre-signed requests and counts the statuses,
the WRKRESULT line its `done` prints, and a fixed-count run (each request sent once, stop when
all are answered)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
