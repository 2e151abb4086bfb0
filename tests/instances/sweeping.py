"""Helpers for the sweep and health tests: components with a check, instances, time passing.

A test module takes the fixtures by assignment (``serve = sweeping.serve``), which pytest collects.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from components import services
from components.models import Application, Component
from core.audit import Actor
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import health_check_update, instance_add
from instances.sweep import RoundReport, sweep_round
from tests.instances import probe_servers
from tests.instances.probe_servers import Handler, LoopbackServer, Serve, close_at_once, closed_port

serve = probe_servers.serve


@pytest.fixture
def no_jitter(settings: Any) -> None:
    # Spreading start times is the probes' business (tested there); here it would only slow tests.
    settings.KATO_SWEEP_JITTER_S = 0


def checked_component(
    application: Application, actor: Actor, *, name: str = "db", port: int | None = None, **check: Any
) -> Component:
    """A static third-party component whose health check has these settings (timeout 1 s)."""
    component = instance_services.component_create(application=application, name=name, actor=actor)
    if port is not None:
        services.port_create(component=component, number=port, protocol="tcp", actor=actor)
    settings = {"timeout_s": 1, "interval_s": 5, **check}
    health_check_update(component=component, actor=actor, **settings)
    return component


def add_instance(component: Component, address: str, actor: Actor, **options: Any) -> Instance:
    return instance_add(component=component, address=parse_address(address), actor=actor, **options)


def served_instance(
    serve: Serve,
    application: Application,
    actor: Actor,
    *,
    handler: Handler = close_at_once,
    is_online: bool = True,
    **check: Any,
) -> tuple[LoopbackServer, Component, Instance]:
    """A loopback server with this handler, a checked component, and its instance at the server."""
    server = serve(handler)
    component = checked_component(application, actor, **check)
    instance = add_instance(component, f"127.0.0.1:{server.port}", actor, is_online=is_online)
    return server, component, instance


def refused_instance(component: Component, actor: Actor) -> Instance:
    """An instance at a loopback port nothing listens on: its probes are refused."""
    return add_instance(component, f"127.0.0.1:{closed_port()}", actor)


def offline_instance(component: Component, actor: Actor, address: str = "127.0.0.1:5999") -> Instance:
    return add_instance(component, address, actor, is_online=False)


def not_due_yet(minutes: int = 5) -> None:
    """Every instance is scheduled ``minutes`` from now, so none is due."""
    Instance.objects.update(next_probe_at=timezone.now() + timedelta(minutes=minutes))


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
