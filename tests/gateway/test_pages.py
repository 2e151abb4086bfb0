"""Where people see the gateway: the Ports page, the overview, the Access link and the topology."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from tests.gateway.test_addresses import routing  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.gateway, pytest.mark.django_db]


def _page(client, name: str, *args: str) -> str:
    response = client.get(reverse(name, args=list(args)))
    assert response.status_code == 200
    return response.content.decode()


def test_the_ports_page_and_the_overview_say_where_to_reach_the_port(
    alice_client,
    static_component,
    alice_actor,
    routing,  # noqa: F811
):
    services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    for name in ("component-ports", "component"):
        page = _page(alice_client, name, static_component.service_id)
        assert "Reach it at" in page and '<code id="internal-3306">127.0.0.1:20000</code>' in page
        assert 'data-copy="#internal-3306"' in page
        assert "Published at" not in page


def test_an_http_port_with_the_external_service_has_an_access_link(
    alice_client,
    internal_component,
    application,
    alice_actor,
    routing,  # noqa: F811
):
    services.port_create(
        component=internal_component,
        number=80,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    page = _page(alice_client, "component", internal_component.service_id)
    assert 'href="http://phpmyadmin-shop.localhost:8080/"' in page and ">Access</a>" in page
    topology = _page(alice_client, "application", application.slug)
    assert "· exposed</text>" in topology and ', exposed through the gateway"' in topology


def test_with_routing_off_no_address_is_shown(alice_client, internal_component, alice_actor, routing):  # noqa: F811
    routing.KATO_GATEWAY = False
    services.port_create(
        component=internal_component,
        number=80,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    page = _page(alice_client, "component", internal_component.service_id)
    assert "Reach it at" not in page and ">Access</a>" not in page
