"""The Health check page: change the check at once, the MySQL greeting-only warning, probe now."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from core.audit import Actor
from core.errors import ComponentError
from core.models import Membership, Role
from instances.addresses import parse_address
from instances.models import HealthCheck
from instances.services import NETWORKS_ARE_THE_OWNERS, health_check_update, instance_add
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db

VALID = {
    "enabled": "on",
    "kind": "tcp",
    "path": "/",
    "interval_s": "10",
    "timeout_s": "3",
    "success_threshold": "1",
    "failure_threshold": "3",
}


def _url(component, name: str = "component-health-check") -> str:
    return reverse(name, args=[component.service_id])


def test_it_saves_the_check_at_once(alice_client, static_component):
    response = alice_client.post(
        _url(static_component), {**VALID, "kind": "http", "path": "/healthz", "interval_s": "30"}, follow=True
    )
    assert "Saved the health check; it applies now." in text(response)
    check = HealthCheck.objects.get(component=static_component)
    assert (check.kind, check.path, check.interval_s) == ("http", "/healthz", 30)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timeout_s": "10"}, "The timeout must be shorter than the interval."),
        ({"interval_s": "4"}, "Ensure this value is greater than or equal to 5."),
        ({"timeout_s": "31", "interval_s": "60"}, "Ensure this value is less than or equal to 30."),
        ({"failure_threshold": ""}, "This field is required."),
        ({"kind": "http", "path": "healthz"}, "The path starts with a slash"),
        ({"kind": "smtp"}, "Select a valid choice."),
    ],
)
def test_it_shows_each_validation_message(alice_client, static_component, changes, message):
    response = alice_client.post(_url(static_component), {**VALID, **changes})
    assert response.status_code == 200 and message in text(response)
    assert HealthCheck.objects.get(component=static_component).interval_s == 10


def test_a_mysql_check_without_credentials_warns_about_blocked_hosts(
    alice_client, static_component, alice_actor
):
    alice_client.post(_url(static_component), {**VALID, "kind": "mysql"})
    assert "max_connect_errors" not in text(alice_client.get(_url(static_component)))  # no instance yet
    instance_add(component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor)
    page = text(alice_client.get(_url(static_component)))
    # One line, the details in a disclosure the overview's link leads to.
    assert '<details class="warning" id="greeting-only">' in page
    assert "max_connect_errors" in page and "FLUSH HOSTS" in page
    alice_client.post(_url(static_component), {**VALID, "kind": "mysql", "use_credentials": "on"})
    assert "max_connect_errors" not in text(alice_client.get(_url(static_component)))


def test_probe_now_shows_each_instance_result(alice_client, static_component, alice_actor, tcp_listener):
    host, port = tcp_listener
    instance_add(component=static_component, address=parse_address(f"{host}:{port}"), actor=alice_actor)
    instance_add(component=static_component, address=parse_address("127.0.0.1:1"), actor=alice_actor)
    response = hx(alice_client, "post", _url(static_component, "component-probe-now"), "probe-results")
    body = text(response)
    assert body.lstrip().startswith('<div id="probe-results"')
    assert (
        f"127.0.0.1:{port}" in body and "reachable" in body and "unreachable" in body and "connect:" in body
    )


def test_a_refused_login_is_called_a_failed_login_not_unreachable(
    alice_client, static_component, alice_actor
):

    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.env_var_set(component=static_component, name="MYSQL_USER", value="root", actor=alice_actor)
    services.env_var_set(
        component=static_component,
        name="MYSQL_PASSWORD",
        value="wrong-password",
        secret=True,
        actor=alice_actor,
    )
    health_check_update(
        component=static_component,
        kind="mysql",
        use_credentials=True,
        username_var="MYSQL_USER",
        password_var="MYSQL_PASSWORD",
        verify_tls=False,
        actor=alice_actor,
    )
    instance_add(component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor)
    body = text(hx(alice_client, "post", _url(static_component, "component-probe-now"), "probe-results"))
    assert "Access denied" in body
    assert ">login failed</span>" in body and "unreachable" not in body


def test_probe_now_without_javascript_renders_the_page(
    alice_client, static_component, alice_actor, tcp_listener
):
    host, port = tcp_listener
    instance_add(component=static_component, address=parse_address(f"{host}:{port}"), actor=alice_actor)
    page = text(alice_client.post(_url(static_component, "component-probe-now"), follow=True))
    assert "<h1>" in page and f"127.0.0.1:{port}" in page and "reachable" in page


def _make_owner(user, team) -> None:

    Membership.objects.filter(user=user, team=team).update(role=Role.OWNER)


def test_an_owner_sets_the_credential_networks_of_an_api_component(alice_client, alice, team, api_component):
    _make_owner(alice, team)
    response = alice_client.post(
        _url(api_component), {**VALID, "credential_networks": "10.0.0.0/8, 192.168.7.0/24"}, follow=True
    )
    assert "Saved the health check; it applies now." in text(response)
    assert HealthCheck.objects.get(component=api_component).credential_networks == [
        "10.0.0.0/8",
        "192.168.7.0/24",
    ]
    assert "10.0.0.0/8" in text(alice_client.get(_url(api_component)))


def test_a_bad_network_is_shown_under_the_field(alice_client, alice, team, api_component):
    _make_owner(alice, team)
    response = alice_client.post(_url(api_component), {**VALID, "credential_networks": "not-a-network"})
    assert response.status_code == 200
    assert "is not a network in CIDR notation" in text(response)
    assert HealthCheck.objects.get(component=api_component).credential_networks == []


def test_a_static_component_has_no_credential_networks_field(alice_client, static_component):
    assert "Credential networks" not in text(alice_client.get(_url(static_component)))


def test_a_developer_sees_the_networks_but_cannot_change_them(client, django_user_model, team, api_component):

    dev = django_user_model.objects.create_user("dora", password="dora-password-1")
    Membership.objects.create(user=dev, team=team, role=Role.DEVELOPER)
    client.force_login(dev)
    client.post(_url(api_component), {**VALID, "credential_networks": "10.0.0.0/8"})
    assert HealthCheck.objects.get(component=api_component).credential_networks == []


def test_the_service_refuses_a_developer_at_every_door(django_user_model, team, api_component):

    dev = django_user_model.objects.create_user("dora", password="dora-password-1")
    Membership.objects.create(user=dev, team=team, role=Role.DEVELOPER)
    with pytest.raises(ComponentError) as refused:
        health_check_update(
            component=api_component, actor=Actor.for_user(dev), credential_networks=["10.0.0.0/8"]
        )
    assert refused.value.messages == {"credential_networks": [NETWORKS_ARE_THE_OWNERS]}
    health_check_update(component=api_component, actor=Actor.for_user(dev), timeout_s=2)
