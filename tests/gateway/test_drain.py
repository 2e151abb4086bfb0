"""Drain: an instance taken offline gets no new connection, and its open ones end with the drain time."""

from __future__ import annotations

import json
import socket

import pytest
from django.test import Client

from components import services
from instances import services as instance_services
from kato_console.gateway.drain import Drain, can_close_connections
from tests.gateway.conftest import eventually, greeting
from tests.support import services_required

pytestmark = pytest.mark.gateway


def _kato_put(component, address: str, *, is_online: bool) -> None:
    body = {"secret_key": component.secret_key, "ip": address, "is_online": is_online}
    response = Client().put(
        f"/console/third_party/{component.service_id}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content


def _open(port: int) -> tuple[socket.socket, str]:
    conn = socket.create_connection(("127.0.0.1", port), timeout=2)
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(100)
        assert chunk, "the gateway closed a new connection"
        data += chunk
    return conn, data.decode().strip()


def _echoes(conn: socket.socket) -> bool:
    try:
        conn.sendall(b"ping\n")
        return conn.recv(100) == b"ping\n"
    except OSError:
        return False


def _closed(conn: socket.socket) -> bool:
    conn.settimeout(0.1)
    try:
        return conn.recv(100) == b""
    except TimeoutError:
        return False
    except OSError:
        return True


def test_the_kato_put_takes_an_instance_out_and_its_connections_end_with_the_drain_time(
    api_component, alice_actor, tcp_backends, start_gateway
):
    a, b = tcp_backends("a"), tcp_backends("b")
    instance_services.health_check_update(component=api_component, enabled=False, actor=alice_actor)
    for server in (a, b):
        _kato_put(api_component, f"127.0.0.1:{server.port}", is_online=True)
    port = services.port_create(
        component=api_component, number=a.port, protocol="tcp", inner_service=True, actor=alice_actor
    )
    start_gateway(drain_s=4)
    seen = lambda: {greeting("127.0.0.1", port.gateway_port) for _ in range(12)}  # noqa: E731
    assert eventually(lambda: seen() == {"a", "b"})
    opened: dict[str, socket.socket] = {}
    while len(opened) < 2:
        conn, name = _open(port.gateway_port)
        if name in opened:
            conn.close()
        else:
            opened[name] = conn
    try:
        _kato_put(api_component, f"127.0.0.1:{b.port}", is_online=False)
        # No new connection to b within a second of the commit…
        assert eventually(lambda: seen() == {"a"}, within=1.0)
        # …while the one already open to it finishes its work, until the drain time is over.
        assert _echoes(opened["b"])
        if not can_close_connections():
            reason = "this system refuses pidfd_getfd (seccomp without SYS_PTRACE): no drain deadline"
            if services_required():
                pytest.fail(f"{reason} (KATO_REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
            pytest.skip(reason)
        assert eventually(lambda: _closed(opened["b"]), within=15)
        assert _echoes(opened["a"])  # the routed instance's connection is left alone
        assert seen() == {"a"}
    finally:
        for conn in opened.values():
            conn.close()


def test_with_no_routed_instance_left_a_connection_is_refused_at_once(
    api_component, alice_actor, tcp_backends, start_gateway
):
    a = tcp_backends("a")
    instance_services.health_check_update(component=api_component, enabled=False, actor=alice_actor)
    _kato_put(api_component, f"127.0.0.1:{a.port}", is_online=True)
    port = services.port_create(
        component=api_component, number=a.port, protocol="tcp", inner_service=True, actor=alice_actor
    )
    start_gateway()
    assert eventually(lambda: greeting("127.0.0.1", port.gateway_port) == "a")
    _kato_put(api_component, f"127.0.0.1:{a.port}", is_online=False)
    assert eventually(lambda: _refused(port.gateway_port))
    served = a.connections
    assert _refused(port.gateway_port) and a.connections == served
    # The listener comes back with the instance, on the same port.
    _kato_put(api_component, f"127.0.0.1:{a.port}", is_online=True)
    assert eventually(lambda: greeting("127.0.0.1", port.gateway_port) == "a")


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_address_that_routes_again_before_its_deadline_keeps_its_connections():
    clock = Clock()
    drain = Drain(30, clock=clock)
    drain.update({("10.0.0.1", 3306), ("10.0.0.2", 3306)})
    drain.update({("10.0.0.1", 3306)})
    clock.now += 29
    assert drain.due() == set()
    drain.update({("10.0.0.1", 3306), ("10.0.0.2", 3306)})
    clock.now += 10
    assert drain.due() == set()
    drain.update({("10.0.0.1", 3306)})
    clock.now += 30
    assert drain.due() == {("10.0.0.2", 3306)}
    assert drain.due() == set()  # once


def test_an_address_still_routed_by_another_port_is_not_drained():
    from kato_console.gateway.config import Endpoint, Policy, Upstream, load_assignment

    def port(name: str, *ips: str) -> dict:
        endpoints = tuple(Endpoint(ip, 3306) for ip in ips)
        return load_assignment(
            Upstream(name=name, label=name, internal_port=20000, endpoints=endpoints), Policy()
        )

    clock = Clock()
    drain = Drain(0, clock=clock)
    drain.update_clusters([port("port-1", "10.0.0.1", "10.0.0.2"), port("port-2", "10.0.0.2")])
    drain.update_clusters([port("port-1", "10.0.0.1"), port("port-2", "10.0.0.2")])
    assert drain.due() == set()  # 10.0.0.2 still serves port-2
    drain.update_clusters([port("port-1", "10.0.0.1")])  # port-2's internal service turned off
    assert drain.due() == {("10.0.0.2", 3306)}
