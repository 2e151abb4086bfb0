"""Reads for ``/metrics``: whole-console figures, for the operator's monitoring (not scoped to a
user: the endpoint is protected by its own token or networks).

Three plain queries rather than one with joins and a subquery per row: at 10,000 instances the
single query spent most of its time sorting and looking up each row's port (bench/RESULTS.md)."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple, TypeAlias

from django.db.models import Q

from components.models import Component, Port
from instances.models import Health, Instance
from kato_console.monitoring.models import InstanceApiRequests, SweepRound


class ComponentLabels(NamedTuple):
    team: str
    application: str
    component: str
    port: int | None  # the component's port (its lowest), for instances that have none of their own


# component_id, host, port, scheme, health, latency_ms, cert_expires_at
InstanceFigures: TypeAlias = tuple[int, str, "int | None", str, str, "float | None", "datetime | None"]


def monitored_components() -> dict[int, ComponentLabels]:
    """Every component whose health check is on, by id, with its labels and port."""
    ports: dict[int, int] = {}
    for component_id, number in Port.objects.order_by("-number").values_list("component_id", "number"):
        ports[component_id] = number  # the lowest number comes last and stays
    rows = Component.objects.filter(health_check__enabled=True).values_list(
        "id", "team__slug", "application__slug", "service_name"
    )
    return {pk: ComponentLabels(team, app, name, ports.get(pk)) for pk, team, app, name in rows}


def monitored_instances() -> list[InstanceFigures]:
    """Every online instance whose health check is on and that was probed at least once (it has a
    health or a latency), in no particular order."""
    rows = (
        Instance.objects.filter(is_online=True, component__health_check__enabled=True)
        .filter(Q(health__in=[Health.HEALTHY, Health.UNHEALTHY]) | Q(latency_ms__isnull=False))
        .order_by()
        .values_list("component_id", "host", "port", "scheme", "health", "latency_ms", "cert_expires_at")
    )
    # Rows as the driver gives them, typed: a named tuple each would double the scrape's allocations.
    return list(rows)


def last_sweep_round() -> SweepRound | None:
    return SweepRound.objects.order_by("-id").first()


def api_request_counts() -> list[tuple[int, int]]:
    return list(InstanceApiRequests.objects.order_by("status").values_list("status", "count"))
