"""Machinery shared by the benchmarks that run Hotline's processes: benchmarks/webhook.py,
benchmarks/burst.py and benchmarks/routing.py. It imports nothing from them.

- Places and messages: ROOT, VENV_BIN, the PostgreSQL server (PG) and Redis (REDIS) every run
  uses; the hotline's number, 2,000 fictional senders, complete reports that name a place of a
  demo jurisdiction; signed Twilio SMS webhooks written to a file before the clock starts.
- Databases: a database of the run's own (created, migrated, the demo config loaded, dropped at
  the end), `pg_admin` / `pg_scalar`, a Redis db that must be empty and is flushed at the end.
- The environment of every Hotline process (nothing inherited from the caller's HOTLINE_/TWILIO_
  settings; the code of this tree).
- Processes and CPU (benchmarks/_processes.py) and wrk (benchmarks/_wrk.py) live beside it.
- Reports: the command line, the machine, percentiles, checks, writing results/.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterable
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
