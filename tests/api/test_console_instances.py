"""/api/v1/components/<service_id>/instances/ and …/instances/<id>."""

from __future__ import annotations

import pytest

from core.models import AuditEvent
from instances.addresses import parse_address
from instances.models import Health, Instance
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = pytest.mark.django_db

FIELDS = {
    "id",
    "address",
    "host",
    "port",
    "is_online",
    "source",
    "status",
    "latency_ms",
    "last_checked_at",
    "last_error",
    "server_info",
    "credentials_withheld",
    "resolved_addresses",
    "uptime",
}


@pytest.fixture
def instance(static_component, alice_actor):
    return instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)


def test_it_adds_an_instance(api, static_component):
    response = api.post(
        url(static_component, "/instances/"), {"address": "DB.Example.com:3306"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS
    instance = Instance.objects.get(component=static_component)
    assert body["id"] == instance.pk
    assert (body["address"], body["host"], body["port"]) == ("db.example.com:3306", "db.example.com", 3306)
    assert (body["is_online"], body["source"], body["status"]) == (True, "static", "notready")
    assert (body["latency_ms"], body["last_checked_at"], body["last_error"]) == (None, None, "")
    assert AuditEvent.objects.filter(component=static_component, action="instance.add").exists()


def test_an_instance_can_start_offline(api, static_component):
    response = api.post(
        url(static_component, "/instances"), {"address": "10.0.0.8", "is_online": False}, format="json"
    )
    assert response.json()["status"] == "offline"
    assert Instance.objects.get(component=static_component).is_online is False


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"address": ""},
        {"address": "10.0.0.7:0"},
        {"address": "ftp://10.0.0.7"},
        {"address": "999.1.1.1"},
        {"address": "169.254.169.254"},
        {"address": ["10.0.0.7"]},
        {"address": "a" * 400},
        {"address": "10.0.0.9", "is_online": "sometimes"},
    ],
)
def test_an_invalid_instance_is_a_400_naming_the_field(api, static_component, body):
    response = api.post(url(static_component, "/instances/"), body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"address", "is_online"} and response.json()
    assert not Instance.objects.exists()


def test_an_address_the_component_has_is_refused(api, instance):
    response = api.post(url(instance.component, "/instances/"), {"address": "10.0.0.7:3306"}, format="json")
    assert response.status_code == 400
    assert "already has the instance" in response.json()["address"][0]
    assert Instance.objects.count() == 1


def test_it_lists_instances_with_their_status(api, instance):
    Instance.objects.filter(pk=instance.pk).update(
        health=Health.HEALTHY, latency_ms=1.5, server_info="MariaDB 10.11"
    )
    listed = api.get(url(instance.component, "/instances/")).json()["results"]
    assert len(listed) == 1
    assert listed[0]["status"] == "healthy" and listed[0]["latency_ms"] == 1.5
    assert listed[0]["server_info"] == "MariaDB 10.11"
    assert api.get(url(instance.component, f"/instances/{instance.pk}")).json() == listed[0]


def test_it_takes_an_instance_offline_and_back(api, instance):
    response = api.patch(
        url(instance.component, f"/instances/{instance.pk}"), {"is_online": False}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "offline"
    instance.refresh_from_db()
    assert instance.is_online is False and instance.next_probe_at is None
    response = api.patch(
        url(instance.component, f"/instances/{instance.pk}/"), {"is_online": True}, format="json"
    )
    assert response.json()["status"] == "notready"
    assert Instance.objects.get(pk=instance.pk).is_online is True
    actions = list(
        AuditEvent.objects.filter(action__startswith="instance.o").values_list("action", flat=True)
    )
    assert sorted(actions) == ["instance.offline", "instance.online"]


def test_the_address_of_an_instance_does_not_change(api, instance):
    response = api.patch(
        url(instance.component, f"/instances/{instance.pk}"), {"address": "10.0.0.8"}, format="json"
    )
    assert response.status_code == 400
    assert "address" in response.json()
    assert Instance.objects.get(pk=instance.pk).host == "10.0.0.7"


def test_it_deletes_an_instance(api, instance):
    assert api.delete(url(instance.component, f"/instances/{instance.pk}")).status_code == 204
    assert not Instance.objects.exists()
    assert AuditEvent.objects.filter(action="instance.delete").exists()


@pytest.mark.parametrize("instance_id", ["0", "987654", "99999999999999999999999"])
def test_an_unknown_instance_is_404(api, instance, instance_id):
    assert api.get(url(instance.component, f"/instances/{instance_id}")).status_code == 404
    assert api.delete(url(instance.component, f"/instances/{instance_id}")).status_code == 404


def test_an_instance_of_another_component_is_404(api, instance, api_component):
    assert api.get(url(api_component, f"/instances/{instance.pk}")).status_code == 404
    assert api.delete(url(api_component, f"/instances/{instance.pk}")).status_code == 404
    assert Instance.objects.filter(pk=instance.pk).exists()


def test_another_team_gets_404_and_a_viewer_403(bob_api, viewer_api, instance):
    component = instance.component
    assert bob_api.get(url(component, "/instances/")).status_code == 404
    assert bob_api.delete(url(component, f"/instances/{instance.pk}")).status_code == 404
    assert viewer_api.get(url(component, "/instances/")).status_code == 200
    assert (
        viewer_api.post(url(component, "/instances/"), {"address": "10.0.0.9"}, format="json").status_code
        == 403
    )
    response = viewer_api.patch(
        url(component, f"/instances/{instance.pk}"), {"is_online": False}, format="json"
    )
    assert response.status_code == 403
    assert viewer_api.delete(url(component, f"/instances/{instance.pk}")).status_code == 403
    assert Instance.objects.get(pk=instance.pk).is_online is True
