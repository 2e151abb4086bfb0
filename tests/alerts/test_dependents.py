"""Alerts that name what is affected: the components depending on the failing one, directly or
through others, and one notification for a component and the dependents that went down with it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from components import services as component_services
from components.models import ComponentKind
from instances import services as instance_services
from instances.signals import HealthTransition
from kato_console.alerts import services
from kato_console.alerts.models import Delivery

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eager_celery")]

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def transition(component, *, instance_id: int, new: str = "unhealthy") -> HealthTransition:
    return HealthTransition(
        instance_id=instance_id,
        component_id=component.pk,
        team_id=component.team_id,
        address=f"10.0.0.{instance_id}:3306",
        old="healthy" if new == "unhealthy" else "unhealthy",
        new=new,
        stage="connect" if new == "unhealthy" else "",
        error="connection refused" if new == "unhealthy" else "",
        at=AT,
    )


@pytest.fixture
def shop(application, alice_actor, static_component):
    """mysql ← orders ← storefront, and search on its own."""

    def internal(name: str):
        return instance_services.component_create(
            application=application, name=name, actor=alice_actor, kind=ComponentKind.INTERNAL
        )

    orders, storefront, search = internal("orders"), internal("storefront"), internal("search")
    component_services.dependency_add(component=orders, target=static_component, actor=alice_actor)
    component_services.dependency_add(component=storefront, target=orders, actor=alice_actor)
    return static_component, orders, storefront, search


def announce(django_capture_on_commit_callbacks, transitions) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=transitions)


def test_an_alert_names_the_components_that_depend_on_it_directly_and_through_others(
    webhook, receiver, shop, django_capture_on_commit_callbacks
) -> None:
    mysql, *_ = shop

    announce(django_capture_on_commit_callbacks, [transition(mysql, instance_id=7)])

    [request] = receiver.requests
    assert request.json["affected"] == [
        {"component": "orders", "via": "direct"},
        {"component": "storefront", "via": "indirect"},
    ]
    assert request.json["also"] == []
    assert Delivery.objects.get().summary.endswith(
        "connect: connection refused; affects orders, storefront (through others)"
    )


def test_a_component_and_the_dependents_down_with_it_are_one_notification(
    webhook, receiver, shop, django_capture_on_commit_callbacks
) -> None:
    mysql, orders, storefront, search = shop

    announce(
        django_capture_on_commit_callbacks,
        [
            transition(mysql, instance_id=7),
            transition(orders, instance_id=8),
            transition(storefront, instance_id=9),
            transition(search, instance_id=10),
        ],
    )

    by_component = {request.json["component"]: request.json for request in receiver.requests}
    assert sorted(by_component) == ["mysql", "search"]
    assert by_component["mysql"]["also"] == ["orders", "storefront"]
    assert (
        "also unhealthy with it: orders, storefront"
        in Delivery.objects.get(payload__component="mysql").summary
    )
    assert by_component["search"]["also"] == []


def test_a_dependent_failing_on_its_own_is_its_own_notification(
    webhook, receiver, shop, django_capture_on_commit_callbacks
) -> None:
    _, orders, _, _ = shop

    announce(django_capture_on_commit_callbacks, [transition(orders, instance_id=8)])

    [request] = receiver.requests
    assert request.json["component"] == "orders"
    assert request.json["affected"] == [{"component": "storefront", "via": "direct"}]


def test_a_component_status_channel_gets_one_notification_for_the_outage(
    team, alice_actor, receiver, shop, django_capture_on_commit_callbacks
) -> None:
    mysql, orders, storefront, _ = shop
    services.channel_create(
        team=team,
        actor=alice_actor,
        name="Status",
        kind="webhook",
        target=receiver.url,
        on_instance_transitions=False,
        on_component_status=True,
    )
    for component, number in ((mysql, 7), (orders, 8), (storefront, 9)):
        instance = instance_services.instance_add(
            component=component,
            address=instance_services.address_parse_checked(f"10.0.0.{number}:3306"),
            actor=alice_actor,
        )
        type(instance).objects.filter(pk=instance.pk).update(health="unhealthy")

    announce(
        django_capture_on_commit_callbacks,
        [
            transition(mysql, instance_id=7),
            transition(orders, instance_id=8),
            transition(storefront, instance_id=9),
        ],
    )

    [request] = receiver.requests
    assert (request.json["event"], request.json["component"]) == ("component.unhealthy", "mysql")
    assert request.json["also"] == ["orders", "storefront"]
