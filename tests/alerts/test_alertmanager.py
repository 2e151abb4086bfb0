"""The Alertmanager channel, against Debian's prometheus-alertmanager started by the test: a failure
fires an alert through the API v2 with labels Alertmanager groups and silences on, naming what
depends on the component; the recovery resolves it."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components import services as component_services
from components.models import ComponentKind
from instances import services as instance_services
from instances.signals import HealthTransition
from kato_console.alerts import services
from kato_console.alerts.models import Delivery
from tests.support import require_alertmanager

pytestmark = [pytest.mark.alertmanager, pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

CONFIG = """
route:
  receiver: nobody
  group_by: [team, component]
receivers:
  - name: nobody
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Alertmanager:
    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=5) as response:  # noqa: S310 — loopback
            return json.load(response)

    def post(self, path: str, body: Any) -> Any:
        request = urllib.request.Request(  # noqa: S310 — loopback
            f"{self.url}{path}",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            return json.load(response)

    def alerts(self) -> list[dict[str, Any]]:
        return self.get("/api/v2/alerts")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    binary = require_alertmanager()
    (tmp_path / "alertmanager.yml").write_text(CONFIG)
    port = free_port()
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            with suppress(OSError), urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:  # noqa: S310
                if response.status == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Alertmanager did not start: {(tmp_path / 'alertmanager.log').read_text()}")
            time.sleep(0.1)
        yield Alertmanager(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def transition(component, *, new: str, at: datetime) -> HealthTransition:
    return HealthTransition(
        instance_id=7,
        component_id=component.pk,
        team_id=component.team_id,
        address="10.0.0.7:3306",
        old="healthy" if new == "unhealthy" else "unhealthy",
        new=new,
        stage="connect" if new == "unhealthy" else "",
        error="connection refused" if new == "unhealthy" else "",
        at=at,
    )


def announce(django_capture_on_commit_callbacks, transitions) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=transitions)


@pytest.fixture
def channel(team, alice_actor, alertmanager):
    return services.channel_create(
        team=team, actor=alice_actor, name="Alertmanager", kind="alertmanager", target=alertmanager.url
    )


@pytest.fixture
def mysql_with_dependent(application, alice_actor, static_component):
    orders = instance_services.component_create(
        application=application, name="orders", actor=alice_actor, kind=ComponentKind.INTERNAL
    )
    component_services.dependency_add(component=orders, target=static_component, actor=alice_actor)
    return static_component


def test_a_failure_fires_an_alert_naming_what_depends_on_it_and_the_recovery_resolves_it(
    channel, alertmanager, mysql_with_dependent, django_capture_on_commit_callbacks
) -> None:
    mysql = mysql_with_dependent
    failed_at = datetime.now(UTC).replace(microsecond=0)

    announce(django_capture_on_commit_callbacks, [transition(mysql, new="unhealthy", at=failed_at)])

    assert Delivery.objects.get().status == "sent"
    [alert] = alertmanager.alerts()
    assert alert["labels"] == {
        "alertname": "KatoInstanceUnhealthy",
        "team": "Payments",
        "application": "Shop",
        "component": "mysql",
        "service_id": mysql.service_id,
        "instance": "10.0.0.7:3306",
    }
    assert alert["annotations"]["affected"] == "orders"
    assert alert["annotations"]["description"] == "connect: connection refused"
    assert alert["status"]["state"] == "active"
    assert datetime.fromisoformat(alert["startsAt"].replace("Z", "+00:00")) == failed_at
    [group] = alertmanager.get("/api/v2/alerts/groups")
    assert group["labels"] == {"team": "Payments", "component": "mysql"}

    announce(
        django_capture_on_commit_callbacks,
        [transition(mysql, new="healthy", at=datetime.now(UTC).replace(microsecond=0))],
    )

    assert Delivery.objects.filter(status="sent").count() == 2
    assert alertmanager.alerts() == []  # resolved: no longer among the active alerts


def test_a_silence_in_alertmanager_holds_the_console_s_alert(
    channel, alertmanager, static_component, django_capture_on_commit_callbacks
) -> None:
    now = datetime.now(UTC)
    alertmanager.post(
        "/api/v2/silences",
        {
            "matchers": [{"name": "component", "value": "mysql", "isRegex": False, "isEqual": True}],
            "startsAt": now.isoformat(),
            "endsAt": now.replace(year=now.year + 1).isoformat(),
            "createdBy": "tests",
            "comment": "planned work",
        },
    )

    announce(django_capture_on_commit_callbacks, [transition(static_component, new="unhealthy", at=now)])

    [alert] = alertmanager.alerts()
    assert alert["status"]["state"] == "suppressed"
    assert alert["status"]["silencedBy"]
