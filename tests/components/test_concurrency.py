"""Dependency and connection-information changes that race each other, on PostgreSQL.

Each round starts its writes in threads at the same moment (a barrier), each in its own connection
and transaction, as concurrent requests would. Whatever the interleaving, none fails with a database
error (a deadlock would), and exactly the writes that keep the rules hold are stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from components import services
from components.models import Application, Component, ComponentKind, Dependency, EnvVar, Registration, Scope
from core.audit import Actor
from instances import services as instance_services

ROUNDS = 15


def at_once(*writes: Callable[[], Any]) -> list[str]:
    """Run the writes in threads released together; each outcome is "ok", "refused: …" or "error: …"."""
    barrier = threading.Barrier(len(writes))
    outcomes: list[str] = [""] * len(writes)

    def run(index: int, write: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=10)
            write()
            outcomes[index] = "ok"
        except services.ComponentError as error:
            outcomes[index] = f"refused: {error}"
        except Exception as error:  # noqa: BLE001 — a database error is what this test looks for
            outcomes[index] = f"error: {error!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, write)) for i, write in enumerate(writes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def internal(application: Application, actor: Actor, name: str) -> Component:
    return instance_services.component_create(
        application=application, name=name, actor=actor, kind=ComponentKind.INTERNAL, image="app:1"
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_three_concurrent_additions_that_close_a_cycle_add_the_two_that_do_not(
    postgres_database, application, alice_actor: Actor
) -> None:
    for round_ in range(ROUNDS):
        x, y, z = (internal(application, alice_actor, f"{name}{round_}") for name in "xyz")
        outcomes = at_once(
            *(
                lambda a=a, b=b: services.dependency_add(component=a, target=b, actor=alice_actor)
                for a, b in ((x, y), (y, z), (z, x))
            )
        )
        assert not [outcome for outcome in outcomes if outcome.startswith("error")], outcomes
        assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["ok", "ok", "refused"], outcomes
        stored = Dependency.objects.filter(component__in=[x, y, z]).count()
        assert stored == 2, f"round {round_}: {stored} dependencies stored, {outcomes}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_dependencies_never_both_get_the_same_new_variable_at_once(
    postgres_database, application, alice_actor: Actor
) -> None:
    for round_ in range(ROUNDS):
        app = internal(application, alice_actor, f"app{round_}")
        targets = [
            instance_services.component_create(
                application=application,
                name=f"{name}{round_}",
                actor=alice_actor,
                registration=Registration.STATIC,
            )
            for name in ("mysql", "redis")
        ]
        for target in targets:
            services.dependency_add(component=app, target=target, actor=alice_actor)
        outcomes = at_once(
            *(
                lambda target=target: services.env_var_create(
                    component=target, name="SHARED_URL", value="x", scope=Scope.OUTER, actor=alice_actor
                )
                for target in targets
            )
        )
        assert not [outcome for outcome in outcomes if outcome.startswith("error")], outcomes
        assert sorted(outcome.split(":")[0] for outcome in outcomes) == ["ok", "refused"], outcomes
        assert "would receive it twice" in next(o for o in outcomes if o.startswith("refused"))
        shared = EnvVar.objects.filter(component__in=targets, name="SHARED_URL").count()
        assert shared == 1, f"round {round_}: {app.name} receives SHARED_URL {shared} times"
