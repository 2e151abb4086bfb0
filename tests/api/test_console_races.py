"""A change that loses a race answers with a clear 409, never the database's constraint text."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from core.errors import ComponentConflict
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def hold_a_concurrent_insert(component, host: str, inserted: threading.Event) -> None:
    """In another connection, insert the same instance and commit it a moment later, so that the
    request under test passes its checks and then meets the unique constraint."""
    try:
        with transaction.atomic():
            Instance.objects.create(component=component, host=host, port=None, source="static")
            inserted.set()
            time.sleep(0.7)
    finally:
        connection.close()


def racing(component, host: str) -> threading.Thread:
    inserted = threading.Event()
    thread = threading.Thread(target=hold_a_concurrent_insert, args=(component, host, inserted))
    thread.start()
    assert inserted.wait(10)
    return thread


def test_a_lost_race_in_the_services_names_the_rule_not_the_constraint(static_component, alice_actor):
    thread = racing(static_component, "10.0.0.7")
    with pytest.raises(ComponentConflict) as raised:
        instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    thread.join()
    assert str(raised.value) == "The component already has an instance at this address."


def test_a_lost_race_on_the_console_api_is_a_409(api, static_component):
    thread = racing(static_component, "10.0.0.8")
    response = api.post(url(static_component, "/instances/"), {"address": "10.0.0.8"}, format="json")
    thread.join()
    assert response.status_code == 409
    detail = response.json()["detail"]
    assert detail == "The component already has an instance at this address."
    assert "duplicate" not in detail and "instances_instance" not in detail
    assert Instance.objects.filter(host="10.0.0.8").count() == 1
