"""One set of rules for every door: the same change made through the admin and through /api/v1/
ends the same way in the database — refused by the same invariant, with the same derived fields,
and with the same audit event. A door is a small class; a page door can be added to DOORS later."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from components import services
from components.models import Component, ComponentKind, Dependency, EnvVar, Port
from instances import services as instance_services
from instances.models import HealthCheck, Instance
from kato_console.core.models import AuditEvent
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db


class AdminDoor:
    """The Django admin, used by a superuser."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def post(self, name: str, data: dict[str, Any]) -> None:
        response = self.client.post(reverse(f"admin:{name}_add"), data)
        assert response.status_code in (200, 302), response.status_code
        self.answer = response.content.decode()

    def create_component(self, application: Any, *, name: str, kind: str, registration: str) -> None:
        data = {"application": application.pk, "name": name, "service_name": "", "kind": kind}
        self.post("components_component", {**data, "registration": registration, "image": ""})

    def add_port(
        self, component: Component, *, number: int, inner: bool = False, outer: bool = False
    ) -> None:
        data = {"component": component.pk, "number": number, "protocol": "tcp", "alias": ""}
        self.post("components_port", {**data, **checked(inner_service=inner, outer_service=outer)})

    def set_variable(self, component: Component, *, name: str, value: str) -> None:
        data = {"component": component.pk, "name": name, "value": value, "scope": "outer"}
        self.post("components_envvar", {**data, "description": ""})

    def add_dependency(self, component: Component, target: Component) -> None:
        self.post("components_dependency", {"component": component.pk, "target": target.pk})

    def add_instance(self, component: Component, *, address: str) -> None:
        self.post("instances_instance", {"component": component.pk, "address": address, "is_online": "on"})


def checked(**boxes: bool) -> dict[str, str]:
    """Checkboxes as a browser posts them: only the ticked ones."""
    return {name: "on" for name, on in boxes.items() if on}


class ApiDoor:
    """The console API, used with a developer's token."""

    def __init__(self, client: APIClient) -> None:
        self.client = client

    def post(self, path: str, data: dict[str, Any]) -> None:
        response = self.client.post(f"/api/v1/{path}", data, format="json")
        assert response.status_code in (201, 400), (response.status_code, response.content)
        self.answer = response.content.decode()

    def create_component(self, application: Any, *, name: str, kind: str, registration: str) -> None:
        data = {"application": application.slug, "name": name, "kind": kind}
        if kind == ComponentKind.THIRD_PARTY:
            data["registration"] = registration
        self.post("components/", data)

    def add_port(
        self, component: Component, *, number: int, inner: bool = False, outer: bool = False
    ) -> None:
        data = {"number": number, "protocol": "tcp", "inner_service": inner, "outer_service": outer}
        self.post(f"components/{component.service_id}/ports/", data)

    def set_variable(self, component: Component, *, name: str, value: str) -> None:
        self.post(f"components/{component.service_id}/env/", {"name": name, "value": value})

    def add_dependency(self, component: Component, target: Component) -> None:
        self.post(f"components/{component.service_id}/dependencies/", {"target": target.service_id})

    def add_instance(self, component: Component, *, address: str) -> None:
        self.post(f"components/{component.service_id}/instances/", {"address": address})


DOORS = ["admin", "api"]


@pytest.fixture(params=DOORS)
def door(request, client, django_user_model, alice) -> AdminDoor | ApiDoor:
    if request.param == "admin":
        operator = django_user_model.objects.create_superuser(username="operator", password="operator-pw-1")
        client.force_login(operator)
        return AdminDoor(client)
    return ApiDoor(token_client(alice))


@pytest.fixture
def second_internal(application, alice_actor) -> Component:
    return instance_services.component_create(
        application=application,
        name="adminer",
        actor=alice_actor,
        kind=ComponentKind.INTERNAL,
        image="adminer",
    )


# Each invariant is refused at every door.


def test_it_refuses_a_second_port_on_a_third_party_component(door, static_component, alice_actor) -> None:
    services.port_create(component=static_component, number=3306, actor=alice_actor)
    door.add_port(static_component, number=3307)
    assert "third-party components can only have one port" in door.answer
    assert list(static_component.ports.values_list("number", flat=True)) == [3306]


def test_it_refuses_a_dependency_cycle(door, internal_component, second_internal, alice_actor) -> None:
    services.dependency_add(component=internal_component, target=second_internal, actor=alice_actor)
    door.add_dependency(second_internal, internal_component)
    assert "would make a cycle" in door.answer
    assert not Dependency.objects.filter(component=second_internal).exists()


def test_it_refuses_a_dependency_of_a_third_party_component(
    door, static_component, internal_component
) -> None:
    door.add_dependency(static_component, internal_component)
    assert "cannot depend on other components" in door.answer
    assert not Dependency.objects.exists()


def test_it_refuses_an_outer_service_without_the_inner_one(door, internal_component) -> None:
    door.add_port(internal_component, number=8080, outer=True)
    assert "needs the internal service" in door.answer
    assert not Port.objects.exists()


def test_it_refuses_a_reserved_variable_name(door, static_component) -> None:
    door.set_variable(static_component, name="PATH", value="/bin")
    assert "reserved" in door.answer
    assert not EnvVar.objects.filter(name="PATH").exists()


def test_it_refuses_a_duplicate_service_name(door, application, static_component) -> None:
    door.create_component(application, name="MySQL", kind=ComponentKind.THIRD_PARTY, registration="static")
    assert "already uses this service name" in door.answer
    assert Component.objects.filter(service_name="mysql").count() == 1


@pytest.mark.parametrize("address", ["169.254.169.254", "[fe80::1]:3306", "a b;$(id)"])
def test_it_refuses_a_denied_or_malformed_address(door, static_component, address: str) -> None:
    door.add_instance(static_component, address=address)
    assert not Instance.objects.exists()


# Each derived field is derived at every door.


def test_it_derives_the_service_name_from_the_name(door, application) -> None:
    door.create_component(application, name="RDS MySQL (prod)", kind="third_party", registration="static")
    assert Component.objects.get(name="RDS MySQL (prod)").service_name == "rds-mysql-prod"


def test_it_derives_the_port_alias_from_the_service_name(door, static_component) -> None:
    door.add_port(static_component, number=3306)
    assert static_component.ports.get().alias == "MYSQL"


def test_it_generates_host_and_port_variables_for_the_inner_service(door, static_component) -> None:
    door.add_port(static_component, number=3306, inner=True)
    generated = static_component.env_vars.filter(generated=True).values_list("name", flat=True)
    assert sorted(generated) == ["MYSQL_HOST", "MYSQL_PORT"]


def test_it_creates_the_health_check_with_the_component(door, application) -> None:
    door.create_component(application, name="redis", kind="third_party", registration="static")
    check = HealthCheck.objects.get(component__name="redis")
    assert (check.enabled, check.kind) == (True, "tcp")


def test_it_gives_a_component_with_api_registration_a_secret_key(door, application) -> None:
    door.create_component(application, name="legacy", kind="third_party", registration="api")
    assert len(Component.objects.get(name="legacy").secret_key) >= 40


# Each change writes the same audit event at every door.


def _create(door, application, **_: Any) -> None:
    door.create_component(application, name="redis", kind="third_party", registration="static")


CHANGES = {
    "component.create": _create,
    "port.create": lambda door, static_component, **_: door.add_port(static_component, number=3306),
    "env.create": lambda door, static_component, **_: door.set_variable(
        static_component, name="MYSQL_USER", value="shop"
    ),
    "dependency.add": lambda door, static_component, internal_component, **_: door.add_dependency(
        internal_component, static_component
    ),
    "instance.add": lambda door, static_component, **_: door.add_instance(
        static_component, address="10.0.0.7:3306"
    ),
}


@pytest.mark.parametrize("action", list(CHANGES))
def test_it_audits_the_change_with_the_same_action(
    door, action: str, application, static_component, internal_component
) -> None:
    before = AuditEvent.objects.count()
    CHANGES[action](
        door,
        application=application,
        static_component=static_component,
        internal_component=internal_component,
    )
    [event] = AuditEvent.objects.order_by("-id")[: AuditEvent.objects.count() - before]
    assert event.action == action
    assert event.user is not None and event.remote_addr == "127.0.0.1"
