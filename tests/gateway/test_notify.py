"""The database tells the gateway about routing changes, and only about them."""

from __future__ import annotations

import psycopg
import pytest
from django.db import connection

from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance
from kato_console.gateway.loop import CHANNEL

pytestmark = [pytest.mark.gateway, pytest.mark.postgres]


@pytest.fixture
def listener(transactional_db):
    if connection.vendor != "postgresql":
        pytest.skip("NOTIFY needs PostgreSQL")
    conn = psycopg.connect(**connection.get_connection_params(), autocommit=True)
    conn.execute(f"LISTEN {CHANNEL}")
    yield conn
    conn.close()


def _payloads(conn) -> set[str]:
    return {notice.payload for notice in conn.notifies(timeout=0.3)}


def test_a_routing_change_names_the_component_and_a_probe_timestamp_says_nothing(
    listener, static_component, alice_actor
):
    instance = instance_services.instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    assert _payloads(listener) == {str(static_component.pk)}
    Instance.objects.filter(pk=instance.pk).update(latency_ms=3.5, last_error="")
    assert _payloads(listener) == set()
    instance_services.instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    assert _payloads(listener) == {str(static_component.pk)}
    Instance.objects.filter(pk=instance.pk).update(health="unhealthy")
    assert _payloads(listener) == {str(static_component.pk)}
