"""/api/v1/components/<service_id>/dependencies/ and …/dependencies/<target service_id>."""

from __future__ import annotations

import pytest

from components import services
from components.models import ComponentKind, Dependency, Port
from core.models import AuditEvent
from instances import services as instance_services
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


def test_it_adds_a_dependency(api, internal_component, mysql):
    response = api.post(
        url(internal_component, "/dependencies/"), {"target": mysql.service_id}, format="json"
    )
    assert response.status_code == 201
    assert response.json() == {
        "target": mysql.service_id,
        "name": "mysql",
        "service_name": "mysql",
        "application": "shop",
        "kind": "third_party",
    }
    assert Dependency.objects.filter(component=internal_component, target=mysql).exists()
    assert AuditEvent.objects.filter(component=internal_component, action="dependency.add").exists()
    assert api.get(url(internal_component, "/dependencies/")).json()["results"] == [response.json()]


def test_a_target_without_internal_service_asks_for_confirmation(
    api, internal_component, static_component, alice_actor
):
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    body = {"target": static_component.service_id}
    response = api.post(url(internal_component, "/dependencies/"), body, format="json")
    assert response.status_code == 400
    assert "internal service" in response.json()["open_inner"][0]
    assert not Dependency.objects.exists()

    response = api.post(url(internal_component, "/dependencies"), {**body, "open_inner": True}, format="json")
    assert response.status_code == 201
    assert Port.objects.get(component=static_component).inner_service is True


def test_a_third_party_component_depends_on_nothing(api, static_component, internal_component):
    response = api.post(
        url(static_component, "/dependencies/"), {"target": internal_component.service_id}, format="json"
    )
    assert response.status_code == 400
    assert "third-party" in response.json()["non_field_errors"][0]


def test_self_dependencies_and_cycles_are_refused(api, application, internal_component, alice_actor):
    other = instance_services.component_create(
        application=application, name="worker", kind=ComponentKind.INTERNAL, actor=alice_actor
    )
    services.dependency_add(component=other, target=internal_component, actor=alice_actor)
    response = api.post(
        url(internal_component, "/dependencies/"), {"target": internal_component.service_id}, format="json"
    )
    assert response.status_code == 400 and "itself" in response.json()["non_field_errors"][0]
    response = api.post(
        url(internal_component, "/dependencies/"), {"target": other.service_id}, format="json"
    )
    assert response.status_code == 400 and "cycle" in response.json()["non_field_errors"][0]
    assert Dependency.objects.count() == 1


@pytest.mark.parametrize("target", ["", "0" * 32, "not-an-id", 42, None])
def test_an_unknown_target_is_a_400_naming_it(api, internal_component, target):
    response = api.post(url(internal_component, "/dependencies/"), {"target": target}, format="json")
    assert response.status_code == 400
    assert "target" in response.json()


def test_another_teams_component_cannot_be_a_target(api, internal_component, other_team, alice_actor):
    stranger = instance_services.component_create(
        application=services.application_create(team=other_team, name="Search", actor=alice_actor),
        name="elastic",
        actor=alice_actor,
    )
    response = api.post(
        url(internal_component, "/dependencies/"), {"target": stranger.service_id}, format="json"
    )
    assert response.status_code == 400
    assert "None of your components" in response.json()["target"][0]
    assert not Dependency.objects.exists()


def test_it_removes_a_dependency(api, internal_component, mysql, alice_actor):
    services.dependency_add(component=internal_component, target=mysql, actor=alice_actor)
    assert api.delete(url(internal_component, f"/dependencies/{mysql.service_id}")).status_code == 204
    assert not Dependency.objects.exists()
    assert AuditEvent.objects.filter(action="dependency.remove").exists()
    assert api.delete(url(internal_component, f"/dependencies/{mysql.service_id}/")).status_code == 404


def test_another_team_gets_404_and_a_viewer_403(bob_api, viewer_api, internal_component, mysql, alice_actor):
    services.dependency_add(component=internal_component, target=mysql, actor=alice_actor)
    assert bob_api.get(url(internal_component, "/dependencies/")).status_code == 404
    assert bob_api.delete(url(internal_component, f"/dependencies/{mysql.service_id}")).status_code == 404
    assert viewer_api.get(url(internal_component, "/dependencies/")).status_code == 200
    assert viewer_api.delete(url(internal_component, f"/dependencies/{mysql.service_id}")).status_code == 403
    response = viewer_api.post(
        url(internal_component, "/dependencies/"), {"target": mysql.service_id}, format="json"
    )
    assert response.status_code == 403
    assert Dependency.objects.count() == 1
