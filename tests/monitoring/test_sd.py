"""``/api/v1/sd/prometheus``: Prometheus' HTTP service discovery, scoped to the caller's teams."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from components import services
from core.audit import Actor
from instances.models import Health, Instance
from tests.api.conftest import token_client
from tests.instances.sweeping import add_instance, checked_component

pytestmark = [pytest.mark.django_db]

SD = "/api/v1/sd/prometheus"


@pytest.fixture
def mysql(application, alice_actor: Actor):
    component = checked_component(application, alice_actor, name="mysql")
    services.port_create(component=component, number=3306, protocol="mysql", actor=alice_actor)
    return component


def healthy(instance: Instance) -> Instance:
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)
    return instance


def test_it_answers_one_target_group_per_component_with_its_routed_instances(
    alice, mysql, alice_actor: Actor
) -> None:
    healthy(add_instance(mysql, "10.0.0.1", alice_actor))
    healthy(add_instance(mysql, "[2001:db8::1]:3307", alice_actor))
    add_instance(mysql, "10.0.0.2", alice_actor)  # not ready
    unhealthy = add_instance(mysql, "10.0.0.3", alice_actor)
    Instance.objects.filter(pk=unhealthy.pk).update(health=Health.UNHEALTHY)
    healthy(add_instance(mysql, "10.0.0.4", alice_actor, is_online=False))

    response = token_client(alice).get(SD)

    assert response.status_code == 200
    assert response.json() == [
        {
            "targets": ["10.0.0.1:3306", "[2001:db8::1]:3307"],
            "labels": {
                "__meta_kato_team": "payments",
                "__meta_kato_application": "shop",
                "__meta_kato_component": "mysql",
                "__meta_kato_protocol": "mysql",
                "__meta_kato_service_id": mysql.service_id,
            },
        }
    ]


def test_it_routes_every_online_instance_of_a_component_whose_check_is_off(
    alice, application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, name="legacy", enabled=False)
    add_instance(component, "https://legacy.example.com", alice_actor)
    add_instance(component, "10.0.0.9:8080", alice_actor)

    groups = token_client(alice).get(SD).json()

    assert [group["targets"] for group in groups] == [["10.0.0.9:8080", "legacy.example.com:443"]]


def test_it_shows_nothing_of_another_team(bob_from_another_team, mysql, alice_actor: Actor) -> None:
    healthy(add_instance(mysql, "10.0.0.1", alice_actor))

    response = token_client(bob_from_another_team).get(SD)

    assert response.status_code == 200
    assert response.json() == []


def test_it_refuses_a_caller_without_a_token() -> None:
    assert APIClient().get(SD).status_code == 401
    assert APIClient(HTTP_AUTHORIZATION="Token not-a-token").get(SD).status_code == 401


def test_it_leaves_out_internal_components(alice, internal_component, mysql) -> None:
    groups = token_client(alice).get(SD).json()

    assert [group["labels"]["__meta_kato_component"] for group in groups] == ["mysql"]
