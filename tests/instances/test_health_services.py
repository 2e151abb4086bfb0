"""The sweep against the real MariaDB, PostgreSQL and Redis of the machine, as a user sets it up:
a component, its port, its connection information, and the health check."""

from __future__ import annotations

import secrets

import pytest

from components import services
from components.models import Application, Component
from core.audit import Actor
from instances import services as instance_services
from instances.models import Instance, Status
from instances.services import health_check_update
from tests.instances import sweeping
from tests.instances.sweeping import add_instance, fresh, sweep_rounds
from tests.support import require_service

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
no_jitter = sweeping.no_jitter


def component_with(
    application: Application,
    actor: Actor,
    *,
    name: str,
    protocol: str,
    port: int,
    variables: dict[str, str] | None = None,
    **check: object,
) -> Component:
    """A component as the wizard makes it: a port with its protocol, connection information, a check."""
    component = instance_services.component_create(application=application, name=name, actor=actor)
    services.port_create(component=component, number=port, protocol=protocol, inner_service=True, actor=actor)
    for variable, value in (variables or {}).items():
        services.env_var_set(
            component=component, name=variable, value=value, secret="PASSWORD" in variable, actor=actor
        )
    health_check_update(component=component, actor=actor, kind=protocol, timeout_s=3, interval_s=10, **check)
    return component


def service_instance(
    service_name: str, application: Application, actor: Actor, *, name: str, protocol: str, **options: object
) -> Instance:
    """An instance of the real service, in a component set up by ``component_with`` on its port."""
    service = require_service(service_name)
    component = component_with(application, actor, name=name, protocol=protocol, port=service.port, **options)
    return add_instance(component, service.host, actor)


# --------------------------------------------------------------------------------------------
# MariaDB
# --------------------------------------------------------------------------------------------


@pytest.mark.mariadb
def test_mariadb_is_healthy_and_named_with_a_greeting_only_check(application, alice_actor: Actor) -> None:
    instance = service_instance("mariadb", application, alice_actor, name="mysql", protocol="mysql")

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY
    assert stored.server_info.startswith("MariaDB 10.")


@pytest.mark.mariadb
def test_mariadb_is_healthy_when_the_probe_logs_in_with_the_connection_information(
    application, alice_actor: Actor, mariadb_account: tuple[str, str]
) -> None:
    user, password = mariadb_account
    instance = service_instance(
        "mariadb",
        application,
        alice_actor,
        name="mysql",
        protocol="mysql",
        variables={"MYSQL_USER": user, "MYSQL_PASSWORD": password, "MYSQL_DATABASE": "test"},
        use_credentials=True,
    )

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY, stored.last_error
    assert stored.server_info.startswith("MariaDB 10.")


@pytest.mark.mariadb
def test_mariadb_is_unhealthy_at_the_auth_stage_with_wrong_credentials_after_the_failure_threshold(
    application, alice_actor: Actor, mariadb_account: tuple[str, str]
) -> None:
    user, _ = mariadb_account
    wrong = f"wrong-{secrets.token_hex(6)}"
    instance = service_instance(
        "mariadb",
        application,
        alice_actor,
        name="mysql",
        protocol="mysql",
        variables={"MYSQL_USER": user, "MYSQL_PASSWORD": wrong},
        use_credentials=True,
        failure_threshold=2,
    )

    sweep_rounds(1)
    after_one = fresh(instance)
    sweep_rounds(1)

    stored = fresh(instance)
    assert after_one.status == Status.NOTREADY
    assert stored.status == Status.UNHEALTHY
    assert stored.last_stage == "auth"
    assert f"Access denied for user '{user}'" in stored.last_error
    assert wrong not in stored.last_error


# --------------------------------------------------------------------------------------------
# PostgreSQL (trust authentication on loopback: a wrong role, not a wrong password, fails)
# --------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_postgresql_is_healthy_without_credentials(application, alice_actor: Actor) -> None:
    instance = service_instance("postgres", application, alice_actor, name="pg", protocol="postgresql")

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY
    assert stored.server_info.startswith("PostgreSQL")


@pytest.mark.postgres
def test_postgresql_is_healthy_when_the_probe_logs_in_and_reports_the_version(
    application, alice_actor: Actor
) -> None:
    service = require_service("postgres")
    instance = service_instance(
        "postgres",
        application,
        alice_actor,
        name="pg",
        protocol="postgresql",
        variables={"PG_USER": service.user, "PG_PASSWORD": "unused-with-trust", "PG_DATABASE": "postgres"},
        use_credentials=True,
    )

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY, stored.last_error
    assert stored.server_info.startswith("PostgreSQL 1")


@pytest.mark.postgres
def test_postgresql_is_unhealthy_at_the_auth_stage_for_an_unknown_role(
    application, alice_actor: Actor
) -> None:
    role = f"nobody_{secrets.token_hex(4)}"
    instance = service_instance(
        "postgres",
        application,
        alice_actor,
        name="pg",
        protocol="postgresql",
        variables={"PG_USER": role, "PG_PASSWORD": "x"},
        use_credentials=True,
        failure_threshold=1,
    )

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.UNHEALTHY
    assert stored.last_stage == "auth"
    assert role in stored.last_error


# --------------------------------------------------------------------------------------------
# Redis
# --------------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_is_healthy_without_credentials(application, alice_actor: Actor) -> None:
    instance = service_instance("redis", application, alice_actor, name="cache", protocol="redis")

    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY
    assert stored.server_info.startswith("Redis 7")


@pytest.mark.redis
def test_redis_is_healthy_with_an_acl_user_from_the_connection_information(
    application, alice_actor: Actor, redis_account: tuple[str, str]
) -> None:
    user, password = redis_account
    instance = service_instance(
        "redis",
        application,
        alice_actor,
        name="cache",
        protocol="redis",
        variables={"REDIS_USER": user, "REDIS_PASSWORD": password},
        use_credentials=True,
    )

    sweep_rounds(1)

    assert fresh(instance).status == Status.HEALTHY


@pytest.mark.redis
def test_a_credentialed_redis_check_without_tls_greets_and_says_why_it_did_not_log_in(
    application, alice_actor: Actor, redis_account: tuple[str, str]
) -> None:
    user, _ = redis_account
    instance = service_instance(
        "redis",
        application,
        alice_actor,
        name="cache",
        protocol="redis",
        variables={"REDIS_USER": user, "REDIS_PASSWORD": "definitely-wrong"},
        use_credentials=True,
        failure_threshold=2,
    )

    sweep_rounds(2)

    stored = fresh(instance)
    assert stored.status == Status.HEALTHY
    assert stored.server_info.endswith("(greeting only: Redis would get the password in clear without TLS)")
