"""An instance leaves the gateway's upstream when the checks mark it unhealthy, and comes back."""

from __future__ import annotations

import pytest

from components import services
from instances import services as instance_services
from instances.addresses import parse_address
from tests.gateway.conftest import eventually, greeting
from tests.instances.sweeping import no_jitter, sweep_rounds  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gateway


@pytest.mark.usefixtures("no_jitter")
def test_a_backend_that_stops_leaves_once_unhealthy_and_returns_when_it_passes(
    static_component, alice_actor, tcp_backends, start_gateway
):
    a, b = tcp_backends("a"), tcp_backends("b")
    instance_services.health_check_update(
        component=static_component,
        actor=alice_actor,
        kind="tcp",
        timeout_s=1,
        interval_s=5,
        failure_threshold=1,
        success_threshold=1,
    )
    for server in (a, b):
        instance_services.instance_add(
            component=static_component, address=parse_address(f"127.0.0.1:{server.port}"), actor=alice_actor
        )
    port = services.port_create(
        component=static_component, number=a.port, protocol="tcp", inner_service=True, actor=alice_actor
    )
    start_gateway()
    # Not ready until checked: nothing is routed yet.
    sweep_rounds(1)
    seen = lambda: {greeting("127.0.0.1", port.gateway_port) for _ in range(12)}  # noqa: E731
    assert eventually(lambda: seen() == {"a", "b"})

    b_port = b.port
    b.stop()
    sweep_rounds(1)
    assert eventually(lambda: seen() == {"a"})

    tcp_backends("b", port=b_port)
    sweep_rounds(1)
    assert eventually(lambda: seen() == {"a", "b"})
