"""Duplicates sent at once (a retrying script): three identical requests at the same moment change
and audit once, and wrong secret keys sent at once are all counted, against a live server on
PostgreSQL.

Each trial sends the three requests from three threads released together by a barrier; the trials
repeat, because a race that is lost only now and then must still fail the test.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from core.models import AuditEvent
from instances.addresses import parse_address
from instances.models import Instance, WrongSecret
from instances.services import instance_add

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TRIALS = 15
AT_ONCE = 3


def send_at_once(url: str, method: str, body: dict) -> list[int]:
    """The statuses of ``AT_ONCE`` identical requests, released at the same moment."""
    barrier = threading.Barrier(AT_ONCE)
    data = json.dumps(body).encode()

    def send(_: int) -> int:
        request = urllib.request.Request(
            url, method=method, data=data, headers={"Content-Type": "application/json"}
        )
        barrier.wait(timeout=10)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=AT_ONCE) as pool:
        return sorted(pool.map(send, range(AT_ONCE)))


@pytest.fixture
def endpoint(live_server, api_component) -> str:
    return f"{live_server.url}/console/third_party/{api_component.service_id}"


def test_three_identical_deletes_at_once_delete_once_and_the_others_find_nothing(
    postgres_database, endpoint, api_component, alice_actor
):
    for trial in range(TRIALS):
        address = f"10.3.0.{trial + 1}"
        instance_add(component=api_component, address=parse_address(address), actor=alice_actor, source="api")

        statuses = send_at_once(endpoint, "DELETE", {"secret_key": api_component.secret_key, "ip": address})

        assert statuses == [200, 404, 404], f"trial {trial}"
        assert not Instance.objects.filter(component=api_component, host=address).exists()
        deleted = AuditEvent.objects.filter(action="instance.delete", detail__address=address)
        assert deleted.count() == 1, f"trial {trial}: {deleted.count()} deletion events"


def test_three_identical_puts_at_once_take_the_instance_offline_once(
    postgres_database, endpoint, api_component, alice_actor
):
    for trial in range(TRIALS):
        address = f"10.4.0.{trial + 1}"
        added = instance_add(
            component=api_component, address=parse_address(address), actor=alice_actor, source="api"
        )

        body = {"secret_key": api_component.secret_key, "ip": address, "is_online": False}
        statuses = send_at_once(endpoint, "PUT", body)

        assert statuses == [200, 200, 200], f"trial {trial}"
        instance = Instance.objects.get(pk=added.pk)
        assert not instance.is_online
        assert instance.generation == added.generation + 1, f"trial {trial}"
        offline = AuditEvent.objects.filter(action="instance.offline", detail__address=address)
        assert offline.count() == 1, f"trial {trial}: {offline.count()} offline events"


def test_three_identical_puts_of_a_new_address_at_once_add_it_once(
    postgres_database, endpoint, api_component
):
    for trial in range(TRIALS):
        address = f"10.5.0.{trial + 1}"

        statuses = send_at_once(endpoint, "PUT", {"secret_key": api_component.secret_key, "ip": address})

        assert statuses == [200, 200, 200], f"trial {trial}"
        assert Instance.objects.filter(component=api_component, host=address).count() == 1
        added = AuditEvent.objects.filter(action="instance.add", detail__address=address)
        assert added.count() == 1, f"trial {trial}: {added.count()} add events"


def test_wrong_secrets_sent_at_once_are_all_counted(postgres_database, endpoint, api_component):
    for trial in range(TRIALS // 5):
        statuses = send_at_once(endpoint, "PUT", {"secret_key": f"wrong-{trial}", "ip": "10.6.0.1"})

        assert statuses == [401] * AT_ONCE, f"trial {trial}"
        assert WrongSecret.objects.get(component=api_component).failures == AT_ONCE * (trial + 1)
