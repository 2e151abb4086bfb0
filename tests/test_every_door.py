"""One set of rules for every door: the same change made through the admin, through /api/v1/ and
through the pages ends the same way in the database — refused by the same invariant, with the same
derived fields, and with the same audit event. A refusal is told in the service's sentence at every
door: in the admin's form, the API's 400 and on the page that was posted to. The doors themselves
are in tests/doors.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.utils.html import escape

from components import services
from components.models import Component, ComponentKind, Dependency, EnvVar, Port
from core import services as accounts
from core.errors import ComponentError
from core.models import AuditEvent, Role
from instances import services as instance_services
from instances.models import TIMEOUT_BELOW_INTERVAL, HealthCheck, Instance
from tests.api.conftest import token_client
from tests.doors import AdminDoor, ApiDoor, PageDoor

pytestmark = pytest.mark.django_db

Door = AdminDoor | ApiDoor | PageDoor

DOORS = ["admin", "api", "pages"]


@pytest.fixture(params=DOORS)
def door(request, client, django_user_model, alice, team) -> Door:
    if request.param == "admin":
        operator = django_user_model.objects.create_superuser(username="operator", password="operator-pw-1")
        client.force_login(operator)
        return AdminDoor(client)
    if request.param == "pages":
        olivia = django_user_model.objects.create_user(username="olivia", password="olivia-password-1")
        accounts.membership_set(team=team, user=olivia, role=Role.OWNER)
        client.force_login(olivia)
        host, port = request.getfixturevalue("tcp_listener")
        return PageDoor(client, address=f"{host}:{port}")
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


def skip_at_the_pages(door: Door, why: str) -> None:
    """A case the pages cannot be asked for: the page does not offer the operation (``why``)."""
    if isinstance(door, PageDoor):
        pytest.skip(f"not offered by the pages: {why}")


def test_it_refuses_a_dependency_on_itself(door, internal_component) -> None:
    skip_at_the_pages(door, "the Dependencies page never lists the component itself as a target")
    door.add_dependency(internal_component, internal_component)
    assert "cannot depend on itself" in door.answer
    assert not Dependency.objects.exists()


def test_it_refuses_the_same_dependency_twice(
    door, internal_component, static_component, alice_actor
) -> None:
    skip_at_the_pages(door, "the Dependencies page lists only components that are not targets yet")
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    door.add_dependency(internal_component, static_component)
    assert "already depends on" in door.answer
    assert Dependency.objects.count() == 1


@pytest.fixture
def replica(application, alice_actor) -> Component:
    """A second MySQL that shares MYSQL_USER, as the first one (``static_component``) will."""
    replica = instance_services.component_create(
        application=application, name="mysql-replica", actor=alice_actor
    )
    services.env_var_set(component=replica, name="MYSQL_USER", value="shop", actor=alice_actor)
    return replica


def test_it_refuses_a_dependency_that_would_receive_a_variable_twice(
    door, internal_component, static_component, replica, alice_actor
) -> None:
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    door.add_dependency(internal_component, replica)
    assert "both share the variable MYSQL_USER" in door.answer
    assert not Dependency.objects.filter(target=replica).exists()


def test_it_refuses_a_variable_that_a_dependent_would_receive_twice(
    door, internal_component, static_component, replica, alice_actor
) -> None:
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    services.dependency_add(component=internal_component, target=replica, actor=alice_actor)
    door.set_variable(static_component, name="MYSQL_USER", value="admin")
    assert "would receive it twice" in door.answer
    assert not static_component.env_vars.filter(name="MYSQL_USER").exists()


def test_it_refuses_an_outer_service_without_the_inner_one(door, internal_component) -> None:
    # The pages add the port first and switch its services on afterwards: the port may stay, closed.
    door.add_port(internal_component, number=8080, outer=True)
    assert "needs the internal service" in door.answer
    assert not Port.objects.filter(outer_service=True).exists()


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
    assert said(door, refusal_of(address))
    assert not Instance.objects.exists()


def refusal_of(address: str) -> str:
    """The services' sentence for an address they refuse."""
    with pytest.raises(ComponentError) as refused:
        instance_services.address_parse_checked(address)
    return " ".join(refused.value.messages["address"])


def said(door: Door, sentence: str) -> bool:
    """Whether the door's answer tells the sentence, as an HTML page or as JSON writes it."""
    return any(form in door.answer for form in (sentence, escape(sentence), json.dumps(sentence)[1:-1]))


def test_it_refuses_a_rename_to_a_service_name_in_use(door, static_component, internal_component) -> None:
    door.rename(internal_component, name="phpmyadmin", service_name="mysql")
    assert "already uses this service name" in door.answer
    assert Component.objects.filter(service_name="mysql").count() == 1


def test_it_refuses_a_health_check_timeout_as_long_as_its_interval(door, static_component) -> None:
    door.change_health_check(static_component, interval_s=10, timeout_s=10)
    assert TIMEOUT_BELOW_INTERVAL in door.answer
    assert HealthCheck.objects.get(component=static_component).timeout_s == 3


@pytest.mark.parametrize("changes", [{"interval_s": 86_401}, {"timeout_s": 31}, {"interval_s": 4}])
def test_it_refuses_a_health_check_outside_the_documented_limits(
    door, static_component, changes: dict[str, int]
) -> None:
    # Each door words a number out of range in its own framework's sentence; the database decides.
    door.change_health_check(static_component, **changes)
    check = HealthCheck.objects.get(component=static_component)
    assert (check.interval_s, check.timeout_s) == (10, 3)


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
    # API registration: the wizard asks a static component for its addresses, which adds instances too.
    door.create_component(application, name="redis", kind="third_party", registration="api")


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
    "component.update": lambda door, static_component, **_: door.rename(
        static_component, name="MySQL (prod)", service_name="mysql-prod"
    ),
    "health_check.update": lambda door, static_component, **_: door.change_health_check(
        static_component, interval_s=60
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
