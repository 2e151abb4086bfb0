"""Probe now from the admin, on components and on instances; the instance list shows the status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.audit import Actor
from core.models import AuditEvent
from instances.models import Instance, Status
from tests.instances import sweeping
from tests.instances.sweeping import (
    add_instance,
    closed_port,
    fresh,
    offline_instance,
    refused_instance,
    served_instance,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


@pytest.fixture
def operator_client(client, django_user_model):
    operator = django_user_model.objects.create_superuser(username="operator", password="operator-pw-1")
    client.force_login(operator)
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_probe_now_on_components_probes_their_online_instances_and_says_what_failed(
    operator_client, application, alice_actor: Actor, serve
) -> None:
    _, component, up = served_instance(serve, application, alice_actor, name="mysql", failure_threshold=1)
    down_port = closed_port()
    down = add_instance(component, f"127.0.0.1:{down_port}", alice_actor)

    response = operator_client.post(
        reverse("admin:components_component_changelist"),
        {"action": "probe_now", "_selected_action": [component.pk]},
        follow=True,
    )

    assert response.status_code == 200
    [message] = messages_of(response)
    assert message == (
        f"mysql: probed 2 instance(s), 1 reachable, 1 failed (127.0.0.1:{down_port}: connect — connection refused)."
    )
    assert fresh(up).status == Status.HEALTHY and fresh(down).status == Status.UNHEALTHY
    assert AuditEvent.objects.get(action="component.probe").user.username == "operator"


def test_probe_now_on_instances_probes_the_chosen_online_ones(
    operator_client, application, alice_actor: Actor, serve
) -> None:
    server, component, chosen = served_instance(serve, application, alice_actor)
    other = refused_instance(component, alice_actor)
    offline = offline_instance(component, alice_actor)

    response = operator_client.post(
        reverse("admin:instances_instance_changelist"),
        {"action": "probe_now", "_selected_action": [chosen.pk, offline.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        "Probe now: probed 1 instance(s), 1 reachable.",
        "1 offline instance(s) were not probed.",
    ]
    assert fresh(chosen).status == Status.HEALTHY
    assert fresh(other).last_checked_at is None
    assert server.connection_count == 1


def test_the_instance_list_shows_each_status(operator_client, application, alice_actor: Actor, serve) -> None:
    server, component, _ = served_instance(serve, application, alice_actor)
    offline_instance(component, alice_actor)
    Instance.objects.filter(port=server.port).update(health="healthy")

    response = operator_client.get(reverse("admin:instances_instance_changelist"))

    html = response.content.decode()
    assert '<td class="field-status">Healthy</td>' in html
    assert '<td class="field-status">Offline</td>' in html


# The instance form reads one address with the parser and the network policy, through the services.


def test_the_instance_form_reads_host_and_port_from_one_address(operator_client, static_component) -> None:
    response = operator_client.post(
        reverse("admin:instances_instance_add"),
        {"component": static_component.pk, "address": "127.0.0.1:3306", "is_online": "on"},
    )

    assert response.status_code == 302
    instance = Instance.objects.get()
    assert (instance.host, instance.port, instance.source) == ("127.0.0.1", 3306, "static")
    assert AuditEvent.objects.get(action="instance.add").user.username == "operator"


@pytest.mark.parametrize("address", ["169.254.169.254", "FE80::1", "a b;$(id)"])
def test_the_instance_form_refuses_denied_and_malformed_addresses(
    operator_client, static_component, address: str
) -> None:
    response = operator_client.post(
        reverse("admin:instances_instance_add"),
        # "host" as the form once had it, which took any text as a host name.
        {
            "component": static_component.pk,
            "address": address,
            "host": address,
            "source": "static",
            "is_online": "on",
        },
    )

    assert response.status_code == 200
    assert 'class="errorlist' in response.content.decode()
    assert not Instance.objects.exists()


def test_moving_an_instance_starts_it_over_so_a_stale_probe_is_dropped(
    operator_client, static_component, alice_actor: Actor
) -> None:
    instance = add_instance(static_component, "10.0.0.7:3306", alice_actor)
    Instance.objects.filter(pk=instance.pk).update(health="healthy", consecutive_successes=3)
    before = fresh(instance).generation

    response = operator_client.post(
        reverse("admin:instances_instance_change", args=[instance.pk]),
        {"address": "10.0.0.8:3306", "is_online": "on"},
    )

    assert response.status_code == 302
    moved = fresh(instance)
    assert (moved.host, moved.port, moved.health, moved.consecutive_successes) == (
        "10.0.0.8",
        3306,
        "unknown",
        0,
    )
    assert moved.generation > before
    event = AuditEvent.objects.get(action="instance.update")
    assert event.detail["address"] == {"from": "10.0.0.7:3306", "to": "10.0.0.8:3306"}


def test_the_instance_list_shows_the_status_not_a_health_that_contradicts_it(
    operator_client, static_component, alice_actor: Actor
) -> None:
    add_instance(static_component, "10.0.0.7:3306", alice_actor)
    static_component.health_check.enabled = False
    static_component.health_check.save()
    Instance.objects.update(health="healthy")

    html = operator_client.get(reverse("admin:instances_instance_changelist")).content.decode()

    assert '<td class="field-status">Unknown</td>' in html
    assert "field-health" not in html
    unknown = operator_client.get(reverse("admin:instances_instance_changelist"), {"status": "unknown"})
    assert "10.0.0.7:3306" in unknown.content.decode()


def test_changing_the_health_check_in_the_admin_goes_through_the_service(
    operator_client, static_component, alice_actor: Actor
) -> None:
    check = static_component.health_check
    data = {
        "enabled": "on",
        "kind": "tcp",
        "path": "/",
        "interval_s": 30,
        "timeout_s": 40,
        "success_threshold": 1,
        "failure_threshold": 3,
        "username_var": "",
        "password_var": "",
        "verify_tls": "on",
    }
    refused = operator_client.post(reverse("admin:instances_healthcheck_change", args=[check.pk]), data)
    assert (
        refused.status_code == 200
        and "The timeout must be shorter than the interval." in refused.content.decode()
    )

    saved = operator_client.post(
        reverse("admin:instances_healthcheck_change", args=[check.pk]), {**data, "timeout_s": 5}
    )

    assert saved.status_code == 302
    check.refresh_from_db()
    assert (check.interval_s, check.timeout_s) == (30, 5)
    assert AuditEvent.objects.get(action="health_check.update").detail["interval_s"] == {"from": 10, "to": 30}
