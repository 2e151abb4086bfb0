"""Every admin changelist answers with the same number of queries for 5 rows and for 500, and the
component's change page with the same number for 2 and for 40 related rows."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from components.models import Application, Component, Dependency, EnvVar, Port
from core.models import ApiToken, AuditEvent, Membership, Team
from instances.models import HealthCheck, Instance, WrongSecret

pytestmark = pytest.mark.django_db

_serial = itertools.count()


def seed(n: int, django_user_model) -> Component:
    """n rows of every model the admin lists, in bulk; returns the component the others hang on."""
    k = next(_serial)
    teams = Team.objects.bulk_create(Team(name=f"t{k}-{i}", slug=f"t{k}-{i}") for i in range(n))
    users = django_user_model.objects.bulk_create(django_user_model(username=f"u{k}-{i}") for i in range(n))
    Membership.objects.bulk_create(Membership(user=u, team=t) for u, t in zip(users, teams, strict=True))
    apps = Application.objects.bulk_create(
        Application(team=t, name=f"a{i}", slug=f"a{i}") for i, t in enumerate(teams)
    )
    # The first is a third-party component the others (internal ones) depend on.
    components = Component.objects.bulk_create(
        Component(
            team=a.team,
            application=a,
            name=f"c{i}",
            service_name=f"c{i}",
            kind="internal" if i else "third_party",
            registration="" if i else "static",
        )
        for i, a in enumerate(apps)
    )
    hub = components[0]
    HealthCheck.objects.bulk_create(HealthCheck(component=c) for c in components)
    Instance.objects.bulk_create(
        Instance(component=c, host=f"10.{k}.{i // 250}.{i % 250}") for i, c in enumerate(components)
    )
    Port.objects.bulk_create(Port(component=c, number=3306, alias="DB") for c in components)
    EnvVar.objects.bulk_create(EnvVar(component=c, name=f"V{i}", value="x") for i, c in enumerate(components))
    Dependency.objects.bulk_create(Dependency(component=c, target=hub) for c in components[1:])
    ApiToken.objects.bulk_create(
        ApiToken(user=u, prefix=f"{i:08d}", digest=f"{k}-{i}-".ljust(64, "0")) for i, u in enumerate(users)
    )
    later = timezone.now() + timedelta(minutes=5)
    WrongSecret.objects.bulk_create(
        WrongSecret(component=c, client="192.0.2.1", failures=1, window_ends_at=later) for c in components
    )
    AuditEvent.objects.bulk_create(
        AuditEvent(
            team=c.team, component=c, component_label=c.name, actor="user", user=u, action="port.create"
        )
        for c, u in zip(components, users, strict=True)
    )
    return hub


@pytest.fixture
def operator_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="operator", password="pw-1-op"))
    return client


def changelists() -> list[str]:
    return [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
        if model._meta.app_label in ("components", "instances", "core", "auth")
    ]


def queries_of(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [query["sql"] for query in captured.captured_queries]


@pytest.mark.parametrize("url", changelists())
def test_a_changelist_makes_as_many_queries_for_500_rows_as_for_5(operator_client, django_user_model, url):
    seed(5, django_user_model)
    few = len(queries_of(operator_client, url))
    seed(495, django_user_model)

    many = queries_of(operator_client, url)

    assert len(many) == few, "\n".join(many)


def test_the_component_page_makes_as_many_queries_for_40_related_rows_as_for_2(
    operator_client, django_user_model
):
    hub = seed(3, django_user_model)
    url = reverse("admin:components_component_change", args=[hub.pk])
    queries_of(operator_client, url)  # the first request fills the caches (content types)
    few = len(queries_of(operator_client, url))
    Dependency.objects.all().delete()
    hub2 = seed(41, django_user_model)
    url2 = reverse("admin:components_component_change", args=[hub2.pk])

    many = queries_of(operator_client, url2)

    assert len(many) == few, "\n".join(many)


def test_the_instance_changelist_is_ordered_by_an_index(operator_client, django_user_model):
    """Not by address (host, port), which would sort every instance for every page."""
    seed(5, django_user_model)
    queries = queries_of(operator_client, reverse("admin:instances_instance_changelist"))
    listing = [sql for sql in queries if sql.startswith("SELECT") and 'FROM "instances_instance"' in sql]
    orderings = [sql.split("ORDER BY")[1].split("LIMIT")[0].strip() for sql in listing if "ORDER BY" in sql]
    assert orderings == ['"instances_instance"."id" DESC']
