"""Helpers for the sweep and health tests: components with a check, instances, time passing.

A test module takes the fixtures by assignment (``serve = sweeping.serve``), which pytest collects.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import timezone

from components import services
from components.audit import Actor
from components.models import Application, Component
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import health_check_update, instance_add
from instances.sweep import RoundReport, sweep_round
from tests.instances.probe_servers import Handler, LoopbackServer

Serve = Callable[..., LoopbackServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start loopback servers with a handler; all are stopped after the test."""
    servers: list[LoopbackServer] = []

    def start(handler: Handler, **options: Any) -> LoopbackServer:
        server = LoopbackServer(handler, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def no_jitter(settings: Any) -> None:
    # Spreading start times is the probes' business (tested there); here it would only slow tests.
    settings.KATO_SWEEP_JITTER_S = 0


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def checked_component(
    application: Application, actor: Actor, *, name: str = "db", port: int | None = None, **check: Any
) -> Component:
    """A static third-party component whose health check has these settings (timeout 1 s)."""
    component = services.component_create(application=application, name=name, actor=actor)
    if port is not None:
        services.port_create(component=component, number=port, protocol="tcp", actor=actor)
    settings = {"timeout_s": 1, "interval_s": 2, **check}
    health_check_update(component=component, actor=actor, **settings)
    return component


def add_instance(component: Component, address: str, actor: Actor, **options: Any) -> Instance:
    return instance_add(component=component, address=parse_address(address), actor=actor, **options)


def time_passes() -> None:
    """Every online instance becomes due, as if its interval had gone by."""
    Instance.objects.filter(is_online=True).update(next_probe_at=timezone.now())


def sweep_rounds(count: int) -> RoundReport:
    """``count`` rounds, each one interval after the other; returns the last round's report."""
    report = RoundReport(probed=0, seconds=0.0)
    for _ in range(count):
        time_passes()
        report = sweep_round()
    return report


def fresh(instance: Instance) -> Instance:
    return Instance.objects.select_related("component__health_check").get(pk=instance.pk)
