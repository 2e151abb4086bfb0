"""The console's figures as Prometheus metrics (prometheus-client), read from the database at scrape
time: every web process answers the same.

- ``kato_instance_up`` (1 healthy, 0 unhealthy; absent for an instance that is offline, not yet
  ready, or whose health check is off) and ``kato_instance_probe_latency_seconds`` (the last probe's),
  labelled team, application, component and address;
- ``kato_sweep_last_round_duration_seconds``, ``kato_sweep_last_round_probes`` and
  ``kato_sweep_last_round_timestamp_seconds`` (alert when it stops moving: the sweep has stopped);
- ``kato_instance_api_requests_total`` by status.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from instances.models import Health
from kato_console.monitoring import selectors

INSTANCE_LABELS = ["team", "application", "component", "address"]


class ConsoleCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from _instance_metrics()
        yield from _sweep_metrics()
        yield _api_request_metric()


def _instance_metrics() -> Iterator[Metric]:
    up = GaugeMetricFamily(
        "kato_instance_up",
        "1 when the instance passed its health check, 0 when it failed it; absent when offline or not ready.",
        labels=INSTANCE_LABELS,
    )
    latency = GaugeMetricFamily(
        "kato_instance_probe_latency_seconds",
        "How long the instance's last health-check probe took.",
        labels=INSTANCE_LABELS,
    )
    for row in selectors.monitored_instances():
        labels = [row.team, row.application, row.component, row.address]
        if row.health in (Health.HEALTHY, Health.UNHEALTHY):
            up.add_metric(labels, 1.0 if row.health == Health.HEALTHY else 0.0)
        if row.latency_ms is not None:
            latency.add_metric(labels, row.latency_ms / 1000)
    yield up
    yield latency


def _sweep_metrics() -> Iterator[Metric]:
    last = selectors.last_sweep_round()
    if last is None:
        return
    yield GaugeMetricFamily(
        "kato_sweep_last_round_duration_seconds", "How long the sweep's last round took.", value=last.seconds
    )
    yield GaugeMetricFamily(
        "kato_sweep_last_round_probes", "How many instances the sweep's last round probed.", value=last.probed
    )
    yield GaugeMetricFamily(
        "kato_sweep_last_round_timestamp_seconds",
        "When the sweep's last round finished (Unix time).",
        value=last.finished_at.timestamp(),
    )


def _api_request_metric() -> Metric:
    requests = CounterMetricFamily(
        "kato_instance_api_requests",
        "Requests the instance API answered, by HTTP status (added up by each process every "
        "KATO_METRICS_FLUSH_S seconds).",
        labels=["status"],
    )
    for status, count in selectors.api_request_counts():
        requests.add_metric([str(status)], count)
    return requests


# No description at registration: registering would otherwise run a scrape's queries.
REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(ConsoleCollector())


def exposition() -> bytes:
    """The metrics in the Prometheus text format."""
    return generate_latest(REGISTRY)
