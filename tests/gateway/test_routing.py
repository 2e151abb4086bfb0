"""Traffic through a real gateway goes to the routed instances, and only to them."""

from __future__ import annotations

import pytest

from components import services
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from tests.gateway.conftest import eventually, greeting

pytestmark = pytest.mark.gateway


def _names_seen(host: str, port: int, tries: int = 12) -> set[str]:
    return {greeting(host, port) for _ in range(tries)}


@pytest.fixture
def mysql_like(static_component, alice_actor, tcp_backends):
    """A third-party component with two instances (small TCP servers named a and b), internal service on."""
    a, b = tcp_backends("a"), tcp_backends("b")
    instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
    for server in (a, b):
        instance_services.instance_add(
            component=static_component, address=parse_address(f"127.0.0.1:{server.port}"), actor=alice_actor
        )
    port = services.port_create(
        component=static_component, number=a.port, protocol="tcp", inner_service=True, actor=alice_actor
    )
    return static_component, port, a, b


def test_connections_spread_over_the_routed_instances(mysql_like, start_gateway):
    component, port, a, b = mysql_like
    start_gateway()
    assert eventually(lambda: _names_seen("127.0.0.1", port.gateway_port) == {"a", "b"})


def test_an_instance_taken_offline_gets_no_new_connection(mysql_like, start_gateway, alice_actor):
    component, port, a, b = mysql_like
    start_gateway()
    assert eventually(lambda: _names_seen("127.0.0.1", port.gateway_port) == {"a", "b"})
    instance = Instance.objects.get(component=component, port=b.port)
    instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    # Within a second of the commit (the wait is bounded; how fast it is goes in bench/gateway.py).
    assert eventually(lambda: _names_seen("127.0.0.1", port.gateway_port) == {"a"}, within=1.0)
    assert _names_seen("127.0.0.1", port.gateway_port, tries=20) == {"a"}


def test_an_open_connection_carries_on_when_its_instance_goes_offline(mysql_like, start_gateway, alice_actor):
    import socket

    component, port, a, b = mysql_like
    start_gateway()
    assert eventually(lambda: _names_seen("127.0.0.1", port.gateway_port) == {"a", "b"})
    with socket.create_connection(("127.0.0.1", port.gateway_port), timeout=2) as conn:
        name = conn.recv(100).decode().strip()
        instance = Instance.objects.get(component=component, port=(a if name == "a" else b).port)
        instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)
        assert eventually(lambda: _names_seen("127.0.0.1", port.gateway_port) == ({"a", "b"} - {name}))
        conn.sendall(b"still there\n")
        assert conn.recv(100) == b"still there\n"


def test_with_no_routed_instance_connections_are_closed_at_once(mysql_like, start_gateway, alice_actor):
    component, port, a, b = mysql_like
    start_gateway()
    for instance in Instance.objects.filter(component=component):
        instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    assert eventually(lambda: greeting("127.0.0.1", port.gateway_port, timeout=5) == "")


def test_internal_service_off_means_no_listener(mysql_like, start_gateway, alice_actor):
    component, port, a, b = mysql_like
    start_gateway()
    assert eventually(lambda: greeting("127.0.0.1", port.gateway_port) in {"a", "b"})
    kept = port.gateway_port
    services.port_update(port=port, inner_service=False, actor=alice_actor)

    def refused() -> bool:
        import socket

        try:
            socket.create_connection(("127.0.0.1", kept), timeout=1).close()
        except ConnectionRefusedError:
            return True
        return False

    assert eventually(refused)
    services.port_update(port=port, inner_service=True, actor=alice_actor)
    port.refresh_from_db()
    assert port.gateway_port == kept  # kept for the port's life
    assert eventually(lambda: greeting("127.0.0.1", kept) in {"a", "b"})


def test_with_routing_off_the_gateway_serves_nothing(mysql_like, start_gateway, gateway_settings):
    component, port, a, b = mysql_like
    gateway_settings.KATO_GATEWAY = False
    gateway = start_gateway()
    assert gateway.envoy.running()
    assert greeting("127.0.0.1", port.gateway_port, timeout=1) == ""
