"""Which instances serve which port, read from the database."""

from __future__ import annotations

import pytest

from components import services
from instances import services as instance_services
from instances.addresses import parse_address
from kato_console.gateway.config import Endpoint
from kato_console.gateway.snapshot import routed_upstreams
from tests.gateway.test_addresses import routing  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.gateway, pytest.mark.django_db]


def test_only_routed_instances_are_endpoints_and_names_resolve_to_each_address(
    static_component,
    alice_actor,
    routing,  # noqa: F811
):
    for raw in ("10.0.0.7:3306", "10.0.0.8:3306", "db.example.test:3306"):
        instance_services.instance_add(
            component=static_component, address=parse_address(raw), actor=alice_actor
        )
    offline = instance_services.instance_add(
        component=static_component, address=parse_address("10.0.0.9:3306"), actor=alice_actor
    )
    instance_services.instance_set_online(instance=offline, is_online=False, actor=alice_actor)
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    port = services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    names = {"db.example.test": ["10.1.0.1", "10.1.0.2"]}
    (upstream,) = routed_upstreams(resolver=lambda name, _: names.get(name, []))
    assert upstream.internal_port == port.gateway_port
    assert set(upstream.endpoints) == {
        Endpoint("10.0.0.7", 3306),
        Endpoint("10.0.0.8", 3306),
        Endpoint("10.1.0.1", 3306, hostname="db.example.test"),
        Endpoint("10.1.0.2", 3306, hostname="db.example.test"),
    }


def test_an_instance_that_is_not_ready_is_not_routed(static_component, alice_actor, routing):  # noqa: F811
    instance_services.instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    (upstream,) = routed_upstreams()
    assert upstream.endpoints == ()


def test_a_port_without_the_internal_service_has_no_upstream(static_component, alice_actor, routing):  # noqa: F811
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    assert routed_upstreams() == []
