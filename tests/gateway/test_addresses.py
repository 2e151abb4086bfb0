"""Where people and dependents are told to reach a port: the API's addresses and the generated variables."""

from __future__ import annotations

import pytest

from components import services
from components.models import Dependency
from instances import environment as resolved
from instances import services as instance_services
from instances.addresses import parse_address
from tests.api.conftest import api, url  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.gateway, pytest.mark.django_db]


@pytest.fixture
def routing(settings):
    settings.KATO_GATEWAY = True
    settings.KATO_GATEWAY_HOST = "127.0.0.1"
    settings.KATO_GATEWAY_PUBLIC_HOST = "127.0.0.1"
    settings.KATO_GATEWAY_INTERNAL_PORTS = "20000-20009"
    settings.KATO_GATEWAY_PUBLIC_PORTS = "25000-25009"
    settings.KATO_GATEWAY_HTTP_PORT = 8080
    settings.KATO_GATEWAY_DOMAIN = "localhost"
    settings.KATO_SERVICE_DOMAIN = ""
    return settings


@pytest.fixture
def mysql(static_component, alice_actor, routing):
    instance_services.instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    return services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )


def test_the_api_gives_the_internal_address_and_no_external_one_until_it_is_on(
    api,  # noqa: F811
    mysql,
    static_component,
    alice_actor,
):
    body = api.get(url(static_component, "/ports/3306")).json()
    assert body["internal_address"] == "127.0.0.1:20000"
    assert body["external_address"] is None
    services.port_update(port=mysql, outer_service=True, actor=alice_actor)
    body = api.get(url(static_component, "/ports/3306")).json()
    assert body["external_address"] == "127.0.0.1:25000"


def test_an_http_port_is_published_by_host_name(api, static_component, alice_actor, routing):  # noqa: F811
    services.port_create(
        component=static_component,
        number=80,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    body = api.get(url(static_component, "/ports/80")).json()
    assert body["external_address"] == "http://mysql-shop.localhost:8080/"


def test_gateway_ports_are_unique_and_kept(static_component, internal_component, alice_actor, routing):
    first = services.port_create(
        component=internal_component, number=80, inner_service=True, actor=alice_actor
    )
    second = services.port_create(
        component=internal_component, number=81, alias="ADMIN", inner_service=True, actor=alice_actor
    )
    assert {first.gateway_port, second.gateway_port} == {20000, 20001}
    services.port_update(port=first, inner_service=False, actor=alice_actor)
    services.port_update(port=first, inner_service=True, actor=alice_actor)
    first.refresh_from_db()
    assert first.gateway_port == 20000


def _dependent_env(component, target, actor) -> dict[str, str]:
    Dependency.objects.create(component=component, target=target)
    entries = resolved.effective_environment(component)
    return {entry.name: entry.value for entry in entries if entry.effective}


def test_a_dependent_reaches_the_port_through_the_gateway(
    mysql, static_component, internal_component, alice_actor
):
    env = _dependent_env(internal_component, static_component, alice_actor)
    assert (env["MYSQL_HOST"], env["MYSQL_PORT"]) == ("127.0.0.1", "20000")


def test_with_routing_off_the_variables_are_the_instances_again(
    mysql, static_component, internal_component, alice_actor, routing
):
    routing.KATO_GATEWAY = False
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    env = _dependent_env(internal_component, static_component, alice_actor)
    assert (env["MYSQL_HOST"], env["MYSQL_PORT"]) == ("10.0.0.7", "3306")


def test_with_platform_dns_the_variables_are_the_service_name(
    mysql, static_component, internal_component, alice_actor, routing
):
    routing.KATO_SERVICE_DOMAIN = "svc.cluster.local"
    env = _dependent_env(internal_component, static_component, alice_actor)
    assert (env["MYSQL_HOST"], env["MYSQL_PORT"]) == ("mysql.svc.cluster.local", "3306")
