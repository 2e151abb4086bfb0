"""/api/v1/components/<service_id>/env/ and …/env/<name>: connection information and own variables."""

from __future__ import annotations

import pytest

from components import services
from components.models import EnvVar
from core.models import AuditEvent
from instances.addresses import parse_address
from instances.models import Health, Instance
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def credentials(static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cr3t-pw", secret=True, actor=alice_actor
    )
    return static_component


def test_it_adds_a_variable(api, static_component):
    response = api.post(
        url(static_component, "/env/"),
        {"name": "MYSQL_DATABASE", "value": "shop", "description": "The schema"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json() == {
        "name": "MYSQL_DATABASE",
        "value": "shop",
        "secret": False,
        "scope": "outer",
        "description": "The schema",
        "generated": False,
        "warning": "",
    }
    var = EnvVar.objects.get(component=static_component, name="MYSQL_DATABASE")
    assert (var.value, var.scope) == ("shop", "outer")
    assert AuditEvent.objects.filter(component=static_component, action="env.create").exists()


def test_a_secret_value_is_masked_in_the_answer_and_the_audit_trail(api, static_component):
    response = api.post(
        url(static_component, "/env/"),
        {"name": "MYSQL_PASSWORD", "value": "hunter2", "secret": True},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["value"] is None and response.json()["secret"] is True
    assert "hunter2" not in str(list(AuditEvent.objects.values_list("detail", flat=True)))


def test_secret_values_are_null_in_the_list_unless_revealed(api, credentials):
    listed = {var["name"]: var for var in api.get(url(credentials, "/env/")).json()["results"]}
    assert listed["MYSQL_USER"]["value"] == "shop"
    assert listed["MYSQL_PASSWORD"]["value"] is None and listed["MYSQL_PASSWORD"]["secret"] is True
    assert not AuditEvent.objects.filter(action="env.reveal").exists()

    revealed = {var["name"]: var for var in api.get(url(credentials, "/env/?reveal=true")).json()["results"]}
    assert revealed["MYSQL_PASSWORD"]["value"] == "s3cr3t-pw"
    event = AuditEvent.objects.get(action="env.reveal")
    assert event.component == credentials and event.detail["variables"] == ["MYSQL_PASSWORD"]
    assert event.actor == "api-token"


def test_one_variable_can_be_revealed(api, credentials):
    assert api.get(url(credentials, "/env/MYSQL_PASSWORD")).json()["value"] is None
    assert api.get(url(credentials, "/env/MYSQL_PASSWORD?reveal=1")).json()["value"] == "s3cr3t-pw"
    assert AuditEvent.objects.filter(action="env.reveal").count() == 1


def test_a_viewer_reads_masked_values_and_cannot_reveal(viewer_api, credentials):
    listed = {var["name"]: var for var in viewer_api.get(url(credentials, "/env/")).json()["results"]}
    assert listed["MYSQL_PASSWORD"]["value"] is None
    response = viewer_api.get(url(credentials, "/env/?reveal=true"))
    assert response.status_code == 403
    assert "reveal" in response.json()["detail"]
    assert viewer_api.get(url(credentials, "/env/MYSQL_PASSWORD?reveal=true")).status_code == 403
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_an_invalid_reveal_is_a_400(api, credentials):
    response = api.get(url(credentials, "/env/?reveal=maybe"))
    assert response.status_code == 400
    assert "reveal" in response.json()


def test_a_name_the_component_has_is_refused_on_create(api, credentials):
    response = api.post(url(credentials, "/env/"), {"name": "MYSQL_USER", "value": "other"}, format="json")
    assert response.status_code == 400
    assert "already has a variable MYSQL_USER" in response.json()["name"][0]
    assert EnvVar.objects.get(component=credentials, name="MYSQL_USER").value == "shop"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "1ST"}, "name"),
        ({"name": "MY-VAR"}, "name"),
        ({"name": "PATH", "value": "/bin"}, "name"),
        ({"name": "X" * 129}, "name"),
        ({"name": "OK", "scope": "global"}, "scope"),
        ({"name": "OK", "secret": "sometimes"}, "secret"),
        ({"name": "OK", "value": ["a"]}, "value"),
        ({"name": "OK", "value": "a\x00b"}, "value"),
        ({"name": "OK", "description": "d" * 256}, "description"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(api, static_component, body, field):
    response = api.post(url(static_component, "/env/"), body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not EnvVar.objects.exists()


def test_it_changes_a_variable_and_keeps_what_is_left_out(api, credentials):
    response = api.patch(
        url(credentials, "/env/MYSQL_PASSWORD"), {"description": "rotated monthly"}, format="json"
    )
    assert response.status_code == 200
    var = EnvVar.objects.get(component=credentials, name="MYSQL_PASSWORD")
    assert (var.value, var.secret, var.description) == ("s3cr3t-pw", True, "rotated monthly")
    response = api.patch(
        url(credentials, "/env/MYSQL_USER/"), {"value": "shop_rw", "scope": "inner"}, format="json"
    )
    assert response.json()["value"] == "shop_rw"
    var = EnvVar.objects.get(component=credentials, name="MYSQL_USER")
    assert (var.value, var.scope) == ("shop_rw", "inner")


def test_it_deletes_a_variable(api, credentials):
    assert api.delete(url(credentials, "/env/MYSQL_USER")).status_code == 204
    assert not EnvVar.objects.filter(component=credentials, name="MYSQL_USER").exists()
    assert AuditEvent.objects.filter(action="env.delete").exists()


def test_generated_variables_show_their_value_and_cannot_be_edited(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)
    listed = {var["name"]: var for var in api.get(url(static_component, "/env/")).json()["results"]}
    assert listed["MYSQL_HOST"] == {
        "name": "MYSQL_HOST",
        "value": "10.0.0.7",
        "secret": False,
        "scope": "outer",
        "description": "Internal address (generated)",
        "generated": True,
        "warning": "",
    }
    assert listed["MYSQL_PORT"]["value"] == "3306"
    response = api.patch(url(static_component, "/env/MYSQL_HOST"), {"value": "db"}, format="json")
    assert response.status_code == 400 and "generated" in response.json()["name"][0]
    response = api.delete(url(static_component, "/env/MYSQL_HOST"))
    assert response.status_code == 400 and "internal service" in response.json()["non_field_errors"][0]
    assert EnvVar.objects.filter(component=static_component, generated=True).count() == 2


@pytest.mark.parametrize("name", ["NOPE", "not-a-name", "%00", "X" * 200])
def test_an_unknown_variable_is_404(api, credentials, name):
    assert api.get(url(credentials, f"/env/{name}")).status_code == 404
    assert api.patch(url(credentials, f"/env/{name}"), {"value": "x"}, format="json").status_code == 404
    assert api.delete(url(credentials, f"/env/{name}")).status_code == 404


def test_another_team_gets_404_and_a_viewer_403(bob_api, viewer_api, credentials):
    assert bob_api.get(url(credentials, "/env/")).status_code == 404
    assert bob_api.delete(url(credentials, "/env/MYSQL_USER")).status_code == 404
    assert viewer_api.post(url(credentials, "/env/"), {"name": "X"}, format="json").status_code == 403
    assert (
        viewer_api.patch(url(credentials, "/env/MYSQL_USER"), {"value": "x"}, format="json").status_code
        == 403
    )
    assert viewer_api.delete(url(credentials, "/env/MYSQL_USER")).status_code == 403
    assert EnvVar.objects.get(component=credentials, name="MYSQL_USER").value == "shop"
