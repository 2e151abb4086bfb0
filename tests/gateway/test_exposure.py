"""The external service: TCP ports on the public address, HTTP ports by host name; several gateways."""

from __future__ import annotations

import http.client

import pytest

from components import services
from instances import services as instance_services
from instances.addresses import parse_address
from tests.gateway.conftest import eventually, greeting

pytestmark = pytest.mark.gateway


def _get(host: str, port: int, host_header: str) -> tuple[int, str]:
    try:
        conn = http.client.HTTPConnection(host, port, timeout=3)
        conn.request("GET", "/", headers={"Host": host_header})
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def web(static_component, alice_actor, http_backends):
    """A third-party component ``mysql`` of application ``shop`` whose one instance is a small web server."""
    server = http_backends("web-1")
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    instance_services.instance_add(
        component=static_component, address=parse_address(f"127.0.0.1:{server.port}"), actor=alice_actor
    )
    port = services.port_create(
        component=static_component,
        number=server.port,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    return port, server


def test_an_http_route_answers_by_host_name(web, start_gateway, gateway_settings):
    port, server = web
    start_gateway()
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    name = f"mysql-shop.localhost:{http_port}"
    assert eventually(lambda: _get("127.0.0.1", http_port, name)[0] == 200)
    status, body = _get("127.0.0.1", http_port, name)
    assert body.startswith("web-1 ")
    # Another name is no route of this console's.
    assert _get("127.0.0.1", http_port, f"other-shop.localhost:{http_port}")[0] == 404


def test_a_tcp_port_with_the_external_service_listens_on_the_public_address(
    static_component, alice_actor, tcp_backends, start_gateway
):
    server = tcp_backends("db-1")
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    instance_services.instance_add(
        component=static_component, address=parse_address(f"127.0.0.1:{server.port}"), actor=alice_actor
    )
    port = services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    assert port.public_port is None
    start_gateway()
    services.port_update(port=port, outer_service=True, actor=alice_actor)
    port.refresh_from_db()
    assert port.public_port is not None
    assert eventually(lambda: greeting("127.0.0.1", port.public_port) == "db-1")
    assert greeting("127.0.0.1", port.gateway_port) == "db-1"


def test_a_second_gateway_on_127_0_0_2_serves_the_same_routes_on_the_same_ports(
    web, tcp_backends, static_component, start_gateway, gateway_command, gateway_settings
):
    port, server = web
    start_gateway()
    gateway_command(KATO_GATEWAY_HOST="127.0.0.2", KATO_GATEWAY_PUBLIC_HOST="127.0.0.2")
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    name = f"mysql-shop.localhost:{http_port}"
    for address in ("127.0.0.1", "127.0.0.2"):
        assert eventually(lambda a=address: _get(a, http_port, name)[0] == 200), address
        assert eventually(lambda a=address: _get(a, port.gateway_port, name)[0] == 200), address


def test_a_dns_name_instance_gets_the_host_header_it_expects(
    static_component, alice_actor, http_backends, start_gateway, gateway_settings
):
    # ``localhost`` resolves to 127.0.0.1 (and often ::1, where nothing listens: the route tries the
    # next address, as a TCP connection does).
    server = http_backends("named")
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    instance_services.instance_add(
        component=static_component, address=parse_address(f"localhost:{server.port}"), actor=alice_actor
    )
    services.port_create(
        component=static_component,
        number=server.port,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=alice_actor,
    )
    start_gateway()
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    name = f"mysql-shop.localhost:{http_port}"
    assert eventually(lambda: _get("127.0.0.1", http_port, name)[0] == 200)
    answers = {_get("127.0.0.1", http_port, name) for _ in range(10)}
    assert answers == {(200, "named host=localhost")}
