"""Prometheus metrics: one registry per running bot (not the library's global one), so
tests and several apps in one process never share counters."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.alerts_fired = Counter(
            "divbot_alerts_fired", "Alerts raised (recorded), by family", ["family"], registry=r
        )
        self.deliveries = Counter(
            "divbot_deliveries", "Delivery attempts by outcome", ["platform", "outcome"], registry=r
        )
        self.outbox_depth = Gauge(
            "divbot_outbox_depth", "Deliveries queued or in flight", registry=r
        )
        self.alerts_owed = Gauge(
            "divbot_alerts_owed", "Alerts recorded, not yet handed to every chat", registry=r
        )
        self.leader = Gauge("divbot_leader", "1 while this replica runs the watchers", registry=r)
        self.dead_letters = Gauge("divbot_outbox_dead", "Deliveries given up", registry=r)
        self.source_healthy = Gauge(
            "divbot_source_healthy", "1 if the source answered well", ["source"], registry=r
        )
        self.poll_seconds = Histogram(
            "divbot_poll_seconds", "Quote poll latency", ["job"], registry=r
        )
        self.command_seconds = Histogram(
            "divbot_command_seconds", "Command latency", ["command"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
