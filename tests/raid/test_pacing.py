"""Sender pacing on raid day: no reservation without a send, pages before replies, never over a
sender's rate, with any number of workers."""

from __future__ import annotations

import time

import pytest
import redis
from sqlalchemy import create_engine, text

from hotline import create_app
from hotline.core.extensions import db
from hotline.messaging import outbound
from hotline.messaging.pacing import SPACING, LocalSenderLimiter, RedisSenderLimiter
from hotline.models import Alert, Incident, Responder
from tests.conftest import PG_ADMIN, base_settings, create_database, drop_database, process_env
from tests.raid import busiest_second
from tests.servers import worker


@pytest.fixture
def limiter(redis_url):
    connection = redis.Redis.from_url(redis_url)
    yield RedisSenderLimiter(connection)
    connection.close()


@pytest.mark.redis
def test_the_reservation_script_spaces_slots_and_lets_a_page_jump_the_replies(limiter):
    gap = SPACING / 2.0  # rate 2/s
    low = [limiter.reserve(["+1555"], 2.0, member=f"r{i}", low=True) for i in range(5)]
    assert [w for _, w in low] == pytest.approx([i * gap for i in range(5)], abs=0.1)
    # the page takes the earliest low-lane slot that is not about to go (r0 is at 0, r1 at
    # 0.55: both further than LEAD? r0 is now, so it keeps its slot)
    sender, wait = limiter.reserve(["+1555"], 2.0, member="page")
    assert sender == "+1555" and wait == pytest.approx(gap, abs=0.1)
    # r1 was pushed to the end of the line, behind r4: every slot is still used exactly once
    state, wait_r1 = limiter.claim("+1555", "r1")
    assert state == "wait" and wait_r1 == pytest.approx(5 * gap, abs=0.1)
    state, _ = limiter.claim("+1555", "r0")
    assert state == "go"  # its slot is now: it takes it for good
    assert limiter.claim("+1555", "r0") == ("gone", 0.0)
    state, wait_r2 = limiter.claim("+1555", "r2")
    assert state == "wait" and wait_r2 == pytest.approx(2 * gap, abs=0.1)
    # the next reservation of any lane comes after everything held
    _, last = limiter.reserve(["+1555"], 2.0, member="r5", low=True)
    assert last == pytest.approx(6 * gap, abs=0.1)


@pytest.mark.redis
def test_a_page_spreads_over_senders_and_never_takes_a_slot_about_to_go(limiter):
    x_sender, _ = limiter.reserve(["+1a", "+1b"], 1.0, member="x", low=True)
    y_sender, _ = limiter.reserve(["+1a", "+1b"], 1.0, member="y", low=True)
    assert {x_sender, y_sender} == {"+1a", "+1b"}  # one reply on each sender, both now
    # both low slots are now (within LEAD): the page takes the next free slot instead
    sender, wait = limiter.reserve(["+1a", "+1b"], 1.0, member="page")
    assert wait == pytest.approx(SPACING, abs=0.1)
    # and the replies kept theirs
    assert limiter.claim(x_sender, "x")[0] == "go" and limiter.claim(y_sender, "y")[0] == "go"


def test_the_local_limiter_behaves_like_the_script():
    local = LocalSenderLimiter()
    gap = SPACING / 2.0
    waits = [local.reserve(["+1555"], 2.0, member=f"r{i}", low=True)[1] for i in range(4)]
    assert waits == pytest.approx([i * gap for i in range(4)], abs=0.1)
    _, page = local.reserve(["+1555"], 2.0, member="page")
    assert page == pytest.approx(gap, abs=0.1)
    state, moved = local.claim("+1555", "r1")
    assert state == "wait" and moved == pytest.approx(4 * gap, abs=0.1)


def _queue_mixed(app, replies: int, pages: int) -> tuple[list[int], list[int]]:
    """`replies` follow-up questions to reporters in one transaction, then `pages` pages to
    lawyers (each an alert) in the next."""
    vault = app.extensions["hotline_vault"]
    with app.app_context():
        low = [outbound.queue_sms(db.session, vault, f"+1312555{1000 + i:04d}",
                                  f"HOTLINE: where is it happening? ({i})", "ask_location").id
               for i in range(replies)]
        db.session.commit()
        incident = Incident(code="PACE", status="routed")
        db.session.add(incident)
        db.session.flush()
        lawyer = db.session.query(Responder).filter_by(role="lawyer").first()
        high = []
        for step in range(pages):
            alert = Alert(incident_id=incident.id, responder_id=lawyer.id, kind="page",
                          step=step, round=0, status="queued")
            db.session.add(alert)
            db.session.flush()
            high.append(outbound.queue_sms(db.session, vault, f"+1773555{2000 + step:04d}",
                                           f"HOTLINE PACE: page {step}", "page",
                                           alert_id=alert.id).id)
        db.session.commit()
    return low, high


@pytest.mark.e2e
@pytest.mark.postgres
@pytest.mark.redis
def test_three_workers_one_number_send_everything_once_at_the_rate_pages_first(
        standin, redis_url, tmp_path):
    """60 messages queued at once (50 follow-ups, then 10 pages) through three `hotline worker`
    processes and one sending number at 4/s: each sent exactly once, no two closer than the
    rate allows, and the pages go first (they used to be sent last, or never: the old pacing
    re-queued a message without giving its slot back and the schedule ran away)."""
    rate = 4.0
    url = create_database(PG_ADMIN, "hotline_pacing")
    extra = {"TWILIO_API_BASE_URL": standin.url, "TWILIO_FROM_NUMBER": "+15555550100",
             "HOTLINE_SENDER_RATE": str(rate)}
    env = process_env(DATABASE_URL=url, REDIS_URL=redis_url, HOTLINE_LOG_LEVEL="INFO", **extra)
    app = create_app(base_settings(DATABASE_URL=url, REDIS_URL=redis_url, **extra))
    workers = []
    try:
        workers = [worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
        time.sleep(2)  # the workers are listening
        low, high = _queue_mixed(app, 50, 10)
        engine = create_engine(url)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                sent = conn.scalar(text("SELECT count(*) FROM messages WHERE direction = "
                                        "'outbound' AND status = 'sent'"))
            if sent == 60:
                break
            time.sleep(0.5)
        engine.dispose()
        creates = [r for r in standin.creates()]
        assert sent == 60, workers[0].output()[-3000:]
        bodies = [r.form["Body"] for r in creates]
        assert len(bodies) == 60 and len(set(bodies)) == 60  # each exactly once
        stamps = [r.at for r in creates]
        # arrivals at Twilio: in no second more than the rate (less the network's jitter, see
        # tests/raid); the old schedule ran away: 5+ in such a window
        busiest = busiest_second(stamps)
        assert busiest <= rate, (busiest, stamps)
        # ... and the sending keeps to the rate overall (nothing batched up and let go at once)
        assert stamps[-1] - stamps[0] >= (len(stamps) - 1) * SPACING / rate - 1.0
        order = [i for i, body in enumerate(bodies) if body.startswith("HOTLINE PACE")]
        # the pages were queued after 50 follow-ups and still all left among the first ones
        assert order[-1] < 10 + 6, (order, bodies[:20])
    finally:
        for process in workers:
            process.stop()
        db.state(app).engine.dispose()
        drop_database(url)


@pytest.mark.redis
def test_a_slot_missed_by_more_than_late_is_given_up_not_used(limiter):
    """Sending long after its slot could crowd the next one: the slot is given up, unused."""
    from hotline.messaging.pacing import LATE

    _, wait = limiter.reserve(["+1777"], 100.0, member="slow", low=True)
    assert wait == pytest.approx(0.0, abs=0.05)
    time.sleep(LATE + 0.1)
    assert limiter.claim("+1777", "slow") == ("gone", 0.0)


@pytest.mark.redis
def test_the_shared_clock_is_carried_forward_only_from_a_quick_reading(limiter, monkeypatch):
    """Each worker reads Redis's clock once a second and counts on its own in between; a
    reading that took long (the worker was descheduled around it) is never carried forward,
    as its error would put this worker's slots early against the others'."""
    real = limiter.redis.time
    seconds, micros = real()
    assert abs(limiter.now() - (seconds + micros / 1e6)) < 0.05
    limiter._synced = None

    def slow_time():
        time.sleep(0.05)
        return real()

    monkeypatch.setattr(limiter.redis, "time", slow_time)
    limiter.now()
    assert limiter._synced is None  # a slow reading: used once, not kept
    monkeypatch.setattr(limiter.redis, "time", real)
    first = limiter.now()
    assert limiter._synced is not None
    calls = []
    monkeypatch.setattr(limiter.redis, "time", lambda: calls.append(1) or real())
    assert limiter.now() >= first and not calls  # carried forward, no round trip
