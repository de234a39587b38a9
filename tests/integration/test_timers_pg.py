"""Timers survive losing Redis: the outbox sweeper re-arms every escalation timer RQ lost."""

from __future__ import annotations

import pytest
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select

from hotline.core.extensions import db
from hotline.incidents import actions
from hotline.jobs import outbox, sweeper
from hotline.models import Incident, OutboxJob
from tests.conftest import sending_settings
from workers.start import run_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def test_lost_escalation_timer_is_rearmed(make_pg_app, redis_url, standin, twilio):
    app = make_pg_app(REDIS_URL=redis_url, **sending_settings(standin))
    client = app.test_client()
    twilio.post_sms(client, "ICE at 18th and Ashland in Pilsen", from_number="+17735550120")
    run_worker(app, burst=True)
    with app.app_context():
        incident = db.session.scalar(select(Incident))
        actions.apply_action(db.session, incident, {"action": "verify"}, "user:1")
        db.session.commit()
        timer = db.session.scalar(select(OutboxJob).where(
            OutboxJob.job == "escalation_timer"))
        assert timer is not None and timer.done_at is None
    backend = outbox.backend_of(app)
    scheduled = ScheduledJobRegistry("timers", connection=backend.redis)
    assert f"outbox-{timer.id}" in scheduled.get_job_ids()

    backend.redis.flushdb()  # Redis restarted without persistence: every timer is gone
    assert scheduled.get_job_ids() == []
    with app.app_context():
        row = db.session.get(OutboxJob, timer.id)
        row.created_at = row.created_at - sweeper.SWEEP_GRACE * 2
        db.session.commit()
        handed = sweeper.sweep_outbox(db.session, backend)
        db.session.commit()
    assert handed >= 1
    assert f"outbox-{timer.id}" in scheduled.get_job_ids()  # armed again, same due time
