"""Processes and their CPU, for the benchmarks: waiting for a quiet machine, jiffies of all
cores and of every process, CPU that includes reaped children (RQ's work horses, PostgreSQL's
per-connection backends); gunicorn with the Procfile's `web` line and `hotline worker` processes
(its `worker` line) in process groups of their own."""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT, VENV_BIN

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
