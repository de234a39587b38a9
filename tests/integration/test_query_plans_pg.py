"""The statements every triage job runs read what the message needs, not the whole table: on a
database the size of a network's after some months (100,000 reporters, reports and incidents;
200,000 messages and outbox jobs), their plans on PostgreSQL scan no big table, and they give
the right numbers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from hotline import create_app
from hotline.core.extensions import db, for_driver
from hotline.incidents.abuse import _IN_WINDOW_PG, flood_query
from hotline.incidents.clustering import _CANDIDATES_PG
from hotline.incidents.credibility import MEMBERS_PG
from hotline.intake.dispatch import _PENDING
from hotline.jobs.sweeper import pending_query
from hotline.models import Incident
from tests.conftest import base_settings, create_database, drop_database

pytestmark = [pytest.mark.postgres]

REPORTERS = 100_000
IN_INCIDENT = 80  # reporters 1..80 reported the incident, the first with a track record


@pytest.fixture(scope="module")
def big() -> Iterator[tuple[str, int]]:
    """(libpq URL, the incident's id) of a database of its own, filled and analysed."""
    url = create_database(prefix="hotline_plans")
    app = create_app(base_settings(DATABASE_URL=url))
    with app.app_context():
        incident = Incident(code="PLAN", status="verifying")
        db.session.add(incident)
        db.session.commit()
        incident_id = incident.id
    db.state(app).engine.dispose()
    libpq = url.replace("+psycopg", "")
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO reporters (phone_hmac, trust_score, confirmed_count, false_alarm_count,"
            " opted_out, blocked, consent_contact, created_at, last_seen_at)"
            " SELECT 'h' || g, 0.5, CASE WHEN g = 1 THEN 3 ELSE 0 END,"
            " CASE WHEN g = 1 THEN 1 ELSE 0 END, false, false, false, now(), now()"
            " FROM generate_series(1, %s) g", (REPORTERS,))
        conn.execute(
            "INSERT INTO reports (reporter_id, incident_id, channel, language, salute, location,"
            " needs_location, confidence, state, flags, media, created_at, updated_at)"
            " SELECT r.id, CASE WHEN r.id <= %s THEN %s END, 'sms', 'en', '{}', '{}', false, 0,"
            " CASE WHEN r.id %% 50 = 0 THEN 'awaiting_location' ELSE 'complete' END, '{}', '[]',"
            " now() - r.id * interval '1 minute', now()"
            " FROM reporters r ORDER BY r.id", (IN_INCIDENT, incident_id))
        # two texts a reporter over the last days; incidents long closed
        conn.execute(
            "INSERT INTO messages (twilio_sid, direction, channel, reporter_id,"
            " counterpart_hmac, media, status, flags, received_at)"
            " SELECT 'SM' || g, 'inbound', 'sms', 1 + g %% %s, 'h' || (1 + g %% %s), '[]',"
            " 'received', '{}', now() - g * interval '5 seconds'"
            " FROM generate_series(1, %s) g", (REPORTERS, REPORTERS, 2 * REPORTERS))
        conn.execute(
            "INSERT INTO incidents (code, status, score, score_reasons, salute, flags,"
            " first_seen_at, last_seen_at, updated_at, jurisdiction_id)"
            " SELECT 'C' || g, 'closed', 0, '[]', '{}', '{}', now() - g * interval '1 minute',"
            " now() - g * interval '1 minute', now(), (SELECT min(id) FROM jurisdictions)"
            " FROM generate_series(1, %s) g", (REPORTERS,))
        # and one open there, seen a minute ago
        conn.execute(
            "INSERT INTO incidents (code, status, score, score_reasons, salute, flags,"
            " first_seen_at, last_seen_at, updated_at, jurisdiction_id)"
            " SELECT 'NEAR', 'verifying', 0, '[]', '{}', '{}', now() - interval '1 minute',"
            " now() - interval '1 minute', now(), min(id) FROM jurisdictions")
        # every message's triage job, done; a few pending
        conn.execute(
            "INSERT INTO outbox_jobs (job, args, run_at, created_at, attempts, done_at)"
            " SELECT 'triage_message', json_build_array(g), now() - g * interval '1 minute',"
            " now() - g * interval '1 minute', 1,"
            " CASE WHEN g > 3 THEN now() - g * interval '1 minute' END"
            " FROM generate_series(1, %s) g", (2 * REPORTERS,))
        for table in ("reporters", "reports", "messages", "incidents", "outbox_jobs"):
            conn.execute(f"ANALYZE {table}")
    yield libpq, incident_id
    drop_database(url)


def _plan(conn: psycopg.Connection, sql: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """(node type, table) of every node of the statement's plan, as run: a node that read and
    threw away more than a thousand rows counts as a "Seq Scan" too (a backward walk of a
    primary key through the whole history is one in all but name)."""
    cursor = psycopg.ClientCursor(conn)  # EXPLAIN takes the parameters written in
    cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
    nodes, todo = [], [cursor.fetchone()[0][0]["Plan"]]
    while todo:
        node = todo.pop()
        table = node.get("Relation Name", "")
        nodes.append((node["Node Type"], table))
        if node.get("Rows Removed by Filter", 0) * node.get("Actual Loops", 1) > 1000:
            nodes.append(("Seq Scan", table))
        todo.extend(node.get("Plans", []))
    return nodes


@pytest.mark.parametrize("adding", [None, IN_INCIDENT + 7, 1])
def test_the_credibility_aggregate_reads_only_the_incidents_reporters(big, adding):
    """It used to be `id IN (...) OR id = :adding`, which no index answers: PostgreSQL read all
    100,000 reporters for every message that joined an incident (about 24 ms against 1 ms)."""
    url, incident_id = big
    params = {"incident": incident_id, "adding": adding}
    with psycopg.connect(url) as conn:
        plan = _plan(conn, MEMBERS_PG, params)
        assert ("Seq Scan", "reporters") not in plan, plan
        assert ("Seq Scan", "reports") not in plan, plan
        distinct, trust, confirmed, false = conn.execute(MEMBERS_PG, params).fetchone()
    # the one being added counts once, whether or not the incident already has them
    members = IN_INCIDENT + (1 if adding is not None and adding > IN_INCIDENT else 0)
    assert (distinct, confirmed, false) == (members, 3, 1)
    # neutral prior 1/2 for everyone but reporter 1: (3 + 1) / (3 + 1 + 2)
    assert trust == pytest.approx((members - 1) * 0.5 + 4 / 6)


def test_the_rate_limit_count_reads_only_the_senders_messages(big):
    url, _ = big
    now = datetime.now(UTC)
    params = {"hmac": "h42", "start": now - timedelta(hours=1), "end": now, "up_to": 10 ** 9}
    with psycopg.connect(url) as conn:
        plan = _plan(conn, _IN_WINDOW_PG, params)
        assert ("Seq Scan", "messages") not in plan, plan
        # h42 wrote 205 s before the fixture's inserts (message 41), then not for days
        assert conn.execute(_IN_WINDOW_PG, params).fetchone()[0] == 1


def test_the_candidate_incidents_are_read_by_index(big):
    url, _ = big
    with psycopg.connect(url) as conn:
        jurisdiction = conn.execute("SELECT min(id) FROM jurisdictions").fetchone()[0]
        params = {"since": datetime.now(UTC) - timedelta(hours=2), "jurisdiction": jurisdiction}
        plan = _plan(conn, _CANDIDATES_PG, params)
        assert ("Seq Scan", "incidents") not in plan, plan
        found = [row[0] for row in conn.execute(_CANDIDATES_PG, params).fetchall()]
        # the open one; never the 100,000 closed ones (nor PLAN, of no jurisdiction)
        near = conn.execute("SELECT id FROM incidents WHERE code = 'NEAR'").fetchone()[0]
        assert found == [near]


def test_a_reporters_pending_where_is_read_by_index(big):
    url, _ = big
    with psycopg.connect(url) as conn:
        # 2,000 reports wait for their place; reporter 50's is one of them
        plan = _plan(conn, for_driver(_PENDING), {"reporter": 50})
        assert ("Seq Scan", "reports") not in plan, plan
        pending = conn.execute(for_driver(_PENDING), {"reporter": 50}).fetchall()
        assert [row[0] for row in pending] == [50]  # its report (ids follow the reporters')
        assert conn.execute(for_driver(_PENDING), {"reporter": 42}).fetchall() == []


def test_the_flood_check_reads_only_the_last_minutes(big):
    """A new incident looks at its jurisdiction's first-time reporters of the last minutes: by
    (jurisdiction, time), never a walk of every report's index (it used to read the whole
    `ix_reports_reporter_created` for its second column)."""
    url, _ = big
    sql = for_driver(flood_query(None, datetime.now(UTC) - timedelta(minutes=10)))
    with psycopg.connect(url) as conn:
        plan = _plan(conn, sql, {})
        assert ("Seq Scan", "reports") not in plan and ("Seq Scan", "reporters") not in plan, \
            plan
        (explained,) = conn.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql,
                                     {}).fetchone()
        top = explained[0]["Plan"]
        # nine reports of the last ten minutes: a few pages, not the 100,000 reports' index
        assert top["Shared Hit Blocks"] + top["Shared Read Blocks"] < 100, top


def test_the_sweeper_reads_only_pending_jobs(big):
    """Every ten seconds on every worker: the pending jobs, not the history of done ones."""
    url, _ = big
    sql = for_driver(pending_query(datetime.now(UTC)))
    with psycopg.connect(url) as conn:
        plan = _plan(conn, sql, {})
        assert ("Seq Scan", "outbox_jobs") not in plan, plan
        assert len(conn.execute(sql, {}).fetchall()) == 3
