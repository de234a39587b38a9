"""The webhook benchmark's alternating rounds: how they are added up and compared."""

from __future__ import annotations

import pytest

from benchmarks.webhook import Endpoint, Run, combined, round_ratios


def _run(requests: int, seconds: float, p99: float, server_ms: float) -> Run:
    return Run(requests=requests, p50_ms=p99 / 4, p90_ms=p99 / 2, p99_ms=p99, max_ms=p99 * 2,
               sent=requests + 2, ok=requests, non200=0, socket_errors=0, codes="200",
               seconds=seconds, wrapped=0, cpu_busy=0.9,
               cpu_ms={"server": server_ms, "postgres": 0.2, "redis": 0.05, "wrk": 0.05})


def test_the_ratio_is_the_median_of_the_rounds_own():
    b = Endpoint("b", "floor", "app", {}, 1)
    c = Endpoint("c", "hotline", "app", {}, 2)
    # the machine slows down by half in round 2: each round's ratio stays 0.8 by requests
    b.rounds = [_run(1000, 1, 20, 1.0), _run(500, 1, 40, 2.0), _run(1000, 1, 20, 1.0)]
    c.rounds = [_run(800, 1, 25, 1.3), _run(400, 1, 50, 2.6), _run(900, 1, 30, 1.3)]
    ratios = round_ratios(b, c)
    assert ratios["rps"] == pytest.approx(0.8)
    assert ratios["p99"] == pytest.approx(1.25)
    # by CPU: capacity = 2000 / (server + postgres + redis + wrk) ms
    assert ratios["cpu"] == pytest.approx(1.3 / 1.6)


def test_rounds_combined_add_up_answers_and_weigh_cpu_by_answers():
    total = combined([_run(1000, 2, 20, 1.0), _run(500, 1, 40, 2.5)])
    assert (total.requests, total.seconds, total.sent) == (1500, 3, 1504)
    assert total.cpu_ms["server"] == pytest.approx((1000 * 1.0 + 500 * 2.5) / 1500)
    assert total.p99_ms == 30 and total.max_ms == 80


def test_every_run_of_an_endpoint_is_checked():
    ep = Endpoint("c", "hotline", "app", {}, 2)
    ep.warmup, ep.paced = _run(10, 1, 5, 1), _run(20, 1, 5, 1)
    ep.rounds = [_run(30, 1, 5, 1), _run(40, 1, 5, 1)]
    ep.measured = combined(ep.rounds)
    assert [r.requests for r in ep.runs()] == [10, 30, 40, 20]
    ep.rounds = []
    assert [r.requests for r in ep.runs()] == [10, 70, 20]
