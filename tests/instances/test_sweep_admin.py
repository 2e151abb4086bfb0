"""Probe now from the admin, on components and on instances; the instance list shows the status."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components.audit import Actor
from components.models import AuditEvent
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
