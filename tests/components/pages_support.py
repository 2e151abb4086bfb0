"""Helpers for the component pages' tests: HTMX requests and seeds of many components, made fast."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from components.models import Application, Component, ComponentKind, Port, Registration
from core.models import AuditEvent
from instances.models import HealthCheck, Instance


def hx(client: Client, method: str, url: str, target: str, data: dict[str, Any] | None = None) -> Any:
    """A request as htmx sends it when it swaps the element with id ``target``."""
    send = getattr(client, method)
    return send(url, data or {}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET=target)


def text(response: Any) -> str:
    return response.content.decode()


def seed(application: Application, *, components: int, instances: int, prefix: str = "seed") -> Component:
    """``components`` third-party components of ``instances`` instances each, a port and a health check,
    made with bulk inserts; returns the first one (its pages are the ones measured)."""
    Component.objects.bulk_create(
        Component(
            application=application,
            team_id=application.team_id,
            name=f"{prefix}-{n:04d}",
            service_name=f"{prefix}-{n:04d}",
            kind=ComponentKind.THIRD_PARTY,
            registration=Registration.STATIC,
        )
        for n in range(components)
    )
    made = list(Component.objects.filter(application=application, name__startswith=f"{prefix}-"))
    HealthCheck.objects.bulk_create(HealthCheck(component=c) for c in made)
    Port.objects.bulk_create(
        Port(component=c, number=3306, protocol="mysql", alias="SEED", of_third_party=True) for c in made
    )
    Instance.objects.bulk_create(
        Instance(component=c, host=f"10.{n // 250}.{n % 250}.{i + 1}", port=3306, is_online=i % 3 != 0)
        for n, c in enumerate(made)
        for i in range(instances)
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(team_id=application.team_id, component=c, actor="system", action="instance.add")
        for c in made
        for _ in range(instances)
    )
    return made[0]


def query_count(client: Client, url: str, **headers: str) -> int:
    client.get(url, **headers)  # Warm caches (the session, content types) before counting.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
    assert response.status_code in (200, 286), response.status_code
    return len(queries)
