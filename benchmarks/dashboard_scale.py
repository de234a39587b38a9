"""Server-side render time of the dashboard at scale: 100,000 incidents, 1,000,000 reports.

    .venv/bin/python benchmarks/dashboard_scale.py   # ~3 min; writes results/dashboard_scale.txt

Creates a PostgreSQL database of its own (dropped at the end, even on failure), migrates it,
loads the demo config, and seeds it in a few set-based statements (INSERT ... SELECT
generate_series): incidents spread over the 12 jurisdictions and the out-of-area queue
(5 % of them, i.e. 5,000, still open: a bad night, everywhere), 10 reports each on average.
Then, with the Flask test client (no network: the time is the server's — routing, session,
queries, template rendering), it logs in as an unscoped admin and requests each page many times
after a warm-up, reporting p50 / p95 / max.

`--without-dashboard-indexes` also measures with the three incident indexes of migration 0002
dropped, to show what they are for.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hotline import create_app  # noqa: E402
from hotline.accounts import tokens  # noqa: E402
from hotline.accounts.users import create_user  # noqa: E402
from hotline.config_loader import load_config  # noqa: E402
from hotline.core.database import upgrade  # noqa: E402
from hotline.core.extensions import db  # noqa: E402
from hotline.core.settings import new_pii_key  # noqa: E402

TARGET_MS = 150.0
PASSWORD = "benchmark password 123"
DASHBOARD_INDEXES = {
    "ix_incidents_updated_at": "incidents (updated_at)",
    "ix_incidents_status_last_seen": "incidents (status, last_seen_at)",
    "ix_incidents_jurisdiction_last_seen": "incidents (jurisdiction_id, last_seen_at)",
}

SEED_INCIDENTS = """
WITH j AS (SELECT array_agg(id ORDER BY id) AS ids FROM jurisdictions)
INSERT INTO incidents (code, jurisdiction_id, status, location_text, lat, lon, score,
                       score_reasons, salute, flags, first_seen_at, last_seen_at, verified_at,
                       resolved_at, updated_at)
SELECT 'B' || lpad(g::text, 7, '0'),
       CASE WHEN mod(g, 20) = 0 THEN NULL ELSE j.ids[1 + mod(g, array_length(j.ids, 1))] END,
       CASE WHEN mod(g, 100) = 0 THEN 'new' WHEN mod(g, 100) = 1 THEN 'verifying'
            WHEN mod(g, 100) = 2 THEN 'verified' WHEN mod(g, 100) = 3 THEN 'routed'
            WHEN mod(g, 100) = 4 THEN 'acknowledged' WHEN mod(g, 100) < 70 THEN 'resolved'
            WHEN mod(g, 100) < 85 THEN 'false_alarm' WHEN mod(g, 100) < 95 THEN 'unconfirmed'
            ELSE 'merged' END,
       'Main St & ' || (mod(g, 97)) || 'th', 41.8 + (mod(g, 1000)) / 10000.0,
       -87.7 + (mod(g, 777)) / 10000.0, (mod(g, 100)) / 100.0,
       '[{"factor": "corroboration", "weight": 0.2, "detail": "1 independent reporter"}]',
       '{"activity": ["raid"]}', '{}',
       now() - (%(n)s - g) * interval '30 seconds',
       now() - (%(n)s - g) * interval '30 seconds' + (mod(g, 50)) * interval '1 minute',
       NULL, NULL,
       now() - (%(n)s - g) * interval '30 seconds' + (mod(g, 50)) * interval '1 minute'
FROM generate_series(1, %(n)s) AS g, j
"""

SEED_REPORTS = """
INSERT INTO reports (incident_id, channel, text_enc, language, salute, location, lat, lon,
                     jurisdiction_id, needs_location, confidence, state, flags, media,
                     created_at, updated_at)
SELECT i.id, 'sms', NULL, CASE WHEN mod(g, 3) = 0 THEN 'es' ELSE 'en' END, '{}',
       '{"text": "Main St"}', i.lat, i.lon, i.jurisdiction_id, false, 0.8, 'complete', '{}',
       '[]', i.first_seen_at + (mod(g, 7)) * interval '1 minute',
       i.first_seen_at + (mod(g, 7)) * interval '1 minute'
FROM generate_series(1, %(n)s) AS g
JOIN incidents i ON i.id = 1 + mod(g, %(incidents)s)
"""

PAGES = [
    ("board", "/"),
    ("board, live poll (changed: 200)", "/live/board"),
    ("board, live poll (unchanged: 304)", "LIVE_304"),
    ("incident list", "/incidents"),
    ("incident list, open", "/incidents?status=open"),
    ("incident list, chicago", "/incidents?jurisdiction=chicago"),
    ("incident list, resolved, chicago, 7 d", "/incidents?status=resolved&jurisdiction=chicago"
                                              "&period=7d"),
    ("incident list, page 40", "/incidents?page=40"),
    ("incident page (10 reports)", "INCIDENT"),
    ("API: open incidents (100)", "API"),
]


def settings(url: str) -> dict[str, object]:
    return {"DATABASE_URL": url, "REDIS_URL": None, "SECRET_KEY": "bench-" + "x" * 40,
            "HOTLINE_PII_KEY": new_pii_key(), "TWILIO_AUTH_TOKEN": "bench-token",
            "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
            "HOTLINE_PUBLIC_URL": "https://hotline.bench",
            "HOTLINE_CONFIG_DIR": str(ROOT / "config"),
            "DOTENV_PATH": None, "JOBS_AUTOSTART": False, "HOTLINE_LOG_LEVEL": "WARNING"}


def seed(conninfo: str, incidents: int, reports: int) -> dict[str, float]:
    timings = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for name, sql, params in (
                ("incidents", SEED_INCIDENTS, {"n": incidents}),
                ("reports", SEED_REPORTS, {"n": reports, "incidents": incidents})):
            started = time.perf_counter()
            conn.execute(sql, params)
            timings[name] = time.perf_counter() - started
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timings["vacuum analyze"] = time.perf_counter() - started
    return timings


def measure(client, path: str, reps: int) -> list[float]:
    samples = []
    headers = {}
    if path == "LIVE_304":
        path = "/live/board"
        headers = {"If-None-Match": client.get(path).headers["ETag"]}
    for _ in range(max(3, reps // 10)):  # warm-up: caches, compiled templates, pool
        client.get(path, headers=headers)
    for _ in range(reps):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code in (200, 304), (path, response.status_code)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_pages(app, reps: int, token: str,  # noqa: ANN001
              incidents: int = 100_000) -> list[tuple[str, list[float]]]:
    client = app.test_client()
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": "bench@example.org", "password": PASSWORD,
                                            "csrf_token": csrf})
    assert response.status_code == 302, response.status_code
    results = []
    for label, path in PAGES:
        if path == "INCIDENT":
            path = f"/incidents/B{max(1, incidents // 2):07d}"  # one in the middle
        if path == "API":
            api = app.test_client()
            api.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
            results.append((label, measure(api, "/api/v1/incidents?status=open&limit=100",
                                           reps)))
            continue
        results.append((label, measure(client, path, reps)))
    return results


def table(title: str, results: list[tuple[str, list[float]]]) -> str:
    lines = [title, f"{'page':<42} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  target",
             "-" * 80]
    for label, samples in results:
        p95 = percentile(samples, 0.95)
        verdict = "ok" if p95 < TARGET_MS else "OVER"
        lines.append(f"{label:<42} {statistics.median(samples):8.1f} {p95:8.1f} "
                     f"{max(samples):8.1f}  {verdict}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="admin connection; the benchmark database is created beside it")
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--reps", type=int, default=200)
    parser.add_argument("--without-dashboard-indexes", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database (for profiling)")
    parser.add_argument("--reuse", metavar="NAME", help="measure a database kept earlier")
    parser.add_argument("--output", default=str(ROOT / "benchmarks/results/dashboard_scale.txt"))
    args = parser.parse_args()

    name = args.reuse or f"hotline_bench_{uuid.uuid4().hex[:8]}"
    base = args.pg.rsplit("/", 1)[0]
    conninfo = f"{base}/{name}"
    url = conninfo.replace("postgresql://", "postgresql+psycopg://")
    if not args.reuse:
        with psycopg.connect(args.pg, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    app = None
    try:
        app = create_app(settings(url))
        seeded = {"incidents": 0.0, "reports": 0.0, "vacuum analyze": 0.0}
        if not args.reuse:
            upgrade(app)
            with app.app_context():
                load_config(db.session, app.extensions["hotline_vault"], ROOT / "config")
                create_user(db.session, "bench@example.org", "admin", PASSWORD)
                db.session.commit()
            seeded = seed(conninfo, args.incidents, args.reports)
        with app.app_context():
            _row, token = tokens.create_token(db.session, "bench")
            db.session.commit()
        with psycopg.connect(conninfo) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM incidents), (SELECT count(*) FROM reports), "
                "(SELECT count(*) FROM incidents WHERE status IN "
                "('new','verifying','verified','routed','acknowledged'))").fetchone()
        header = (f"Dashboard at scale: {counts[0]:,} incidents ({counts[2]:,} open), "
                  f"{counts[1]:,} reports, PostgreSQL; {args.reps} requests per page after a "
                  f"warm-up, Flask test client (server time: routing, session, queries, "
                  f"templates). Target: p95 < {TARGET_MS:.0f} ms.\n"
                  f"Seeding took {seeded['incidents']:.1f} s (incidents), "
                  f"{seeded['reports']:.1f} s (reports), {seeded['vacuum analyze']:.1f} s "
                  f"(VACUUM ANALYZE).\n"
                  f"Command: .venv/bin/python benchmarks/dashboard_scale.py"
                  f"{' --without-dashboard-indexes' if args.without_dashboard_indexes else ''}")
        measured = run_pages(app, args.reps, token, counts[0])
        sections = [header, table("With the indexes of migration 0002:", measured)]
        if args.without_dashboard_indexes:
            with psycopg.connect(conninfo, autocommit=True) as conn:
                for index in DASHBOARD_INDEXES:
                    conn.execute(f"DROP INDEX {index}")
                conn.execute("ANALYZE incidents")
            db.state(app).engine.dispose()
            sections.append(table("Without ix_incidents_updated_at, "
                                  "ix_incidents_status_last_seen and "
                                  "ix_incidents_jurisdiction_last_seen:",
                                  run_pages(app, max(20, args.reps // 4), token, counts[0])))
        worst = max(percentile(samples, 0.95) for _, samples in measured)
        sections.append(f"RESULT incidents={counts[0]} reports={counts[1]} "
                        f"worst_p95_ms={worst:.1f} pages_over="
                        f"{sum(1 for _, v in measured if percentile(v, 0.95) >= TARGET_MS)} "
                        + " ".join(f"{re.sub(r'[^a-z0-9]+', '_', label.lower()).strip('_')}"
                                   f"_p95_ms={percentile(v, 0.95):.1f}" for label, v in measured))
        report = "\n\n".join(sections) + "\n"
        print(report)
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(report)
    finally:
        if app is not None:
            db.state(app).engine.dispose()
        if args.keep or args.reuse:
            print(f"kept database {name} (drop it with: DROP DATABASE {name})")
        else:
            with psycopg.connect(args.pg, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
