"""Prometheus metrics of this process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter("hotline_http_requests_total", "HTTP requests", ["endpoint", "status"],
                   registry=REGISTRY)
LATENCY = Histogram("hotline_http_request_seconds", "HTTP request latency", ["endpoint"],
                    registry=REGISTRY,
                    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
