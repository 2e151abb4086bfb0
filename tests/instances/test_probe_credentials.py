"""Credentials go only to instances the team trusts (docs/architecture.md, "Probes and credentials").

Whoever holds a component's instance-API secret key can register the address of a server they
control. A credentialed check must not log in there: these tests register hostile loopback servers
through the real instance API and assert on what the servers received.
"""

from __future__ import annotations

import json

import pytest

from components import services
from components.models import Application, Component, Registration
from core.audit import Actor
from core.models import Membership, Role
from instances import services as instance_services
from instances.models import Instance, Source, Status, credentials_withheld_reason
from instances.services import health_check_update
from instances.sweep import probe_component_now
from tests.instances import probe_servers
from tests.instances.probe_servers import FakeMySQL, FakePostgres, LoopbackServer, recording_redis
from tests.instances.sweeping import add_instance, fresh, sweep_rounds

pytestmark = pytest.mark.django_db
serve = probe_servers.serve

SECRET = "pa55-the-probe-keeps"
SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")


def credentialed_component(
    application: Application,
    actor: Actor,
    *,
    kind: str,
    registration: str = Registration.API,
    **check: object,
) -> Component:
    """A component whose check logs in with APP_USER / APP_PASSWORD from its connection information."""
    component = instance_services.component_create(
        application=application, name=kind, actor=actor, registration=registration
    )
    services.port_create(component=component, number=1000, protocol=kind, actor=actor)
    services.port_update(port=component.ports.get(), alias="APP", actor=actor)
    services.env_var_set(component=component, name="APP_USER", value="app", actor=actor)
    services.env_var_set(component=component, name="APP_PASSWORD", value=SECRET, actor=actor, secret=True)
    health_check_update(
        component=component, actor=actor, kind=kind, use_credentials=True, timeout_s=1, interval_s=5, **check
    )
    return component


def owner_of_the_team(actor: Actor) -> None:
    Membership.objects.filter(user=actor.user).update(role=Role.OWNER)


def register_through_the_api(client, component: Component, address: str) -> Instance:
    response = client.put(
        f"/console/third_party/{component.service_id}",
        data=json.dumps({"secret_key": component.secret_key, "ip": address}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    instance = Instance.objects.get(component=component)
    assert instance.source == Source.API
    return instance


def received_no_secret(server: LoopbackServer) -> probe_servers.Client:
    [client] = server.wait_for_clients(1)
    assert SECRET.encode() not in client.received
    return client


def test_it_never_sends_auth_to_a_redis_registered_through_the_api(
    client, application, alice_actor: Actor, serve
) -> None:
    server = serve(recording_redis)
    component = credentialed_component(application, alice_actor, kind="redis")
    instance = register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    sweep_rounds(1)

    commands = received_no_secret(server).notes["commands"]
    assert [command[0] for command in commands] == [b"PING", b"INFO", b"QUIT"]  # type: ignore[union-attr]
    stored = fresh(instance)
    assert stored.status == Status.HEALTHY
    assert stored.server_info == "Redis 7.2.4 (greeting only: credentials withheld)"
    assert "registered through the instance API" in stored.credentials_withheld


def test_it_only_does_the_ssl_exchange_with_a_postgresql_registered_through_the_api(
    client, application, alice_actor: Actor, serve
) -> None:
    # Hostile: no TLS, then it would ask for the password in clear.
    server = serve(FakePostgres(user="app", password=SECRET, method="password"))
    component = credentialed_component(application, alice_actor, kind="postgresql")
    instance = register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    sweep_rounds(1)

    assert bytes(received_no_secret(server).received) == SSL_REQUEST
    assert fresh(instance).server_info == "PostgreSQL (no SSL) (greeting only: credentials withheld)"


def test_it_reads_only_the_greeting_of_a_mysql_registered_through_the_api(
    client, application, alice_actor: Actor, serve
) -> None:
    server = serve(FakeMySQL(password=SECRET, full_auth=True))
    component = credentialed_component(application, alice_actor, kind="mysql")
    register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    sweep_rounds(1)

    assert received_no_secret(server).received == b""  # not even a user name


def test_probe_now_withholds_them_too(client, application, alice_actor: Actor, serve) -> None:
    server = serve(recording_redis)
    component = credentialed_component(application, alice_actor, kind="redis")
    register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    [(instance, result)] = probe_component_now(component=component, actor=alice_actor)

    assert result.ok, result
    assert b"AUTH" not in received_no_secret(server).received
    assert instance.credentials_withheld


def test_it_logs_in_to_an_api_registered_address_inside_the_credential_networks(
    client, application, alice_actor: Actor, serve
) -> None:
    server = serve(FakeMySQL(password=SECRET))
    owner_of_the_team(alice_actor)  # the credential networks are an owner's decision
    component = credentialed_component(
        application, alice_actor, kind="mysql", credential_networks=["127.0.0.0/8"]
    )
    instance = register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    sweep_rounds(1)

    [mysql_client] = server.wait_for_clients(1)
    assert mysql_client.notes["username"] == "app"
    assert mysql_client.notes["quit"] is True
    stored = fresh(instance)
    assert (stored.status, stored.server_info, stored.credentials_withheld) == (
        Status.HEALTHY,
        "MySQL 8.0.36",
        "",
    )


def test_it_never_trusts_an_api_registered_dns_name_even_inside_the_networks(
    client, application, alice_actor: Actor, serve
) -> None:
    server = serve(recording_redis)
    owner_of_the_team(alice_actor)  # the credential networks are an owner's decision
    component = credentialed_component(
        application, alice_actor, kind="redis", credential_networks=["127.0.0.0/8"]
    )
    instance = register_through_the_api(client, component, f"localhost:{server.port}")

    sweep_rounds(1)

    assert b"AUTH" not in received_no_secret(server).received
    assert "DNS name" in fresh(instance).credentials_withheld


def test_it_never_sends_auth_in_clear_even_to_a_redis_a_member_added(
    application, alice_actor: Actor, serve
) -> None:
    server = serve(recording_redis)
    component = credentialed_component(
        application, alice_actor, kind="redis", registration=Registration.STATIC
    )
    add_instance(component, f"127.0.0.1:{server.port}", alice_actor)

    sweep_rounds(1)

    commands = received_no_secret(server).notes["commands"]
    assert [command[0] for command in commands] == [b"PING", b"INFO", b"QUIT"]  # type: ignore[union-attr]


def test_a_member_added_postgresql_still_never_gets_the_password_in_clear(
    application, alice_actor: Actor, serve
) -> None:
    server = serve(FakePostgres(user="app", password=SECRET, method="password"))
    component = credentialed_component(
        application, alice_actor, kind="postgresql", registration=Registration.STATIC, failure_threshold=1
    )
    instance = add_instance(component, f"127.0.0.1:{server.port}", alice_actor)

    sweep_rounds(1)

    received_no_secret(server)
    stored = fresh(instance)
    assert (stored.status, stored.last_stage) == (Status.UNHEALTHY, "auth")
    assert stored.last_error == "the server wants the password in clear without TLS; refused"


def test_the_overview_says_why_the_check_does_not_log_in(
    client, alice_client, application, alice_actor: Actor, serve
) -> None:
    server = serve(recording_redis)
    component = credentialed_component(application, alice_actor, kind="redis")
    register_through_the_api(client, component, f"127.0.0.1:{server.port}")

    page = alice_client.get(f"/components/{component.service_id}/").content.decode()

    assert "Credentials withheld: the address was registered through the instance API" in page
    assert "none: addresses registered through the API get the greeting-only check" in page


@pytest.mark.parametrize(
    "address",
    [
        "2001:0:a00:7::3acd:9bf8",  # Teredo: server 10.0.0.7
        "2001:0:4136:e378:8000:63bf:f5ff:fff8",  # Teredo: client 10.0.0.7 (obfuscated)
        "2002:a00:7::1",  # 6to4 of 10.0.0.7
        "64:ff9b::a00:7",  # NAT64 of 10.0.0.7
        "::a00:7",  # IPv4-compatible
    ],
)
def test_an_ipv4_address_inside_an_ipv6_one_never_makes_it_trusted(address: str) -> None:
    reason = credentials_withheld_reason(source=Source.API, host=address, networks=["10.0.0.0/8"])
    assert "outside the check's credential networks" in reason


def test_an_ipv4_mapped_address_is_that_ipv4_host_and_is_trusted_inside_the_networks() -> None:
    assert (
        credentials_withheld_reason(source=Source.API, host="::ffff:10.0.0.7", networks=["10.0.0.0/8"]) == ""
    )
