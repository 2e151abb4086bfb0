"""GET /api/v1/components/<service_id>/kubernetes and /api/v1/applications/<slug>/kubernetes."""

from __future__ import annotations

import base64

import pytest

from components import services
from core import services as accounts
from core.models import AuditEvent, Role
from instances import services as instance_services
from tests.api.conftest import token_client
from tests.kubernetes.conftest import add_instance, assert_valid, by_kind, validated

pytestmark = pytest.mark.django_db


def url(component, query: str = "") -> str:
    return f"/api/v1/components/{component.service_id}/kubernetes{query}"


@pytest.fixture
def api(alice):
    return token_client(alice)


def test_it_answers_yaml_that_kubectl_applies(api, mysql):
    response = api.get(url(mysql))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert "no-store" in response["Cache-Control"]
    documents = validated(response.content.decode())
    assert [d["kind"] for d in documents] == ["Secret", "ConfigMap", "Service"] + ["EndpointSlice"] * 3
    secret = by_kind(documents, "Secret")[0]
    assert base64.b64decode(secret["data"]["MYSQL_PASSWORD"]).decode() == "pa$$ 'wörd'"


def test_every_reveal_of_secret_values_is_audited(api, mysql):
    api.get(url(mysql))
    event = AuditEvent.objects.get(action="env.reveal")
    assert event.component == mysql
    assert event.detail == {"variables": ["MYSQL_PASSWORD"], "via": "api:kubernetes"}
    assert event.actor == "api-token"


def test_it_answers_a_json_list_when_asked(api, mysql):
    response = api.get(url(mysql, "?namespace=shop"), HTTP_ACCEPT="application/json")
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["apiVersion"], body["kind"]) == ("v1", "List")
    for item in body["items"]:
        assert_valid(item)
        assert item["metadata"]["namespace"] == "shop"


def test_a_namespace_that_is_no_dns_label_is_refused(api, mysql):
    response = api.get(url(mysql, "?namespace=Shop_Prod"))
    assert response.status_code == 400
    assert "DNS label" in response.json()["namespace"][0]


def test_a_viewer_gets_the_secret_without_its_values(victor_the_viewer, mysql):
    response = token_client(victor_the_viewer).get(url(mysql))
    assert response.status_code == 200
    text = response.content.decode()
    [secret] = by_kind(validated(text), "Secret")
    assert "data" not in secret
    assert "only owners and developers" in secret["metadata"]["annotations"]["kato.io/data-withheld"]
    assert "cGEk" not in text  # the password's base64
    assert not AuditEvent.objects.filter(action="env.reveal").exists()


def test_another_team_gets_404(bob_from_another_team, mysql):
    bob = token_client(bob_from_another_team)
    assert bob.get(url(mysql)).status_code == 404
    assert bob.get("/api/v1/applications/shop/kubernetes").status_code == 404


def test_a_component_without_internal_service_is_a_409_that_says_why(api, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    response = api.get(url(static_component))
    assert response.status_code == 409
    assert "no port with the internal service on" in response.json()["detail"]


def test_the_application_gives_every_third_party_component_and_names_the_others(
    api, mysql, internal_component, alice_actor
):
    cache = instance_services.component_create(
        application=mysql.application, name="redis", actor=alice_actor, registration="static"
    )
    services.port_create(component=cache, number=6379, actor=alice_actor, inner_service=True)
    add_instance(cache, "10.4.0.1", alice_actor)
    response = api.get("/api/v1/applications/shop/kubernetes")
    assert response.status_code == 200
    documents = validated(response.content.decode())
    assert sorted(d["metadata"]["name"] for d in by_kind(documents, "Service")) == ["mysql", "redis"]
    assert "phpmyadmin is an internal component" in response["Warning"]
    assert response["Warning"].startswith('299 - "')
    events = AuditEvent.objects.filter(action="env.reveal")
    assert [e.component for e in events] == [mysql]


def test_an_application_slug_in_two_of_your_teams_needs_the_team(api, mysql, alice, other_team, alice_actor):
    accounts.membership_set(team=other_team, user=alice, role=Role.DEVELOPER)
    services.application_create(team=other_team, name="Shop", actor=alice_actor)
    response = api.get("/api/v1/applications/shop/kubernetes")
    assert response.status_code == 400 and "?team=" in response.json()["team"][0]
    response = api.get("/api/v1/applications/shop/kubernetes?team=payments")
    assert response.status_code == 200
    assert [d["metadata"]["name"] for d in by_kind(validated(response.content.decode()), "Service")] == [
        "mysql"
    ]


def test_the_endpoints_are_in_the_openapi_schema(api):
    schema = api.get("/api/schema/?format=json").json()
    assert "/api/v1/components/{service_id}/kubernetes" in schema["paths"]
    assert "/api/v1/applications/{slug}/kubernetes" in schema["paths"]


def test_the_format_follows_accept_alone_and_defaults_to_yaml(api, mysql):
    for accept in ("*/*", "text/html", "application/yaml"):
        response = api.get(url(mysql, "?format=json"), HTTP_ACCEPT=accept)
        assert (response.status_code, response["Content-Type"]) == (200, "application/yaml; charset=utf-8")
