"""KATO_MAX_INSTANCES_PER_COMPONENT holds at every door that adds an instance."""

from __future__ import annotations

import json

import pytest

from components.models import Component
from core.models import AuditEvent
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add
from tests.api.conftest import token_client, url

pytestmark = [pytest.mark.django_db]


@pytest.fixture(autouse=True)
def limit_of_three(settings) -> None:
    settings.KATO_MAX_INSTANCES_PER_COMPONENT = 3


def put(client, component, ip: str, is_online: bool = True):
    return client.put(
        f"/console/third_party/{component.service_id}",
        data=json.dumps({"secret_key": component.secret_key, "ip": ip, "is_online": is_online}),
        content_type="application/json",
    )


def test_the_instance_api_refuses_an_instance_past_the_limit_with_a_409(client, api_component):
    for n in range(3):
        assert put(client, api_component, f"10.0.0.{n + 1}").status_code == 200
    events = AuditEvent.objects.count()
    response = put(client, api_component, "10.0.0.4")
    assert response.status_code == 409
    answer = response.json()
    assert answer["msg"] == "instance_limit_reached" and answer["code"] == 409
    assert "3 instances" in answer["msg_show"]
    assert Instance.objects.filter(component=api_component).count() == 3
    assert AuditEvent.objects.count() == events


def test_at_the_limit_the_instance_api_still_updates_the_existing_instances(client, api_component):
    for n in range(3):
        put(client, api_component, f"10.0.0.{n + 1}")
    assert put(client, api_component, "10.0.0.2", is_online=False).status_code == 200
    assert put(client, api_component, "10.0.0.2", is_online=False).status_code == 200
    assert not Instance.objects.get(component=api_component, host="10.0.0.2").is_online


def test_after_a_delete_there_is_room_again(client, api_component):
    for n in range(3):
        put(client, api_component, f"10.0.0.{n + 1}")
    client.delete(
        f"/console/third_party/{api_component.service_id}",
        data=json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.1"}),
        content_type="application/json",
    )
    assert put(client, api_component, "10.0.0.9").status_code == 200


def test_the_console_api_refuses_an_instance_past_the_limit_with_a_400(alice, static_component, alice_actor):
    for n in range(3):
        instance_add(component=static_component, address=parse_address(f"10.0.0.{n + 1}"), actor=alice_actor)
    response = token_client(alice).post(
        url(static_component, "/instances/"), {"address": "10.0.0.4"}, format="json"
    )
    assert response.status_code == 400
    assert "already has 3 instances" in response.json()["address"][0]
    assert Instance.objects.filter(component=static_component).count() == 3


def test_static_addresses_past_the_limit_refuse_the_whole_component(alice, application):
    response = token_client(alice).post(
        "/api/v1/components/",
        {"application": "shop", "name": "many", "addresses": [f"10.0.0.{n}" for n in range(1, 5)]},
        format="json",
    )
    assert response.status_code == 400
    assert "already has 3 instances" in str(response.json())
    assert not Component.objects.filter(name="many").exists()
