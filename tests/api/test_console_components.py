"""/api/v1/components/ and /api/v1/components/<service_id>: create, read, change, delete, secret key."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from components import services
from components.models import Component, ComponentKind, Registration
from core.models import AuditEvent
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


def test_it_creates_a_static_component_with_its_addresses(api, application):
    response = api.post(
        "/api/v1/components/",
        {
            "application": "shop",
            "name": "RDS MySQL",
            "kind": "third_party",
            "registration": "static",
            "addresses": ["10.0.0.7:3306", "[2001:db8::7]:3306", "DB.example.com"],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    component = Component.objects.get(service_id=body["service_id"])
    assert (component.name, component.service_name, component.kind, component.registration) == (
        "RDS MySQL",
        "rds-mysql",
        "third_party",
        "static",
    )
    assert body["service_name"] == "rds-mysql"
    assert body["kind"] == "third_party" and body["registration"] == "static"
    assert body["api_url"] is None and body["secret_key"] is None
    assert body["instance_count"] == 3
    assert body["status"] == "Not ready"  # online, the check has not passed yet: nothing is routed
    assert sorted(Instance.objects.filter(component=component).values_list("host", "port")) == [
        ("10.0.0.7", 3306),
        ("2001:db8::7", 3306),
        ("db.example.com", None),
    ]
    assert AuditEvent.objects.filter(component=component, action="instance.add").count() == 3


def test_an_api_registered_component_answers_its_api_url_and_secret_key(api, application, settings):
    settings.KATO_PUBLIC_URL = "https://console.example.com"
    response = api.post(
        "/api/v1/components/", {"application": "shop", "name": "legacy", "registration": "api"}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    component = Component.objects.get(service_id=body["service_id"])
    assert body["api_url"] == f"https://console.example.com/console/third_party/{component.service_id}"
    assert body["secret_key"] == component.secret_key and len(component.secret_key) >= 32
    assert api.get(url(component)).json()["secret_key"] == component.secret_key


def test_it_creates_an_internal_component_with_an_image(api, application):
    response = api.post(
        "/api/v1/components/",
        {"application": "shop", "name": "phpmyadmin", "kind": "internal", "image": "phpmyadmin:5"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["registration"] is None
    component = Component.objects.get(service_name="phpmyadmin")
    assert (component.kind, component.image, component.registration) == ("internal", "phpmyadmin:5", "")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "db"}, "application"),
        ({"application": "nope", "name": "db"}, "application"),
        ({"application": "shop"}, "name"),
        ({"application": "shop", "name": "x" * 65}, "name"),
        ({"application": "shop", "name": "db", "kind": "vm"}, "kind"),
        ({"application": "shop", "name": "db", "registration": "dns"}, "registration"),
        ({"application": "shop", "name": "db", "kind": "internal", "registration": "api"}, "registration"),
        ({"application": "shop", "name": "db", "image": "mysql:8"}, "image"),
        ({"application": "shop", "name": "db", "service_name": "Not_A_Label"}, "service_name"),
        ({"application": "shop", "name": "db", "addresses": "10.0.0.7"}, "addresses"),
        ({"application": "shop", "name": "db", "addresses": ["10.0.0.7:99999"]}, "addresses"),
        ({"application": "shop", "name": "db", "addresses": ["169.254.169.254"]}, "addresses"),
        ({"application": "shop", "name": "db", "addresses": ["10.0.0.7", "10.0.0.7"]}, "addresses"),
        ({"application": "shop", "name": "db", "addresses": [None]}, "addresses"),
        (
            {"application": "shop", "name": "db", "registration": "api", "addresses": ["10.0.0.7"]},
            "addresses",
        ),
        ({"application": "shop", "name": "db", "kind": "internal", "addresses": ["10.0.0.7"]}, "addresses"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(api, application, body, field):
    response = api.post("/api/v1/components/", body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Component.objects.exists()
    assert not Instance.objects.exists()


def test_an_invalid_address_is_reported_at_its_position(api, application):
    response = api.post(
        "/api/v1/components/",
        {"application": "shop", "name": "db", "addresses": ["10.0.0.7", "not an address"]},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()["addresses"]) == ["1"]


def test_a_taken_service_name_is_refused_with_a_message(api, static_component):
    response = api.post("/api/v1/components/", {"application": "shop", "name": "mysql"}, format="json")
    assert response.status_code == 400
    assert "already uses this service name" in str(response.json())
    assert Component.objects.count() == 1


def test_it_cannot_create_in_another_teams_application(bob_api, application):
    response = bob_api.post("/api/v1/components/", {"application": "shop", "name": "db"}, format="json")
    assert response.status_code == 400
    assert "application" in response.json()
    assert not Component.objects.exists()


def test_a_viewer_cannot_create_a_component(viewer_api, application):
    response = viewer_api.post("/api/v1/components/", {"application": "shop", "name": "db"}, format="json")
    assert response.status_code == 403
    assert not Component.objects.exists()


def test_it_lists_components_filtered_by_application(api, team, static_component, alice_actor):
    other = services.application_create(team=team, name="Blog", actor=alice_actor)
    instance_services.component_create(application=other, name="redis", actor=alice_actor)
    everything = api.get("/api/v1/components/").json()["results"]
    assert [c["service_name"] for c in everything] == ["mysql", "redis"]
    shop = api.get("/api/v1/components/?application=shop").json()["results"]
    assert [c["service_name"] for c in shop] == ["mysql"]
    assert shop[0]["application"] == "shop" and shop[0]["team"] == "payments"
    assert "secret_key" not in shop[0]
    assert api.get("/api/v1/components/?application=nope").json()["results"] == []
    assert api.get("/api/v1/components/?application=no%00slug").status_code == 400


def test_another_team_sees_none_of_the_components(bob_api, static_component):
    assert bob_api.get("/api/v1/components/").json()["results"] == []


def test_the_components_list_costs_the_same_number_of_queries_however_many_there_are(
    api, application, alice_actor
):
    def make(count: int) -> None:
        for n in range(count):
            component = instance_services.component_create(
                application=application, name=f"db{Component.objects.count()}-{n}", actor=alice_actor
            )
            services.port_create(component=component, number=3306, actor=alice_actor, inner_service=True)
            instance_add(component=component, address=parse_address(f"10.0.{n}.7"), actor=alice_actor)

    make(1)
    api.get("/api/v1/components/")  # the token's first use of the minute records last_used_at
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/api/v1/components/").json()["results"]) == 1
    make(6)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/components/").json()["results"]) == 7
    assert len(many) == len(few)


def test_the_components_list_stays_within_a_fixed_budget(
    api, application, alice_actor, django_assert_max_num_queries
):
    for n in range(10):
        component = instance_services.component_create(
            application=application, name=f"db{n}", actor=alice_actor
        )
        instance_add(component=component, address=parse_address(f"10.0.0.{n + 1}"), actor=alice_actor)
    # The token, the count, the page, its ports, the page's uptimes and its maintenance windows.
    with django_assert_max_num_queries(7):
        assert len(api.get("/api/v1/components/").json()["results"]) == 10


def test_it_reads_one_component(api, static_component):
    response = api.get(url(static_component))
    assert response.status_code == 200
    body = response.json()
    assert body["service_id"] == static_component.service_id
    assert {"service_id", "service_name", "kind", "registration", "status", "api_url", "secret_key"} <= set(
        body
    )
    assert body["status"] == "No instances"


def test_a_viewer_sees_the_api_url_but_not_the_secret_key(viewer_api, api_component):
    body = viewer_api.get(url(api_component)).json()
    assert body["api_url"].endswith(f"/console/third_party/{api_component.service_id}")
    assert body["secret_key"] is None


@pytest.mark.parametrize("service_id", ["0" * 32, "not-an-id", "%00", "A" * 32])
def test_an_unknown_component_is_404(api, static_component, service_id):
    assert api.get(f"/api/v1/components/{service_id}").status_code == 404


def test_another_teams_component_is_404_for_every_method(bob_api, static_component):
    for method in ("get", "patch", "delete"):
        assert getattr(bob_api, method)(url(static_component), {}, format="json").status_code == 404
    assert Component.objects.filter(pk=static_component.pk).exists()


def test_it_changes_the_name_and_service_name(api, static_component):
    response = api.patch(
        url(static_component), {"name": "MySQL primary", "service_name": "mysql-primary"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["service_name"] == "mysql-primary"
    static_component.refresh_from_db()
    assert (static_component.name, static_component.service_name) == ("MySQL primary", "mysql-primary")
    assert AuditEvent.objects.filter(component=static_component, action="component.update").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [({"name": ""}, "name"), ({"service_name": "-bad"}, "service_name"), ({"image": "mysql:8"}, "image")],
)
def test_an_invalid_change_is_a_400_naming_the_field(api, static_component, body, field):
    response = api.patch(url(static_component), body, format="json")
    assert response.status_code == 400
    assert field in response.json()
    static_component.refresh_from_db()
    assert (static_component.name, static_component.image) == ("mysql", "")


def test_a_viewer_cannot_change_or_delete(viewer_api, static_component):
    assert viewer_api.patch(url(static_component), {"name": "x"}, format="json").status_code == 403
    assert viewer_api.delete(url(static_component)).status_code == 403
    static_component.refresh_from_db()
    assert static_component.name == "mysql"


def test_it_deletes_a_component(api, static_component):
    assert api.delete(url(static_component)).status_code == 204
    assert not Component.objects.filter(pk=static_component.pk).exists()
    assert AuditEvent.objects.filter(action="component.delete").exists()


def test_it_refuses_to_delete_a_component_others_depend_on(
    api, static_component, internal_component, alice_actor
):
    services.port_create(component=static_component, number=3306, actor=alice_actor, inner_service=True)
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    response = api.delete(url(static_component))
    assert response.status_code == 400
    assert "phpmyadmin" in response.json()["non_field_errors"][0]
    assert Component.objects.filter(pk=static_component.pk).exists()


def test_it_regenerates_the_secret_key(api, api_component):
    old = api_component.secret_key
    response = api.post(url(api_component, "/secret-key"))
    assert response.status_code == 200
    api_component.refresh_from_db()
    assert response.json()["secret_key"] == api_component.secret_key != old
    assert response.json()["api_url"].endswith(api_component.service_id)
    assert AuditEvent.objects.filter(component=api_component, action="secret_key.regenerate").exists()


def test_a_static_component_has_no_secret_key_to_regenerate(api, static_component):
    response = api.post(url(static_component, "/secret-key/"))
    assert response.status_code == 400
    assert "API registration" in response.json()["non_field_errors"][0]


def test_a_viewer_cannot_regenerate_the_secret_key(viewer_api, api_component):
    old = api_component.secret_key
    assert viewer_api.post(url(api_component, "/secret-key")).status_code == 403
    api_component.refresh_from_db()
    assert api_component.secret_key == old


def test_the_kind_of_a_component_is_fixed(api, static_component):
    api.patch(
        url(static_component),
        {"kind": ComponentKind.INTERNAL, "registration": Registration.API},
        format="json",
    )
    static_component.refresh_from_db()
    assert (static_component.kind, static_component.registration) == ("third_party", "static")


def test_the_trailing_slash_is_optional(api, static_component):
    assert api.get(url(static_component, "/")).status_code == 200
    assert api.get("/api/v1/components").status_code == 200
