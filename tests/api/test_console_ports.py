"""/api/v1/components/<service_id>/ports/ and …/ports/<number>."""

from __future__ import annotations

import pytest

from components import services
from components.models import EnvVar, Port
from core.models import AuditEvent
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


def _generated(component) -> list[str]:
    return sorted(EnvVar.objects.filter(component=component, generated=True).values_list("name", flat=True))


def test_it_adds_the_port_and_its_generated_connection_information(api, static_component):
    response = api.post(
        url(static_component, "/ports/"),
        {"number": 3306, "protocol": "mysql", "inner_service": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "number": 3306,
        "protocol": "mysql",
        "alias": "MYSQL",
        "inner_service": True,
        "outer_service": False,
        # Routing is off in this test (KATO_GATEWAY=0): no gateway address (tests/gateway/).
        "internal_address": None,
        "external_address": None,
    }
    assert Port.objects.get(component=static_component).number == 3306
    assert _generated(static_component) == ["MYSQL_HOST", "MYSQL_PORT"]
    assert AuditEvent.objects.filter(component=static_component, action="port.create").exists()
    assert api.get(url(static_component, "/ports/")).json()["results"] == [response.json()]
    assert api.get(url(static_component, "/ports/3306")).json() == response.json()


def test_a_third_party_component_gets_one_port_only(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    response = api.post(url(static_component, "/ports/"), {"number": 3307}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "number": [
            "third-party components can only have one port: change or delete the existing port instead."
        ]
    }
    assert Port.objects.filter(component=static_component).count() == 1


def test_an_internal_component_may_have_several_ports(api, internal_component):
    for number in (80, 443):
        response = api.post(
            url(internal_component, "/ports/"), {"number": number, "alias": f"WEB{number}"}, format="json"
        )
        assert response.status_code == 201
    assert Port.objects.filter(component=internal_component).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "number"),
        ({"number": 0}, "number"),
        ({"number": 65536}, "number"),
        ({"number": "mysql"}, "number"),
        ({"number": 3306, "protocol": "smtp"}, "protocol"),
        ({"number": 3306, "alias": "mysql"}, "alias"),
        ({"number": 3306, "alias": "1DB"}, "alias"),
        ({"number": 3306, "outer_service": True}, "outer_service"),
        ({"number": 3306, "inner_service": "perhaps"}, "inner_service"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(api, static_component, body, field):
    response = api.post(url(static_component, "/ports/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Port.objects.exists()


def test_renaming_the_alias_renames_the_generated_variables(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    response = api.patch(url(static_component, "/ports/3306"), {"alias": "DB", "number": 3307}, format="json")
    assert response.status_code == 200
    assert response.json()["alias"] == "DB" and response.json()["number"] == 3307
    assert _generated(static_component) == ["DB_HOST", "DB_PORT"]


def test_turning_the_internal_service_off_removes_them(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    assert (
        api.patch(url(static_component, "/ports/3306/"), {"inner_service": False}, format="json").status_code
        == 200
    )
    assert _generated(static_component) == []


def test_the_internal_service_cannot_close_while_the_external_one_is_open(api, static_component, alice_actor):
    services.port_create(
        component=static_component, number=3306, actor=alice_actor, inner_service=True, outer_service=True
    )
    response = api.patch(url(static_component, "/ports/3306"), {"inner_service": False}, format="json")
    assert response.status_code == 400
    assert "inner_service" in response.json()
    assert Port.objects.get(component=static_component).inner_service is True


def test_it_deletes_a_port_with_its_generated_variables(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    assert api.delete(url(static_component, "/ports/3306")).status_code == 204
    assert not Port.objects.exists()
    assert _generated(static_component) == []


@pytest.mark.parametrize("number", ["3307", "0", "99999999999999999999"])
def test_an_unknown_port_is_404(api, static_component, alice_actor, number):
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    assert (
        api.patch(url(static_component, f"/ports/{number}"), {"alias": "X"}, format="json").status_code == 404
    )
    assert api.delete(url(static_component, f"/ports/{number}")).status_code == 404


def test_another_team_gets_404_and_a_viewer_403(bob_api, viewer_api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    assert bob_api.post(url(static_component, "/ports/"), {"number": 80}, format="json").status_code == 404
    assert bob_api.delete(url(static_component, "/ports/3306")).status_code == 404
    assert viewer_api.get(url(static_component, "/ports/")).status_code == 200
    assert (
        viewer_api.patch(url(static_component, "/ports/3306"), {"alias": "X"}, format="json").status_code
        == 403
    )
    assert viewer_api.delete(url(static_component, "/ports/3306")).status_code == 403
    assert Port.objects.get(component=static_component).alias == "MYSQL"
