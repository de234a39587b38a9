"""The broadcast pacer: each second holds `rate` slots and never more, a sender late for its
slot catches up while the second is open, and a slot whose second has closed is never used."""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter

import pytest
import redis

from hotline.broadcasts import sending
from hotline.broadcasts.sending import GUARD, LocalPacer, RedisPacer, next_slot, windows


def _slots(rate: float, stamps: list[float]) -> list[float]:
    """The slot times reservations made at `stamps` get, one after another."""
    held, got = None, []
    for now in stamps:
        at, _, held = next_slot(now, held, rate)
        got.append(at)
    return got


def test_each_second_holds_rate_slots_and_never_more():
    """Senders asking far faster than the rate: each second gets exactly `rate` slots, all in
    its first 1 - GUARD seconds, evenly spread."""
    slots = _slots(100.0, [1000.2] * 450)
    per_second = Counter(math.floor(at) for at in slots)
    assert max(per_second.values()) == 100
    assert [per_second[s] for s in (1001, 1002, 1003)] == [100, 100, 100]
    assert all(at - math.floor(at) < 1 - GUARD + 1e-9 for at in slots)
    gaps = [b - a for a, b in itertools.pairwise(slots) if math.floor(a) == math.floor(b)]
    assert gaps == pytest.approx([(1 - GUARD) / 100] * len(gaps))


def test_an_idle_pacer_starts_at_now_and_spaces_the_next_one_gap_on():
    first, second = _slots(100.0, [500.3, 500.3])
    gap = (1 - GUARD) / 100
    assert first == pytest.approx(500.3, abs=gap) and first >= 500.3 - 1e-9
    assert second - first == pytest.approx(gap)


def test_a_late_sender_catches_up_within_its_second():
    """Stalled for 0.2 s mid-second: the slots it missed are used at once, one after another,
    instead of being lost (the pacer of before lost all but one)."""
    gap = (1 - GUARD) / 100
    held, now = None, 700.1
    for _ in range(5):
        at, _, held = next_slot(now, held, 100.0)
        now = max(now, at)
    stalled = now + 0.2  # 21 slots missed
    waits = []
    for _ in range(25):
        at, close, held = next_slot(stalled, held, 100.0)
        waits.append(max(0.0, at - stalled))
        assert close == pytest.approx(701 - GUARD)
    assert waits[:21] == [0.0] * 21 and 0 < waits[21] <= gap


def test_sending_across_the_turn_of_a_second_catches_up_from_its_start():
    """Still behind when a second ends: its unused slots are gone, and the next second is
    used from its first slot, so a run that falls behind loses only what it missed at the
    turn."""
    held = (41, 90)  # second 41 had ten slots left
    at, close, held = next_slot(42.3, held, 100.0)
    assert at == pytest.approx(42.0) and close == pytest.approx(43 - GUARD) and held == (42, 1)


def test_a_slot_is_never_handed_out_in_a_closing_second():
    at, close, _ = next_slot(9.97, (9, 50), 100.0)  # within the guard of second 9
    assert at == pytest.approx(10.0) and close == pytest.approx(11 - GUARD)


def test_a_rate_under_one_a_second_gets_one_slot_per_window():
    assert windows(0.5) == (2.0, 1, 2.0 - GUARD)
    slots = _slots(0.5, [100.1] * 4)
    assert [b - a for a, b in itertools.pairwise(slots)] == pytest.approx([2.0, 2.0, 2.0])


def test_a_whole_number_of_sends_per_second():
    assert windows(2.5)[1] == 2 and windows(100.0)[1] == 100 and windows(1000.0)[1] == 1000


def test_the_local_pacer_waits_on_the_real_clock():
    pacer = LocalPacer()
    while not 0.05 < time.time() % 1 < 0.5:  # well inside a second
        time.sleep(0.01)
    (first, close), (second, _) = pacer.reserve(10.0), pacer.reserve(10.0)
    gap = (1 - GUARD) / 10
    assert 0 <= first <= gap and second - first == pytest.approx(gap, abs=0.01)
    assert 0 < close < 1


def test_a_slot_whose_second_closed_while_its_sender_slept_is_given_up(app, monkeypatch):
    """A busy process oversleeps past its slot's second: sent then, it could land one over the
    rate in the next second. It takes another slot instead."""
    pacer = LocalPacer()
    monkeypatch.setattr(sending, "pacer", lambda: pacer)
    asked = []
    real = pacer.reserve

    def counting(rate):
        asked.append(real(rate))
        return asked[-1]

    monkeypatch.setattr(pacer, "reserve", counting)
    slept = []

    def oversleep(seconds):
        slept.append(seconds)
        time.sleep(seconds + (1.1 if len(slept) == 1 else 0))

    with app.app_context():
        settings = app.config["SETTINGS"]
        pacer.reserve(settings.broadcast_rate)  # the pacer is busy: the next slot is ahead
        asked.clear()
        sending._wait_for_slot(settings, sleep=oversleep)
    assert len(asked) == 2  # the overslept slot was given up, a second one taken


@pytest.mark.redis
def test_the_redis_pacer_is_next_slot_on_redis_s_clock_for_every_worker(redis_url):
    connection = redis.Redis.from_url(redis_url)
    try:
        connection.delete(RedisPacer.KEY)
        a, b = RedisPacer(connection), RedisPacer(connection)  # two workers
        while not 0.05 < _redis_now(connection) % 1 < 0.4:
            time.sleep(0.01)
        began = _redis_now(connection)
        reserved = [pacer.reserve(2.0) for pacer in (a, b, a, b, a)]
        expected = _slots(2.0, [began] * 5)
        got = [began + wait for wait, _ in reserved]
        assert got == pytest.approx(expected, abs=0.02)
        # rate 2: two slots a second, the second's 0.95 s shared between them
        assert Counter(math.floor(at) for at in expected[1:]).most_common(1)[0][1] == 2
        # and a worker falling behind sends at once while the second is open
        connection.delete(RedisPacer.KEY)
        while not 0.05 < _redis_now(connection) % 1 < 0.3:
            time.sleep(0.01)
        a.reserve(100.0)
        time.sleep(0.1)  # ten slots missed
        waits = [b.reserve(100.0)[0] for _ in range(8)]
        assert waits == [0.0] * 8
    finally:
        connection.delete(RedisPacer.KEY)
        connection.close()


def _redis_now(connection: redis.Redis) -> float:
    seconds, micros = connection.time()
    return seconds + micros / 1_000_000
