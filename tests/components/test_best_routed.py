"""The database's pick of the best routed instance is the one the rule in Python would make."""

from __future__ import annotations

import pytest
from django.db.models import Prefetch, prefetch_related_objects

from components.models import Component
from instances.addresses import parse_address
from instances.environment import best_routed_instance, best_routed_prefetch
from instances.models import Instance
from instances.services import health_check_update, instance_add

pytestmark = pytest.mark.django_db

# (address, online, health, latency)
CASES = [
    [],
    [("10.0.0.2:3306", True, "unknown", None)],
    [("10.0.0.2:3306", True, "healthy", 5.0), ("10.0.0.1:3306", True, "healthy", 2.0)],
    [("10.0.0.2:3306", True, "healthy", None), ("10.0.0.1:3306", True, "healthy", None)],
    [("10.0.0.1:3306", True, "unhealthy", 1.0), ("10.0.0.9:3306", True, "healthy", 9.0)],
    [("10.0.0.1:3306", False, "healthy", 1.0), ("10.0.0.9:3306", True, "healthy", None)],
    [("10.0.0.1", True, "healthy", 3.0), ("10.0.0.1:3306", True, "healthy", 3.0)],
]


@pytest.mark.parametrize("check_on", [True, False])
@pytest.mark.parametrize("rows", CASES)
def test_the_database_picks_the_same_instance_as_the_rule(static_component, alice_actor, rows, check_on):
    for address, online, health, latency in rows:
        instance = instance_add(component=static_component, address=parse_address(address), actor=alice_actor)
        Instance.objects.filter(pk=instance.pk).update(is_online=online, health=health, latency_ms=latency)
    if not check_on:
        health_check_update(component=static_component, enabled=False, actor=alice_actor)
    by_rule = Component.objects.select_related("health_check").get(pk=static_component.pk)
    prefetch_related_objects([by_rule], Prefetch("instances", queryset=Instance.objects.order_by("pk")))
    by_database = Component.objects.select_related("health_check").get(pk=static_component.pk)
    prefetch_related_objects([by_database], best_routed_prefetch())
    assert best_routed_instance(by_database) == best_routed_instance(by_rule)
