"""The real Prometheus (Debian's package) scrapes ``/metrics`` of a live console with the bearer
token, discovers the instances through ``/api/v1/sd/prometheus`` with an API token, and shows both
in its own API."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from components import services
from core import services as accounts
from core.audit import Actor
from tests.instances import sweeping
from tests.instances.sweeping import add_instance, checked_component, refused_instance
from tests.support import require_prometheus

pytestmark = [pytest.mark.prometheus, pytest.mark.django_db(transaction=True)]
no_jitter = sweeping.no_jitter

METRICS_TOKEN = "metrics-token-for-prometheus-0123"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def config(console: str, api_key: str) -> str:
    return json.dumps(
        {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
            "scrape_configs": [
                {
                    "job_name": "kato",
                    "authorization": {"credentials": METRICS_TOKEN},
                    "static_configs": [{"targets": [console]}],
                },
                {
                    "job_name": "kato-instances",
                    "http_sd_configs": [
                        {
                            "url": f"http://{console}/api/v1/sd/prometheus",
                            "refresh_interval": "1s",
                            "authorization": {"type": "Token", "credentials": api_key},
                        }
                    ],
                    "relabel_configs": [
                        {"source_labels": ["__meta_kato_component"], "target_label": "component"},
                        {"source_labels": ["__meta_kato_protocol"], "target_label": "protocol"},
                    ],
                },
            ],
        }
    )


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str, str], str]]:
    """Start Prometheus with the scrape config for a console; returns its base URL."""
    binary = require_prometheus()
    started: list[subprocess.Popen[bytes]] = []

    def start(console: str, api_key: str) -> str:
        (tmp_path / "prometheus.yml").write_text(config(console, api_key))  # JSON is YAML
        listen = f"127.0.0.1:{free_port()}"
        command = [
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address={listen}",
        ]
        log = (tmp_path / "prometheus.log").open("wb")
        started.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        base = f"http://{listen}"
        eventually(lambda: urllib.request.urlopen(f"{base}/-/ready", timeout=1).status == 200 or None)
        return base

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)


def eventually(probe: Callable[[], T | None], seconds: float = 60) -> T:
    deadline = time.monotonic() + seconds
    while True:
        try:
            found = probe()
        except OSError:
            found = None
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError("Prometheus did not get there in time")
        time.sleep(0.5)


def api(base: str, path: str, **query: str) -> Any:
    url = f"{base}{path}?{urllib.parse.urlencode(query)}" if query else f"{base}{path}"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)["data"]


@pytest.mark.usefixtures("no_jitter")
def test_prometheus_scrapes_the_instances_health_and_discovers_their_targets(
    live_server, settings: Any, prometheus, application, alice, alice_actor: Actor, tcp_listener
) -> None:
    settings.KATO_METRICS_TOKEN = METRICS_TOKEN
    mysql = checked_component(application, alice_actor, name="mysql", failure_threshold=1)
    services.port_create(component=mysql, number=3306, protocol="mysql", actor=alice_actor)
    up = add_instance(mysql, f"{tcp_listener[0]}:{tcp_listener[1]}", alice_actor)
    down = refused_instance(mysql, alice_actor)
    sweeping.sweep_rounds(1)
    _, key = accounts.api_token_create(user=alice, name="prometheus")

    base = prometheus(live_server.url.removeprefix("http://").replace("localhost", "127.0.0.1"), key)

    def kato_instance_up() -> dict[str, Any] | None:
        series = api(base, "/api/v1/query", query="kato_instance_up")["result"]
        return {s["metric"]["address"]: s for s in series} if len(series) == 2 else None

    series = eventually(kato_instance_up)
    assert series[up.address]["value"][1] == "1"
    assert series[down.address]["value"][1] == "0"
    assert {k: v for k, v in series[up.address]["metric"].items() if k not in ("instance",)} == {
        "__name__": "kato_instance_up",
        "job": "kato",
        "team": "payments",
        "application": "shop",
        "component": "mysql",
        "address": up.address,
    }

    def discovered() -> list[dict[str, Any]] | None:
        targets = api(base, "/api/v1/targets")["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == "kato-instances"] or None

    (target,) = eventually(discovered)
    assert target["labels"]["instance"] == up.address  # only the routed (healthy) instance
    assert target["labels"]["component"] == "mysql" and target["labels"]["protocol"] == "mysql"
    assert target["discoveredLabels"]["__meta_kato_team"] == "payments"
    assert target["discoveredLabels"]["__meta_kato_application"] == "shop"
    probes = eventually(lambda: api(base, "/api/v1/query", query="kato_sweep_last_round_probes")["result"])
    assert probes[0]["value"][1] == "2"
