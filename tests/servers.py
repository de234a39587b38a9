"""Real server processes for tests that break things on purpose: private Redis and PostgreSQL
instances that can be killed and restarted, gunicorn, and `hotline worker`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A private redis-server process."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        try:
            for _ in range(200):
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")
        finally:
            client.close()  # an unclosed socket is a ResourceWarning, an error in this suite

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def _pg_bin() -> Path | None:
    for folder in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (folder / "initdb").exists():
            return folder
    return None


class PostgresServer:
    """A private PostgreSQL cluster (initdb in a temporary folder), run as user postgres."""

    available = _pg_bin() is not None and shutil.which("runuser") is not None

    def __init__(self) -> None:
        self.port = free_port()
        self.bin = _pg_bin()
        self.folder = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.folder / "data"
        shutil.chown(self.folder, "postgres", "postgres")
        self._as_postgres(["initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8", "--no-sync"])

    def _as_postgres(self, command: list[str]) -> None:
        # no pipes: a started postmaster would hold them open and run() would never return
        subprocess.run(["runuser", "-u", "postgres", "--", str(self.bin / command[0]),
                        *command[1:]], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=120)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-w", "-l",
                           str(self.folder / "log"), "-o",
                           f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
                           "-c fsync=off", "start"])

    def restart(self) -> None:
        self._as_postgres(["pg_ctl", "-D", str(self.data), "-w", "-m", "fast", "-l",
                           str(self.folder / "log"), "restart"])

    def stop(self) -> None:
        try:
            self._as_postgres(["pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop"])
        except subprocess.CalledProcessError:
            pass

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def hotline_env(**settings: str) -> dict[str, str]:
    """The environment of a Hotline process: the caller's settings only."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOTLINE_", "TWILIO_", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"))}
    env.update(settings)
    return env


class Process:
    """A child process in its own process group, so a SIGKILL takes its children too."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = log.open("w")
        self.process = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True,
                                        stdout=self._file, stderr=subprocess.STDOUT)

    def descendants(self) -> list[int]:
        """Every process below this one (RQ's work horses start sessions of their own)."""
        parents: dict[int, int] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(stat.parent.name)] = int(fields[1])
        found, frontier = [], [self.process.pid]
        while frontier:
            pid = frontier.pop()
            children = [child for child, parent in parents.items() if parent == pid]
            found.extend(children)
            frontier.extend(children)
        return found

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """SIGKILL the process and all it started, as when its machine dies."""
        for pid in [self.process.pid, *self.descendants()]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.kill()  # and anything of the group still alive
        self._file.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def procfile_web(port: int) -> list[str]:
    """The Procfile's `web` command, with its defaults, bound to loopback on `port`."""
    import shlex

    line = next(line for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith("web:"))
    words = shlex.split(line.removeprefix("web:").replace("${WEB_CONCURRENCY:-2}", "2")
                        .replace("${WEB_THREADS:-4}", "4")
                        .replace("0.0.0.0:${PORT:-8000}", f"127.0.0.1:{port}"))
    return [str(Path(sys.executable).parent / words[0]), *words[1:]]


def gunicorn(env: dict[str, str], port: int, log: Path) -> Process:
    process = Process(procfile_web(port), env, log)
    # the port accepts connections before the workers have loaded the app: wait for an answer
    import urllib.request

    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as reply:
                if reply.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start:\n" + process.output())


def worker(env: dict[str, str], log: Path) -> Process:
    return Process([sys.executable, "-m", "hotline.cli", "worker"], env, log)
