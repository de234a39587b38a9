"""The structure holds: routing listens where every app is made, the locked accessor reads
afresh, and `Incident.flags` holds markers (and an open re-verify's round), written by the
lifecycle alone."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.incidents import lifecycle
from hotline.models import Incident
from tests.conftest import ROOT
from tests.test_cli import clean_env

# how each kind of process builds its app: gunicorn from the Procfile's `web` line, the
# `hotline worker` process, and every other `hotline` command
ENTRY_POINTS = {
    "web": "from gunicorn.util import import_app; import_app('hotline:create_app()')",
    "worker": "from workers.base import worker_app; worker_app()",
    "cli": "from hotline.cli import _app; _app()",
}


@pytest.mark.parametrize("kind", sorted(ENTRY_POINTS))
def test_routing_hears_its_signals_in_every_kind_of_app(kind, tmp_path):
    """Delivery outcomes and verified incidents reach routing in web, worker and CLI apps
    alike; in a fresh process nothing is connected until the app is made."""
    code = "\n".join([
        "from hotline.routing import receivers",
        "before = receivers.connected()",
        ENTRY_POINTS[kind],
        "print(before, receivers.connected())",
    ])
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                            text=True, timeout=60,
                            env=clean_env(HOTLINE_INSTANCE=str(tmp_path)))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True"]


@pytest.mark.postgres
def test_the_locked_accessor_reads_the_row_afresh(pg_app):
    """Session A has the incident loaded (`routed`); B locks it, acknowledges it and commits;
    A's lock must then see `acknowledged`, not its stale copy."""
    with pg_app.app_context():
        incident = Incident(code="LOCK", status="routed")
        db.session.add(incident)
        db.session.commit()
        incident_id = incident.id
        with db.new_session() as a, db.new_session() as b:
            stale = a.get(Incident, incident_id)
            assert stale.status == "routed"
            a.commit()  # A's transaction ends; its identity map keeps the loaded row
            locked = lifecycle.lock(b, incident_id)
            locked.status = "acknowledged"
            b.commit()
            fresh = lifecycle.lock(a, incident_id)
            assert fresh is stale and fresh.status == "acknowledged"
            a.rollback()


def test_markers_are_named_and_set_once(app):
    with app.app_context():
        incident = Incident(code="MARK", status="new", flags={})
        assert lifecycle.mark(incident, "flood", "rate_limited") == ["flood", "rate_limited"]
        assert lifecycle.mark(incident, "flood") == []
        assert not lifecycle.held(incident)  # a flood's signs are shown, verification goes on
        assert lifecycle.mark(incident, "hold", reason="checking") == ["hold"]
        assert lifecycle.held(incident) and lifecycle.reason_of(incident, "hold") == "checking"
        assert lifecycle.unmark(incident, "hold", "denunciation") == ["hold"]
        with pytest.raises(ValueError, match="unknown incident markers"):
            lifecycle.mark(incident, "places")


def test_incident_state_has_one_writer_each():
    """No module but the owner assigns an incident's state columns; no module but the
    lifecycle assigns its markers."""
    owners = {
        "places": {"hotline/incidents/clustering.py"},
        "verify_round": {"hotline/incidents/verification.py"},
        "reputation_applied": {"hotline/incidents/credibility.py"},
        "relay_responder_id": {"hotline/intake/conversation.py"},
        "relay_at": {"hotline/intake/conversation.py"},
        "policy_snapshot": {"hotline/routing/escalation.py"},
        "flags": {"hotline/incidents/lifecycle.py"},
    }
    import re

    writers: dict[str, set[str]] = {name: set() for name in owners}
    for path in sorted((ROOT / "hotline").rglob("*.py")):
        text = path.read_text()
        for name in owners:
            # `incident.places = ...`, `row.relay_at, x = ...`, `source.flags = ...`
            if re.search(rf"\b(incident|source|target|new|row)\.{name}\b[^=\n]*=(?!=)", text):
                writers[name].add(str(path.relative_to(ROOT)))
    assert writers == owners


def test_the_session_sees_no_stale_incident_after_lock(app):
    """On SQLite too the accessor refreshes what the session holds."""
    with app.app_context():
        incident = Incident(code="SQLT", status="new")
        db.session.add(incident)
        db.session.commit()
        loaded = db.session.get(Incident, incident.id)
        db.session.execute(Incident.__table__.update().where(Incident.id == incident.id)
                           .values(status="verifying"))
        assert loaded.status == "new"
        assert lifecycle.lock(db.session, incident.id).status == "verifying"
        assert db.session.scalar(select(Incident.status)) == "verifying"
