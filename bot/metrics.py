"""Prometheus metrics owned by one app instance (its own registry, so tests can build many apps).

When `csbot serve` answers with several processes, each keeps its values in a shared directory
and /metrics, whichever process answers it, reports the sum (`share_across_processes`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
#: prometheus_client's variable for the directory of per-process values.
SHARED_DIRECTORY_ENV = "PROMETHEUS_MULTIPROC_DIR"
_shared_directory: str | None = None


def share_across_processes(directory: str) -> None:
    """Keep the values of every metric created from now on in `directory` (one file per process).

    prometheus_client chooses where values live when it is first imported, from the environment;
    `csbot serve` only knows after reading its settings, so it switches explicitly, before the app
    (and any metric) exists. Child processes inherit the variable."""
    global _shared_directory  # noqa: PLW0603 - one choice per process, made once at start
    os.environ[SHARED_DIRECTORY_ENV] = directory
    values.ValueClass = values.MultiProcessValue()
    _shared_directory = directory


def forget_process(pid: int) -> None:
    """A serving process has exited: drop its live gauge values (its counters keep counting in the sum)."""
    if _shared_directory is not None:
        mark_process_dead(pid, _shared_directory)


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
        self.outbox_pending = Gauge(
            "csbot_outbox_pending",
            "Outbox messages waiting for delivery",
            registry=r,
            multiprocess_mode="livemax",  # only the process running the workers sets it
        )

        self.paypal_webhooks = Counter(
            "csbot_paypal_webhooks_total", "PayPal webhook deliveries by result", ["result"], registry=r
        )
        self.paypal_events_applied = Counter(
            "csbot_paypal_events_applied_total", "PayPal events applied by the worker", ["outcome"], registry=r
        )

    def render(self) -> bytes:
        if _shared_directory is None:
            return generate_latest(self.registry)
        every_process = CollectorRegistry()
        MultiProcessCollector(every_process, _shared_directory)
        return generate_latest(every_process)
