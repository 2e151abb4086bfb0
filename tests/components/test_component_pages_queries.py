"""Every component page costs the same number of queries with 10 components of 2 instances as with
1,000 components of 10 instances (and the instance table the same with 2 as with 1,000 instances)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import ComponentKind
from instances import services as instance_services
from tests.components.pages_support import query_count, seed

pytestmark = pytest.mark.django_db

PAGES = [
    ("component", {}),
    ("component", {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "instance-table"}),
    ("component-ports", {}),
    ("component-connection-info", {}),
    ("component-dependencies", {}),
    ("component-environment", {}),
    ("component-health-check", {}),
    ("component-events", {}),
    ("component-settings", {}),
]


def _world(team, alice_actor, *, name: str, components: int, instances: int):
    """An application seeded with components, the first with connection information and a dependent."""
    application = services.application_create(team=team, name=name, actor=alice_actor)
    target = seed(application, components=components, instances=instances, prefix=name.lower())
    services.env_var_set(component=target, name="DB_USER", value="shop", actor=alice_actor)
    services.env_var_set(
        component=target, name="DB_PASSWORD", value="pw-123456", secret=True, actor=alice_actor
    )
    app = instance_services.component_create(
        application=application, name=f"{name}-app", actor=alice_actor, kind=ComponentKind.INTERNAL
    )
    services.dependency_add(component=app, target=target, actor=alice_actor, open_inner=True)
    return target, app


def test_every_page_costs_the_same_queries_for_a_small_and_a_large_team(alice_client, team, alice_actor):
    small = _world(team, alice_actor, name="Small", components=10, instances=2)
    small_counts = _counts(alice_client, small)
    large = _world(team, alice_actor, name="Large", components=1000, instances=10)
    assert _counts(alice_client, large) == small_counts


def test_the_instance_table_costs_the_same_for_two_and_a_thousand_instances(alice_client, team, alice_actor):
    few = _world(team, alice_actor, name="Few", components=1, instances=2)[0]
    many = _world(team, alice_actor, name="Many", components=1, instances=1000)[0]
    for url_name, headers in PAGES[:2]:
        assert query_count(alice_client, reverse(url_name, args=[few.service_id]), **headers) == query_count(
            alice_client, reverse(url_name, args=[many.service_id]), **headers
        )


def _counts(client, world) -> list[int]:
    counts = []
    for component in world:
        for url_name, headers in PAGES:
            counts.append(query_count(client, reverse(url_name, args=[component.service_id]), **headers))
    return counts
