"""Prometheus metrics of one server process (``GET /metrics``).

Each process keeps its own counters (a load balancer's processes are scraped one by one, as
Prometheus does with any multi-process service); the chain length is read from the database at
scrape time, so every process reports the shared log's true length.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST  # noqa: F401  (re-exported for app.py)

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("polc_http_requests", "HTTP requests by route, method and status",
                                ("route", "method", "status"), registry=r)
        self.request_seconds = Histogram("polc_http_request_seconds", "HTTP request latency by route",
                                         ("route",), buckets=LATENCY_BUCKETS, registry=r)
        self.resolve_seconds = Histogram("polc_resolve_seconds", "Latency of resolving a scope's active bundle "
                                         "(without long-poll waiting)", buckets=LATENCY_BUCKETS, registry=r)
        self.promotions = Counter("polc_promotions", "Promotions made", registry=r)
        self.rollbacks = Counter("polc_rollbacks", "Rollbacks made", registry=r)
        self.publications = Counter("polc_publications", "Bundles published (ACCEPTED)", registry=r)
        self.refusals = Counter("polc_refusals", "Requests refused, by error category", ("category",), registry=r)
        self.resolution_errors = Counter("polc_resolution_errors", "Resolve requests that failed, by category",
                                         ("category",), registry=r)
        self.chain_length = Gauge("polc_audit_chain_length", "Events in the audit log", registry=r)
        self.idempotent_replays = Counter("polc_idempotent_replays", "Retries answered from an Idempotency-Key",
                                          registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
