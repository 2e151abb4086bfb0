"""The console's figures as Prometheus metrics, read from the database at scrape time: every web
process answers the same.

- ``kato_instance_up`` (1 healthy, 0 unhealthy; absent for an instance that is offline, not yet
  ready, or whose health check is off) and ``kato_instance_probe_latency_seconds`` (the last probe's),
  labelled team, application, component and address;
- ``kato_sweep_last_round_duration_seconds``, ``kato_sweep_last_round_probes`` and
  ``kato_sweep_last_round_timestamp_seconds`` (alert when it stops moving: the sweep has stopped);
- ``kato_instance_api_requests_total`` by status;
- ``kato_instance_certificate_expiry_timestamp_seconds``: when the certificate an instance's last
  TLS probe saw expires (HTTPS checks, and database probes that negotiated TLS);
- ``kato_component_uptime_percent`` (window 24h, 7d, 30d: the share of passing probes, from the
  probe history; absent without probes), labelled team, application and component.

The two per-instance families are written here in the text format, not through prometheus-client:
at 10,000 instances the library's per-sample label validation and escaping took 700 ms of a scrape
(bench/RESULTS.md), and these labels are known and few. The library writes the rest, and its parser
reads the whole answer back in the tests.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from instances import history
from instances.addresses import format_address
from instances.models import Health
from kato_console.monitoring import selectors

UP = "kato_instance_up"
LATENCY = "kato_instance_probe_latency_seconds"
UPTIME = "kato_component_uptime_percent"
CERT = "kato_instance_certificate_expiry_timestamp_seconds"
_HEADERS = {
    CERT: "When the TLS certificate the instance's last TLS probe was shown expires (Unix time).",
    UPTIME: "Percent of the component's probes that passed over the window (its instances' summed).",
    UP: "1 when the instance passed its health check, 0 when it failed it; absent when offline or not ready.",
    LATENCY: "How long the instance's last health-check probe took.",
}


def exposition() -> bytes:
    """The metrics in the Prometheus text format."""
    with _cyclic_gc_paused():
        instances = "".join(_instance_lines()).encode()
    return instances + generate_latest(REGISTRY)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    # A scrape allocates some 50,000 short-lived objects with no cycles among them; the collector
    # would otherwise run over the whole heap again and again in between (a third of the scrape).
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _instance_lines() -> Iterator[str]:
    components = selectors.monitored_components()
    prefixes = {pk: _label_prefix(labels) for pk, labels in components.items()}
    up: list[str] = []
    latency: list[str] = []
    certs: list[str] = []
    for component_id, host, port, scheme, health, latency_ms, cert in selectors.monitored_instances():
        component = components.get(component_id)
        if component is None:
            continue  # its check was turned off between the two queries
        address = format_address(host, port or component.port, scheme)
        labels = f'{prefixes[component_id]}address="{_escape(address)}"}} '
        if health in (Health.HEALTHY, Health.UNHEALTHY):
            up.append(f"{UP}{labels}{'1.0' if health == Health.HEALTHY else '0.0'}\n")
        if latency_ms is not None:
            latency.append(f"{LATENCY}{labels}{floatToGoString(latency_ms / 1000)}\n")
        if cert is not None:
            certs.append(f"{CERT}{labels}{floatToGoString(cert.timestamp())}\n")
    for name, lines in ((UP, up), (LATENCY, latency), (CERT, certs)):
        yield f"# HELP {name} {_HEADERS[name]}\n# TYPE {name} gauge\n"
        yield from lines
    yield f"# HELP {UPTIME} {_HEADERS[UPTIME]}\n# TYPE {UPTIME} gauge\n"
    for component_id, uptimes in sorted(history.component_uptime(list(components)).items()):
        prefix = prefixes[component_id].rstrip(",")
        for window, value in uptimes.items():
            if value is not None:
                yield f'{UPTIME}{prefix},window="{window}"}} {floatToGoString(value)}\n'


def _label_prefix(labels: selectors.ComponentLabels) -> str:
    team, application, component = (_escape(value) for value in labels[:3])
    return f'{{team="{team}",application="{application}",component="{component}",'


def _escape(value: str) -> str:
    # The text format's label-value escapes; slugs and addresses never need them, but cost nothing.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class ConsoleCollector(Collector):
    """The small families, through prometheus-client."""

    def collect(self) -> Iterator[Metric]:
        yield from _sweep_metrics()
        yield _api_request_metric()


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
