"""Reads for ``/metrics``: whole-console figures, for the operator's monitoring (not scoped to a
user: the endpoint is protected by its own token or networks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from django.db.models import OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from components.models import Port
from instances.addresses import format_address
from instances.models import Health, Instance
from kato_console.monitoring.models import InstanceApiRequests, SweepRound


class InstanceFigures(NamedTuple):
    team: str
    application: str
    component: str
    address: str
    health: str
    latency_ms: float | None


_ROW_FIELDS = (
    "component__team__slug",
    "component__application__slug",
    "component__service_name",
    "host",
    "effective_port",
    "scheme",
    "health",
    "latency_ms",
)


def monitored_instances() -> Iterator[InstanceFigures]:
    """Every online instance whose health check is on and that was probed at least once (it has a
    health or a latency), in one query, streamed; the address carries the component's port when
    the instance has none of its own."""
    component_port = Port.objects.filter(component=OuterRef("component")).order_by("number").values("number")
    rows = (
        Instance.objects.filter(is_online=True, component__health_check__enabled=True)
        .filter(Q(health__in=[Health.HEALTHY, Health.UNHEALTHY]) | Q(latency_ms__isnull=False))
        .annotate(effective_port=Coalesce("port", Subquery(component_port[:1])))
        .order_by("component__team__slug", "component__application__slug", "component__service_name", "id")
        .values_list(*_ROW_FIELDS)
    )
    for team, application, component, host, port, scheme, health, latency_ms in rows.iterator(
        chunk_size=2000
    ):
        yield InstanceFigures(
            team, application, component, format_address(host, port, scheme), health, latency_ms
        )


def last_sweep_round() -> SweepRound | None:
    return SweepRound.objects.order_by("-id").first()


def api_request_counts() -> list[tuple[int, int]]:
    return list(InstanceApiRequests.objects.order_by("status").values_list("status", "count"))
