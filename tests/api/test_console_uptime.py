"""Uptime in the console API: each instance of …/instances/ and the component object carry their
uptime over 24 hours, 7 days and 30 days, computed from the probe history."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from instances import history
from instances.addresses import parse_address
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


@pytest.fixture
def probed(static_component, alice_actor):
    """Two instances probed every minute for 20 minutes: the first always passed, the second failed
    one probe in four; a third never probed."""
    made = [
        instance_add(component=static_component, address=parse_address(address), actor=alice_actor)
        for address in ("10.0.0.7:3306", "10.0.0.8:3306", "10.0.0.9:3306")
    ]
    now = timezone.now()
    for minute in range(20):
        history.record_round(
            [(made[0].pk, True, 5.0), (made[1].pk, minute % 4 != 0, 7.0)], now - timedelta(minutes=minute)
        )
    history.upkeep(now=now)
    return made


def test_the_instances_list_gives_each_instance_s_uptime(api, static_component, probed) -> None:
    listed = api.get(url(static_component, "/instances/")).json()["results"]

    assert {item["address"]: item["uptime"] for item in listed} == {
        "10.0.0.7:3306": {"24h": 100.0, "7d": 100.0, "30d": 100.0},
        "10.0.0.8:3306": {"24h": 75.0, "7d": 75.0, "30d": 75.0},
        "10.0.0.9:3306": {"24h": None, "7d": None, "30d": None},
    }


def test_one_instance_carries_its_uptime(api, static_component, probed) -> None:
    answer = api.get(url(static_component, f"/instances/{probed[1].pk}")).json()
    assert answer["uptime"] == {"24h": 75.0, "7d": 75.0, "30d": 75.0}


def test_the_component_object_and_the_components_list_carry_the_component_s_uptime(
    api, static_component, probed
) -> None:
    detail = api.get(url(static_component)).json()
    listed = api.get("/api/v1/components/").json()["results"]

    assert detail["uptime"] == {"24h": 87.5, "7d": 87.5, "30d": 87.5}
    assert [item["uptime"] for item in listed if item["service_id"] == static_component.service_id] == [
        detail["uptime"]
    ]
