"""A component's status: "No instances" is neutral and the same everywhere; "Offline" means all taken offline."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from instances.addresses import parse_address
from instances.models import Health, Instance
from instances.services import instance_add, instance_set_online

pytestmark = pytest.mark.django_db


def _row(page: str, name: str) -> str:
    return re.search(rf"<tr>\s*<td><a [^>]*>{name}</a>.*?</tr>", page, re.S).group(0)


def _everywhere(client, application, component) -> dict[str, str]:
    """The status word the application table, the topology, the component's header and the API show."""
    app_page = client.get(reverse("application", args=[application.slug])).content.decode()
    overview = client.get(reverse("component", args=[component.service_id])).content.decode()
    head = re.search(r'<header class="component-head".*?</header>', overview, re.S).group(0)
    return {
        "table": re.search(r'class="status [^"]*">([^<]*)<', _row(app_page, component.name)).group(1),
        "topology": re.search(rf'aria-label="{component.name}, ([^"]*)"', app_page).group(1),
        "header": re.search(r'class="status [^"]*">([^<]*)<', head).group(1),
        "api": client.get(f"/api/v1/components/{component.service_id}").json()["status"],
    }


def test_an_internal_component_shows_no_instances_everywhere_not_offline(
    alice_client, application, internal_component
):
    shown = _everywhere(alice_client, application, internal_component)
    assert set(shown.values()) == {"No instances"}, shown


def test_a_third_party_component_without_addresses_yet_shows_no_instances(
    alice_client, application, api_component
):
    shown = _everywhere(alice_client, application, api_component)
    assert set(shown.values()) == {"No instances"}, shown


def test_a_component_whose_instances_are_all_taken_offline_shows_offline(
    alice_client, application, static_component, alice_actor
):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    shown = _everywhere(alice_client, application, static_component)
    assert set(shown.values()) == {"Offline"}, shown


def test_a_component_whose_instances_wait_for_their_first_checks_is_not_ready_not_unhealthy(
    alice_client, application, static_component, alice_actor
):
    instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    shown = _everywhere(alice_client, application, static_component)
    assert set(shown.values()) == {"Not ready"}, shown


def test_a_component_whose_checks_fail_is_unhealthy(alice_client, application, static_component, alice_actor):
    for host in ("10.0.0.7", "10.0.0.8"):
        instance_add(component=static_component, address=parse_address(host), actor=alice_actor)
    Instance.objects.filter(host="10.0.0.7").update(health=Health.UNHEALTHY)
    shown = _everywhere(alice_client, application, static_component)
    assert set(shown.values()) == {"Unhealthy"}, shown


def test_the_neutral_status_has_its_own_badge_style(alice_client, internal_component):
    overview = alice_client.get(reverse("component", args=[internal_component.service_id])).content.decode()
    assert 'class="status status-no-instances">No instances<' in overview


def test_the_api_schema_documents_the_status_values(alice_client):
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "No instances" in schema and "Offline" in schema
