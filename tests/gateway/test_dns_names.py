"""A DNS-name instance: each address its name resolves to is probed on its own and routed only while
it passes; the name is resolved again every round, and a record change shows in the events."""

from __future__ import annotations

import pytest

from components import services
from core.models import AuditEvent
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance, ResolvedAddress
from tests.gateway.conftest import eventually, free_port, greeting
from tests.instances.sweeping import no_jitter, sweep_rounds  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.gateway, pytest.mark.usefixtures("no_jitter")]

NAME = "db.kato.test"


@pytest.fixture
def name_instance(static_component, alice_actor, dns_names, tcp_backends):
    """``db.kato.test`` resolving to 127.0.0.1 and 127.0.0.2, a backend on each at one port."""
    number = free_port()
    backends = {ip: tcp_backends(f"on {ip}", host=ip, port=number) for ip in ("127.0.0.1", "127.0.0.2")}
    dns_names[NAME] = list(backends)
    instance_services.health_check_update(
        component=static_component,
        actor=alice_actor,
        kind="tcp",
        timeout_s=1,
        interval_s=5,
        failure_threshold=1,
        success_threshold=1,
    )
    instance = instance_services.instance_add(
        component=static_component, address=parse_address(f"{NAME}:{number}"), actor=alice_actor
    )
    return instance, backends


def addresses(instance: Instance) -> dict[str, str]:
    return dict(ResolvedAddress.objects.filter(instance=instance).values_list("ip", "health"))


def test_each_address_is_probed_and_kept_with_its_health(name_instance):
    instance, backends = name_instance
    sweep_rounds(1)
    assert addresses(instance) == {"127.0.0.1": "healthy", "127.0.0.2": "healthy"}
    instance.refresh_from_db()
    assert instance.health == "healthy"

    backends["127.0.0.2"].stop()
    sweep_rounds(1)
    assert addresses(instance) == {"127.0.0.1": "healthy", "127.0.0.2": "unhealthy"}
    instance.refresh_from_db()
    assert instance.health == "healthy"  # at least one address passes

    backends["127.0.0.1"].stop()
    sweep_rounds(1)
    instance.refresh_from_db()
    assert instance.health == "unhealthy"
    assert addresses(instance) == {"127.0.0.1": "unhealthy", "127.0.0.2": "unhealthy"}


def test_a_record_change_is_resolved_again_and_written_as_one_event(name_instance, dns_names):
    instance, _ = name_instance
    sweep_rounds(1)
    assert not AuditEvent.objects.filter(action="instance.dns_change").exists()

    dns_names[NAME] = ["127.0.0.1", "127.0.0.3"]
    sweep_rounds(1)
    assert set(addresses(instance)) == {"127.0.0.1", "127.0.0.3"}
    (event,) = AuditEvent.objects.filter(action="instance.dns_change", component=instance.component)
    assert event.actor == "system"
    assert event.detail["added"] == "127.0.0.3"
    assert event.detail["removed"] == "127.0.0.2"
    assert event.detail["name"] == NAME

    dns_names[NAME] = ["127.0.0.1"]
    sweep_rounds(1)
    latest = AuditEvent.objects.filter(action="instance.dns_change").order_by("-id").first()
    assert latest is not None and (latest.detail["added"], latest.detail["removed"]) == ("none", "127.0.0.3")

    sweep_rounds(1)  # the same record: no new event
    assert AuditEvent.objects.filter(action="instance.dns_change").count() == 2


def test_a_name_that_stops_resolving_keeps_its_addresses_and_fails_them(name_instance, dns_names):
    instance, _ = name_instance
    sweep_rounds(1)
    dns_names[NAME] = []
    sweep_rounds(1)
    assert addresses(instance) == {"127.0.0.1": "unhealthy", "127.0.0.2": "unhealthy"}
    instance.refresh_from_db()
    assert (instance.health, instance.last_stage) == ("unhealthy", "dns")


def test_a_denied_address_is_never_probed_and_never_passes(name_instance, settings):
    import ipaddress

    settings.KATO_DENIED_NETWORKS = [ipaddress.ip_network("127.0.0.2/32")]
    instance, backends = name_instance
    sweep_rounds(1)
    assert addresses(instance) == {"127.0.0.1": "healthy", "127.0.0.2": "unhealthy"}
    assert backends["127.0.0.2"].connections == 0
    row = ResolvedAddress.objects.get(instance=instance, ip="127.0.0.2")
    assert row.last_stage == "policy"


def test_the_gateway_routes_to_each_passing_address_and_drops_a_failing_one(
    name_instance, static_component, alice_actor, start_gateway
):
    instance, backends = name_instance
    port = services.port_create(
        component=static_component,
        number=instance.port,
        protocol="tcp",
        inner_service=True,
        actor=alice_actor,
    )
    start_gateway()
    sweep_rounds(1)
    seen = lambda: {greeting("127.0.0.1", port.gateway_port) for _ in range(12)}  # noqa: E731
    assert eventually(lambda: seen() == {"on 127.0.0.1", "on 127.0.0.2"})

    backends["127.0.0.2"].stop()
    sweep_rounds(1)
    assert eventually(lambda: seen() == {"on 127.0.0.1"})

    backends["127.0.0.1"].stop()
    sweep_rounds(1)
    assert eventually(lambda: seen() == {""})  # nothing passes: nothing routed, refused at once


def test_the_overview_shows_each_address_of_the_name_with_its_state(name_instance, client, alice):
    instance, backends = name_instance
    backends["127.0.0.2"].stop()
    sweep_rounds(1)
    client.force_login(alice)
    page = client.get(f"/components/{instance.component.service_id}/").content.decode()
    assert "resolves to <code>127.0.0.1</code>" in page
    assert '<code>127.0.0.1</code><span class="status status-healthy"' in page
    assert '<code>127.0.0.2</code><span class="status status-unhealthy"' in page


def test_the_console_api_shows_each_address_of_the_name_routed_or_not(name_instance, alice):
    from tests.api.conftest import token_client, url

    instance, backends = name_instance
    backends["127.0.0.2"].stop()
    sweep_rounds(1)
    api = token_client(alice)
    expected = [
        {"ip": "127.0.0.1", "health": "healthy", "routed": True, "error": ""},
        {"ip": "127.0.0.2", "health": "unhealthy", "routed": False},
    ]
    listed = api.get(url(instance.component, "/instances/")).json()["results"][0]["resolved_addresses"]
    one = api.get(url(instance.component, f"/instances/{instance.pk}/")).json()["resolved_addresses"]
    for answer in (listed, one):
        assert answer[0] == expected[0]
        assert {key: answer[1][key] for key in ("ip", "health", "routed")} == expected[1]
        assert answer[1]["error"]  # why it failed
    # Taken offline, no address is routed.
    changed = api.patch(
        url(instance.component, f"/instances/{instance.pk}/"), {"is_online": False}, format="json"
    )
    assert [entry["routed"] for entry in changed.json()["resolved_addresses"]] == [False, False]
