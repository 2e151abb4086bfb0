"""Who may see and change a component's pages: members see them, viewers cannot write, another team gets 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import ComponentKind
from instances import services as instance_services
from instances.addresses import parse_address
from instances.services import instance_add

pytestmark = pytest.mark.django_db

PAGES = [
    "component",
    "component-ports",
    "component-connection-info",
    "component-dependencies",
    "component-environment",
    "component-health-check",
    "component-events",
    "component-settings",
]


@pytest.fixture
def world(static_component, alice_actor):
    """A component with an instance, a port, a variable and a dependency target, so every write has an object."""
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    target = instance_services.component_create(
        application=static_component.application, name="cache", actor=alice_actor, kind=ComponentKind.INTERNAL
    )
    return static_component, instance, target


def _writes(component, instance, target) -> list[tuple[str, dict]]:
    sid = component.service_id
    return [
        (reverse("component-instance-add", args=[sid]), {"address": "10.0.0.8"}),
        (reverse("component-instance-online", args=[sid, instance.pk]), {"is_online": "0"}),
        (reverse("component-instance-delete", args=[sid, instance.pk]), {"confirm": "yes"}),
        (reverse("component-settings", args=[sid]), {"name": "x", "service_name": "x"}),
        (reverse("component-delete", args=[sid]), {"confirm": "yes"}),
        (reverse("component-ports", args=[sid]), {"number": "80", "protocol": "http"}),
        (reverse("component-port-services", args=[sid, 3306]), {"inner_service": "on"}),
        (reverse("component-port-delete", args=[sid, 3306]), {}),
        (reverse("component-connection-info", args=[sid]), {"name": "A", "value": "b"}),
        (reverse("component-env-edit", args=[sid, "MYSQL_USER"]), {"value": "x"}),
        (reverse("component-env-delete", args=[sid, "MYSQL_USER"]), {}),
        (reverse("component-env-reveal", args=[sid, "MYSQL_USER"]), {}),
        (reverse("component-dependencies", args=[sid]), {"target": target.service_id}),
        (reverse("component-dependency-remove", args=[sid, target.service_id]), {}),
        (reverse("component-environment-reveal", args=[sid]), {}),
        (reverse("component-health-check", args=[sid]), {"kind": "tcp", "interval_s": 10, "timeout_s": 3}),
        (reverse("component-probe-now", args=[sid]), {}),
        (reverse("component-secret-key-reveal", args=[sid]), {}),
    ]


@pytest.mark.parametrize("url_name", PAGES)
def test_every_page_shows_the_frame_with_the_current_tab_marked(alice_client, world, url_name):
    component = world[0]
    response = alice_client.get(reverse(url_name, args=[component.service_id]))
    assert response.status_code == 200
    page = response.content.decode()
    assert '<a href="/apps/">Applications</a>' in page and "Shop" in page
    assert "Third-party · Static addresses" in page and "3306/mysql" in page
    for label in (
        "Overview",
        "Ports",
        "Connection information",
        "Dependencies",
        "Environment",
        "Health check",
        "Events",
        "Settings",
    ):
        assert f">{label}</a>" in page
    assert page.count('aria-current="page"') == 1


def test_a_viewer_sees_every_page_without_write_buttons(client, victor_the_viewer, world):
    client.force_login(victor_the_viewer)
    for url_name in PAGES:
        page = client.get(reverse(url_name, args=[world[0].service_id])).content.decode()
        for button in (
            "Add instance",
            "Add port",
            "Add variable",
            "Add dependency",
            "Take offline",
            "Probe now",
        ):
            assert f">{button}</button>" not in page, (url_name, button)


def test_a_viewer_gets_403_on_every_write_and_nothing_changes(client, victor_the_viewer, world):
    client.force_login(victor_the_viewer)
    component, instance, target = world
    for url, data in _writes(component, instance, target):
        assert client.post(url, data).status_code == 403, url
    component.refresh_from_db()
    assert component.name == "mysql" and component.instances.count() == 1 and component.ports.count() == 1
    assert not component.dependencies.exists()


def test_another_team_gets_404_on_every_page_fragment_and_write(client, bob_from_another_team, world):
    client.force_login(bob_from_another_team)
    component, instance, target = world
    for url_name in PAGES:
        url = reverse(url_name, args=[component.service_id])
        assert client.get(url).status_code == 404, url
        assert client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="instance-table").status_code == 404
    assert (
        client.get(reverse("component-environment-download", args=[component.service_id])).status_code == 404
    )
    for url, data in _writes(component, instance, target):
        assert client.post(url, data).status_code == 404, url
    assert component.instances.count() == 1
