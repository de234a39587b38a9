"""Prometheus metrics of this process."""

from __future__ import annotations

import time

from flask import Flask, Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("hotline_http_requests_total", "HTTP requests", ["endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("hotline_http_request_seconds", "HTTP request latency", ["endpoint"],
                    registry=REGISTRY,
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))


def init_app(app: Flask) -> None:
    """Count and time every request by endpoint (not by URL: codes stay out of labels)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("request_started", None)
        endpoint = request.endpoint or "unknown"
        REQUESTS.labels(endpoint, str(response.status_code)).inc()
        if started is not None:
            LATENCY.labels(endpoint).observe(time.perf_counter() - started)
        return response
