"""A routing change reaches Envoy as one cluster's endpoints: the other components' routing, the
discovery files (cds.json above all) and the other clusters' endpoints in Envoy stay as they were."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

from components import services
from components.models import Port
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from kato_console.gateway.envoy import Envoy
from tests.gateway.conftest import eventually, greeting

pytestmark = pytest.mark.gateway


def _names_seen(port: int, tries: int = 12) -> set[str]:
    return {greeting("127.0.0.1", port) for _ in range(tries)}


def _files(directory: Path) -> dict[str, tuple[int, int]]:
    """Every file Envoy reads in the gateway's directory, with its inode and modification time."""
    found = {}
    for path in directory.iterdir():
        if path.is_file():
            stat = os.stat(path)
            found[path.name] = (stat.st_ino, stat.st_mtime_ns)
    return found


def _stats(envoy: Envoy) -> dict[str, str]:
    """Envoy's counters, among them how many times it took in the clusters (``cluster_manager.cds``)
    and each cluster's endpoints (``cluster.<application>.<service>.<port>.update_success``)."""
    url = f"http://{envoy.admin_address}/stats?filter=update_(success|attempt)"
    text = urllib.request.urlopen(url, timeout=5).read().decode()  # noqa: S310 (loopback admin)
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def _endpoint_updates(envoy: Envoy, port: Port) -> str:
    """How many times Envoy took in new endpoints for ``port``'s cluster (its statistics carry the
    port's number last)."""
    (count,) = [
        value
        for name, value in _stats(envoy).items()
        if name.startswith("cluster.") and name.endswith(f".{port.number}.update_success")
    ]
    return count


@pytest.fixture
def two_components(application, alice_actor, tcp_backends):
    """Two third-party components with their internal service on: "mysql" with instances a and b,
    "redis" with instance c."""
    made = {}
    for name, backends in (("mysql", ("a", "b")), ("redis", ("c",))):
        component = instance_services.component_create(
            application=application, name=name, actor=alice_actor, registration="static"
        )
        instance_services.health_check_update(component=component, enabled=False, actor=alice_actor)
        servers = [tcp_backends(backend) for backend in backends]
        for server in servers:
            instance_services.instance_add(
                component=component, address=parse_address(f"127.0.0.1:{server.port}"), actor=alice_actor
            )
        port = services.port_create(
            component=component, number=servers[0].port, protocol="tcp", inner_service=True, actor=alice_actor
        )
        made[name] = (component, port, servers)
    return made


def test_an_instance_going_offline_changes_its_own_component_only(two_components, start_gateway, alice_actor):
    mysql, mysql_port, (a, b) = two_components["mysql"]
    redis, redis_port, _ = two_components["redis"]
    gateway = start_gateway()
    assert eventually(lambda: _names_seen(mysql_port.gateway_port) == {"a", "b"})
    assert eventually(lambda: _names_seen(redis_port.gateway_port) == {"c"})
    files = _files(gateway.envoy.directory)
    assert {"cds.json", "lds.json"} <= set(files)
    before = _stats(gateway.envoy)
    mysql_updates, redis_updates = (
        _endpoint_updates(gateway.envoy, port) for port in (mysql_port, redis_port)
    )

    instance = Instance.objects.get(component=mysql, port=b.port)
    instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)

    # mysql's traffic stops reaching b…
    assert eventually(lambda: _names_seen(mysql_port.gateway_port) == {"a"}, within=1.0)
    assert _names_seen(mysql_port.gateway_port, tries=20) == {"a"}
    # …and nothing else changed: no discovery file was written (not even cds.json, which names both
    # clusters), Envoy took new endpoints for mysql's cluster alone, and redis answers as before.
    assert _files(gateway.envoy.directory) == files
    after = _stats(gateway.envoy)
    assert after["cluster_manager.cds.update_attempt"] == before["cluster_manager.cds.update_attempt"]
    assert after["listener_manager.lds.update_attempt"] == before["listener_manager.lds.update_attempt"]
    assert int(_endpoint_updates(gateway.envoy, mysql_port)) == int(mysql_updates) + 1
    assert _endpoint_updates(gateway.envoy, redis_port) == redis_updates
    assert _names_seen(redis_port.gateway_port) == {"c"}


def test_a_component_whose_last_instance_goes_offline_loses_its_listener_only(
    two_components, start_gateway, alice_actor
):
    mysql, mysql_port, _ = two_components["mysql"]
    redis, redis_port, _ = two_components["redis"]
    gateway = start_gateway()
    assert eventually(lambda: _names_seen(redis_port.gateway_port) == {"c"})
    cds = os.stat(gateway.envoy.directory / "cds.json")
    mysql_updates = _endpoint_updates(gateway.envoy, mysql_port)
    cds_reads = _stats(gateway.envoy)["cluster_manager.cds.update_attempt"]

    (instance,) = Instance.objects.filter(component=redis)
    instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)

    assert eventually(lambda: greeting("127.0.0.1", redis_port.gateway_port, timeout=1) == "")
    assert _names_seen(mysql_port.gateway_port) == {"a", "b"}
    after = os.stat(gateway.envoy.directory / "cds.json")
    assert (after.st_ino, after.st_mtime_ns) == (cds.st_ino, cds.st_mtime_ns)
    assert _stats(gateway.envoy)["cluster_manager.cds.update_attempt"] == cds_reads
    assert _endpoint_updates(gateway.envoy, mysql_port) == mysql_updates


def test_a_cluster_built_anew_gets_its_endpoints_at_once(two_components, start_gateway, alice_actor):
    """A change to a cluster's own definition (here its statistics' name, from the service name) makes
    Envoy build the cluster anew; the new one routes to the same instances, and follows the next
    routing change as promptly as before."""
    mysql, mysql_port, (a, b) = two_components["mysql"]
    gateway = start_gateway()
    assert eventually(lambda: _names_seen(mysql_port.gateway_port) == {"a", "b"})
    cds = os.stat(gateway.envoy.directory / "cds.json")
    services.component_update(component=mysql, service_name="mariadb", actor=alice_actor)

    def renamed() -> bool:
        return any(".mariadb." in name for name in _stats(gateway.envoy))

    def warming() -> list[object]:
        """The clusters Envoy built but does not use yet: an EDS cluster waits for its endpoints."""
        url = f"http://{gateway.envoy.admin_address}/config_dump?resource=dynamic_warming_clusters"
        return json.loads(urllib.request.urlopen(url, timeout=5).read()).get("configs", [])  # noqa: S310

    assert eventually(renamed)
    assert eventually(lambda: not warming(), within=2.0)
    assert os.stat(gateway.envoy.directory / "cds.json").st_ino != cds.st_ino
    assert _names_seen(mysql_port.gateway_port) == {"a", "b"}
    instance = Instance.objects.get(component=mysql, port=b.port)
    instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    assert eventually(lambda: _names_seen(mysql_port.gateway_port) == {"a"}, within=1.0)
