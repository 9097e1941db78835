"""Prometheus metrics owned by one app instance (its own registry, so tests can build many apps)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    """Every metric the bot exports; later features add theirs here so /metrics stays one place."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    #: Labelled children of the HTTP metrics, found once per (route, method, status): every request
    #: records both, and `labels()` costs a lock and a key build each time.
    _http_children: dict[tuple[str, str, str], tuple[Any, Any]] = field(default_factory=dict, repr=False)

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one HTTP request and time it (by route template, never by raw path)."""
        key = (route, method, str(status))
        children = self._http_children.get(key)
        if children is None:
            children = (self.http_requests.labels(*key), self.http_latency.labels(route, method))
            self._http_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def __post_init__(self) -> None:
        r = self.registry
        self.http_requests = Counter(
            "csbot_http_requests_total",
            "HTTP requests by route and status",
            ["route", "method", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "csbot_http_request_duration_seconds",
            "HTTP request latency by route",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.slack_listener_errors = Counter(
            "csbot_slack_listener_errors_total",
            "Slack listener failures answered by the error handler",
            registry=r,
        )
        self.slack_events_duplicate = Counter(
            "csbot_slack_events_duplicate_total", "Events API deliveries skipped as duplicates", registry=r
        )
        self.outbox_delivered = Counter(
            "csbot_outbox_delivered_total", "Outbox messages delivered to Slack", registry=r
        )
        self.outbox_retried = Counter(
            "csbot_outbox_retries_total", "Outbox delivery attempts postponed", ["reason"], registry=r
        )
        self.outbox_dead = Counter("csbot_outbox_dead_total", "Outbox messages given up on", registry=r)
        self.outbox_pending = Gauge("csbot_outbox_pending", "Outbox messages waiting for delivery", registry=r)

        self.paypal_webhooks = Counter(
            "csbot_paypal_webhooks_total", "PayPal webhook deliveries by result", ["result"], registry=r
        )
        self.paypal_events_applied = Counter(
            "csbot_paypal_events_applied_total", "PayPal events applied by the worker", ["outcome"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
