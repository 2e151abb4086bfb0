"""Every invariant of docs/architecture.md ("Invariants") is refused twice: by the services, with a message a person
can act on, and by the database itself when a write goes around them."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from components import services
from components.models import Component, ComponentKind, Dependency, EnvVar, Port, Registration
from core.errors import ComponentError
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import HealthCheck, Instance
from instances.services import instance_add

pytestmark = [pytest.mark.django_db]


def refused_by_database(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def message_of(excinfo: pytest.ExceptionInfo[ComponentError]) -> str:
    return str(excinfo.value)


# Components


def test_it_derives_a_dns_label_service_name_from_the_display_name(application, alice_actor):
    component = instance_services.component_create(
        application=application, name="RDS MySQL (prod)", actor=alice_actor
    )
    assert component.service_name == "rds-mysql-prod"
    assert len(component.service_id) == 32


def test_it_refuses_a_service_name_that_is_not_a_dns_label(application, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        instance_services.component_create(
            application=application, name="db", service_name="DB_1", actor=alice_actor
        )
    assert "DNS label" in message_of(excinfo)
    assert not Component.objects.filter(name="db").exists()
    refused_by_database(
        lambda: Component.objects.create(
            application=application,
            team=application.team,
            name="x",
            service_name="-bad",
            registration="static",
        )
    )


def test_it_refuses_a_second_component_with_the_same_service_name_in_a_team(
    static_component, application, alice_actor
):
    with pytest.raises(ComponentError) as excinfo:
        instance_services.component_create(
            application=application, name="MySQL", service_name="mysql", actor=alice_actor
        )
    assert "already uses this service name" in message_of(excinfo)
    refused_by_database(
        lambda: Component.objects.create(
            application=application,
            team=application.team,
            name="y",
            service_name="mysql",
            registration="static",
        )
    )


def test_it_allows_the_same_service_name_in_another_team(static_component, other_team, alice_actor):
    elsewhere = services.application_create(team=other_team, name="Shop", actor=alice_actor)
    component = instance_services.component_create(application=elsewhere, name="mysql", actor=alice_actor)
    assert component.service_name == static_component.service_name


def test_it_refuses_an_image_on_a_third_party_component(application, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        instance_services.component_create(
            application=application, name="db", image="mysql:8", actor=alice_actor
        )
    assert "no image" in message_of(excinfo)
    refused_by_database(
        lambda: Component.objects.create(
            application=application,
            team=application.team,
            name="z",
            service_name="z",
            registration="static",
            image="mysql:8",
        )
    )


def test_it_gives_an_api_component_a_long_random_secret_key(api_component):
    assert len(api_component.secret_key) >= 43  # 32 bytes, URL-safe base64
    refused_by_database(lambda: Component.objects.filter(pk=api_component.pk).update(secret_key=""))


def test_it_refuses_an_application_slug_twice_in_a_team(application, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        services.application_create(team=application.team, name="Shop", actor=alice_actor)
    assert "already has an application" in message_of(excinfo)


# Ports


def test_it_refuses_a_second_port_on_a_third_party_component(static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        services.port_create(component=static_component, number=3307, protocol="mysql", actor=alice_actor)
    assert "third-party components can only have one port" in message_of(excinfo)
    assert static_component.ports.count() == 1
    refused_by_database(lambda: Port.objects.create(component=static_component, number=3308, alias="OTHER"))


def test_it_allows_several_ports_on_an_internal_component(internal_component, alice_actor):
    services.port_create(component=internal_component, number=80, protocol="http", actor=alice_actor)
    services.port_create(
        component=internal_component, number=443, protocol="http", alias="HTTPS", actor=alice_actor
    )
    assert internal_component.ports.count() == 2


@pytest.mark.parametrize("number", [0, 65536, -1])
def test_it_refuses_a_port_number_out_of_range(static_component, alice_actor, number):
    with pytest.raises(ComponentError) as excinfo:
        services.port_create(component=static_component, number=number, actor=alice_actor)
    assert "65535" in message_of(excinfo) or "greater than or equal to 1" in message_of(excinfo)
    assert not static_component.ports.exists()


def test_it_refuses_a_port_alias_that_breaks_the_pattern(static_component, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        services.port_create(component=static_component, number=3306, alias="my-sql", actor=alice_actor)
    assert "upper-case letters" in message_of(excinfo)
    refused_by_database(lambda: Port.objects.create(component=static_component, number=3306, alias="lower"))


def test_it_defaults_the_port_alias_from_the_service_name(static_component, alice_actor):
    port = services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    assert port.alias == "MYSQL"


def test_it_refuses_an_outer_service_without_the_inner_service(static_component, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        services.port_create(component=static_component, number=3306, outer_service=True, actor=alice_actor)
    assert "needs the internal service" in message_of(excinfo)
    refused_by_database(
        lambda: Port.objects.create(
            component=static_component, number=3306, alias="MYSQL", outer_service=True
        )
    )


def test_it_refuses_to_close_the_inner_service_while_the_outer_is_open(static_component, alice_actor):
    port = services.port_create(
        component=static_component, number=3306, inner_service=True, outer_service=True, actor=alice_actor
    )
    with pytest.raises(ComponentError) as excinfo:
        services.port_update(port=port, inner_service=False, actor=alice_actor)
    assert "cannot close while the external service is open" in message_of(excinfo)
    port.refresh_from_db()
    assert port.inner_service


def test_the_inner_service_generates_host_and_port_connection_information(static_component, alice_actor):
    port = services.port_create(
        component=static_component, number=3306, inner_service=True, actor=alice_actor
    )
    assert set(static_component.env_vars.values_list("name", flat=True)) == {"MYSQL_HOST", "MYSQL_PORT"}
    services.port_update(port=port, alias="DB", actor=alice_actor)
    assert set(static_component.env_vars.values_list("name", flat=True)) == {"DB_HOST", "DB_PORT"}
    services.port_update(port=port, inner_service=False, actor=alice_actor)
    assert not static_component.env_vars.exists()


# Variables


@pytest.mark.parametrize("name", ["1ABC", "MY-VAR", "", "A B"])
def test_it_refuses_a_variable_name_that_breaks_the_pattern(static_component, alice_actor, name):
    with pytest.raises(ComponentError) as excinfo:
        services.env_var_set(component=static_component, name=name, value="x", actor=alice_actor)
    assert "variable name" in message_of(excinfo) or "cannot be blank" in message_of(excinfo)
    assert not static_component.env_vars.exists()


def test_it_refuses_a_reserved_variable_name(static_component, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        services.env_var_set(component=static_component, name="PATH", value="/tmp", actor=alice_actor)
    assert "reserved" in message_of(excinfo)
    refused_by_database(lambda: EnvVar.objects.create(component=static_component, name="HOME", value="/"))


def test_it_keeps_variable_names_unique_per_component(static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="app", actor=alice_actor)
    services.env_var_set(component=static_component, name="MYSQL_USER", value="app2", actor=alice_actor)
    assert static_component.env_vars.get(name="MYSQL_USER").value == "app2"
    refused_by_database(
        lambda: EnvVar.objects.create(component=static_component, name="MYSQL_USER", value="x")
    )


# Dependencies


def test_it_refuses_a_self_dependency(internal_component, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=internal_component, target=internal_component, actor=alice_actor)
    assert "cannot depend on itself" in message_of(excinfo)
    refused_by_database(
        lambda: Dependency.objects.bulk_create(
            [Dependency(component=internal_component, target=internal_component)]
        )
    )


def test_it_refuses_a_dependency_of_a_third_party_component(
    static_component, internal_component, alice_actor
):
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=static_component, target=internal_component, actor=alice_actor)
    assert "is a third-party component" in message_of(excinfo)
    refused_by_database(
        lambda: Dependency.objects.bulk_create(
            [Dependency(component=static_component, target=internal_component)]
        )
    )


def test_it_refuses_a_dependency_cycle_and_names_it(application, alice_actor):
    web, worker, cache = (
        instance_services.component_create(
            application=application, name=n, kind=ComponentKind.INTERNAL, actor=alice_actor
        )
        for n in ("web", "worker", "cache")
    )
    services.dependency_add(component=web, target=worker, actor=alice_actor)
    services.dependency_add(component=worker, target=cache, actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=cache, target=web, actor=alice_actor)
    assert "cycle: cache → web → worker → cache" in message_of(excinfo)
    assert Dependency.objects.count() == 2
    # The trigger refuses it even when the ORM's checks are bypassed.
    refused_by_database(lambda: Dependency.objects.bulk_create([Dependency(component=cache, target=web)]))


def test_it_refuses_a_duplicate_dependency(internal_component, static_component, alice_actor):
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    assert "already depends on" in message_of(excinfo)
    refused_by_database(
        lambda: Dependency.objects.bulk_create(
            [Dependency(component=internal_component, target=static_component)]
        )
    )


def test_it_refuses_a_dependency_whose_connection_information_collides(
    application, internal_component, alice_actor
):
    primary = instance_services.component_create(application=application, name="mysql-a", actor=alice_actor)
    replica = instance_services.component_create(application=application, name="mysql-b", actor=alice_actor)
    for component in (primary, replica):
        services.env_var_set(component=component, name="MYSQL_USER", value="app", actor=alice_actor)
    services.dependency_add(component=internal_component, target=primary, actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=internal_component, target=replica, actor=alice_actor)
    text = message_of(excinfo)
    assert "MYSQL_USER" in text and "mysql-a" in text and "mysql-b" in text
    assert internal_component.dependencies.count() == 1


def test_a_dependency_on_a_closed_port_asks_to_open_the_inner_service(
    static_component, internal_component, alice_actor
):
    port = services.port_create(component=static_component, number=3306, actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    assert "Confirm to turn the internal service on" in message_of(excinfo)
    services.dependency_add(
        component=internal_component, target=static_component, open_inner=True, actor=alice_actor
    )
    port.refresh_from_db()
    assert port.inner_service


# Instances and health checks


def test_it_refuses_a_second_instance_at_the_same_address(static_component, alice_actor):
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    with pytest.raises(ComponentError) as excinfo:
        instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    assert "already has the instance 10.0.0.7:3306" in message_of(excinfo)
    refused_by_database(
        lambda: Instance.objects.create(component=static_component, host="10.0.0.7", port=3306)
    )


def test_an_instance_without_a_port_is_unique_too(static_component, alice_actor):
    instance_add(component=static_component, address=parse_address("db.example.com"), actor=alice_actor)
    refused_by_database(
        lambda: Instance.objects.create(component=static_component, host="db.example.com", port=None)
    )


def test_it_refuses_a_timeout_not_below_the_interval(static_component, alice_actor):
    from instances.services import health_check_update

    with pytest.raises(ComponentError) as excinfo:
        health_check_update(component=static_component, interval_s=5, timeout_s=5, actor=alice_actor)
    assert "timeout must be shorter than the interval" in message_of(excinfo)
    refused_by_database(lambda: HealthCheck.objects.filter(component=static_component).update(timeout_s=50))


def test_it_refuses_a_threshold_below_one(static_component, alice_actor):
    from instances.services import health_check_update

    with pytest.raises(ComponentError) as excinfo:
        health_check_update(component=static_component, failure_threshold=0, actor=alice_actor)
    assert "greater than or equal to 1" in message_of(excinfo)
    refused_by_database(
        lambda: HealthCheck.objects.filter(component=static_component).update(success_threshold=0)
    )


def test_every_change_is_audited_without_secret_values(static_component, alice_actor):
    services.env_var_set(
        component=static_component,
        name="MYSQL_PASSWORD",
        value="s3cr3t-value",
        secret=True,
        actor=alice_actor,
    )
    event = static_component.audit_events.filter(action="env.create").get()
    assert event.detail["name"] == "MYSQL_PASSWORD"
    assert "s3cr3t-value" not in str(event.detail)
    assert event.user.username == "alice"


def test_a_registration_method_is_required_for_a_third_party_component(application, alice_actor):
    with pytest.raises(ComponentError) as excinfo:
        instance_services.component_create(
            application=application, name="db", registration="", actor=alice_actor
        )
    assert "Choose how instances are registered" in message_of(excinfo)
    assert Registration.API in Registration.values
