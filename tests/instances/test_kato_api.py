"""The Kato-compatible instance endpoint, as scripts use it."""

from __future__ import annotations

import json
import socket
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from components import services
from core.audit import Actor
from core.models import AuditEvent
from instances.models import Instance, WrongSecret

pytestmark = pytest.mark.django_db

SUCCESS = b'{"msg":"success","code":200,"data":{"bean":{},"list":[]},"msg_show":"Successfully modified"}'


def url(component) -> str:
    return f"/console/third_party/{component.service_id}"


def put(client, component, body, **extra):
    return client.put(url(component), data=json.dumps(body), content_type="application/json", **extra)


def delete(client, component, body, **extra):
    return client.delete(url(component), data=json.dumps(body), content_type="application/json", **extra)


def assert_envelope(response, code: int, msg: str | None = None) -> dict:
    assert response.status_code == code
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["msg", "code", "data", "msg_show"]
    assert body["code"] == code
    assert set(body["data"]) == {"bean", "list"}
    assert isinstance(body["msg_show"], str) and body["msg_show"]
    if msg is not None:
        assert body["msg"] == msg
    return body


# The walkthrough users already have, with the real curl against a live server.


@pytest.mark.django_db(transaction=True)
def test_the_curl_walkthrough_adds_lists_and_deletes_an_instance(live_server, api_component):
    endpoint = f"{live_server.url}/console/third_party/{api_component.service_id}"
    body = json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.7", "is_online": True})
    put_result = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "PUT",
            "--url",
            endpoint,
            "-H",
            "Content-Type: application/json",
            "-d",
            body,
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    answer, status = put_result.stdout.rsplit(b"\n", 1)
    assert status == b"200"
    assert answer == SUCCESS

    listed = subprocess.run(
        ["curl", "-sS", "--url", f"{endpoint}?secret_key={api_component.secret_key}"],
        capture_output=True,
        timeout=30,
        check=True,
    )
    data = json.loads(listed.stdout)["data"]
    assert data["bean"] == {"endpoint_num": 1}
    [item] = data["list"]
    assert item["address"] == "10.0.0.7" and item["ip"] == "10.0.0.7" and item["is_online"] is True
    assert item["is_static"] is False and item["status"] == "notready"
    # Kato's fields, and no more: the console API's objects carry the rest (resolved addresses…).
    assert set(item) == {
        "ep_id",
        "address",
        "ip",
        "port",
        "status",
        "is_online",
        "is_static",
        "latency_ms",
        "last_checked_at",
    }

    removed = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "DELETE",
            "--url",
            endpoint,
            "-H",
            f"Authorization: Bearer {api_component.secret_key}",
            "-H",
            "Content-Type: application/json",
            "-d",
            json.dumps({"ip": "10.0.0.7"}),
        ],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert json.loads(removed.stdout)["code"] == 200
    assert not Instance.objects.filter(component=api_component).exists()


# PUT


def test_a_put_adds_an_instance_and_repeating_it_changes_nothing(client, api_component):
    body = {"secret_key": api_component.secret_key, "ip": "DB.Example.com:3306"}
    assert put(client, api_component, body).content == SUCCESS
    assert put(client, api_component, body).content == SUCCESS
    instance = Instance.objects.get(component=api_component)
    assert (instance.host, instance.port, instance.is_online, instance.source) == (
        "db.example.com",
        3306,
        True,
        "api",
    )
    assert AuditEvent.objects.filter(component=api_component, action="instance.add").count() == 1


def test_addresses_are_compared_after_normalisation(client, api_component):
    secret = api_component.secret_key
    for ip in ("https://API.example.com", "https://api.example.com:443/health", "api.example.com:443"):
        assert put(client, api_component, {"secret_key": secret, "ip": ip}).status_code == 200
    assert Instance.objects.filter(component=api_component).count() == 1
    for ip in ("[2001:DB8::7]:3306", "[2001:db8:0::7]:3306"):
        assert put(client, api_component, {"secret_key": secret, "ip": ip}).status_code == 200
    assert Instance.objects.filter(component=api_component, host="2001:db8::7").count() == 1


def test_is_online_false_takes_the_instance_out_and_true_brings_it_back(client, api_component):
    secret = api_component.secret_key
    put(client, api_component, {"secret_key": secret, "ip": "10.0.0.7"})
    put(client, api_component, {"secret_key": secret, "ip": "10.0.0.7", "is_online": False})
    instance = Instance.objects.get(component=api_component)
    assert instance.is_online is False and instance.next_probe_at is None
    listed = client.get(url(api_component), {"secret_key": secret}).json()["data"]["list"]
    assert listed[0]["status"] == "offline"
    assert Instance.objects.filter(component=api_component).routed().count() == 0
    put(client, api_component, {"secret_key": secret, "ip": "10.0.0.7", "is_online": True})
    instance.refresh_from_db()
    assert instance.is_online is True and instance.next_probe_at is not None
    assert (
        client.get(url(api_component), {"secret_key": secret}).json()["data"]["list"][0]["status"]
        == "notready"
    )


def test_every_change_is_audited_as_the_api_key_with_the_client_address(client, api_component):
    put(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.7"},
        REMOTE_ADDR="192.0.2.10",
    )
    put(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.7", "is_online": False},
        REMOTE_ADDR="192.0.2.10",
    )
    delete(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.7"},
        REMOTE_ADDR="192.0.2.10",
    )
    events = list(
        AuditEvent.objects.filter(component=api_component, action__startswith="instance.").order_by("id")
    )
    assert [e.action for e in events] == ["instance.add", "instance.offline", "instance.delete"]
    for event in events:
        assert event.actor == "api-key" and event.remote_addr == "192.0.2.10"
        assert event.detail["address"] == "10.0.0.7"
        assert api_component.secret_key not in json.dumps(event.detail)


def test_a_put_that_changes_nothing_costs_at_most_three_queries(
    client, api_component, django_assert_max_num_queries
):
    body = {"secret_key": api_component.secret_key, "ip": "10.0.0.7:3306"}
    put(client, api_component, body)
    with django_assert_max_num_queries(3):
        assert put(client, api_component, body).content == SUCCESS


def test_a_put_that_adds_an_instance_costs_as_many_queries_however_many_the_component_has(
    client, api_component
):
    def queries_of_an_add(ip: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert (
                put(client, api_component, {"secret_key": api_component.secret_key, "ip": ip}).content
                == SUCCESS
            )
        return len(queries)

    first = queries_of_an_add("10.0.0.8")
    Instance.objects.bulk_create(
        Instance(component=api_component, host=f"10.9.{n // 250}.{n % 250 + 1}", source="api")
        for n in range(300)
    )

    # The lookup; then the service, in its transaction (here a savepoint of the test's): the
    # insert, the instance limit and the audit event.
    assert queries_of_an_add("10.0.0.9") == first <= 6
    assert AuditEvent.objects.filter(component=api_component, action="instance.add").count() == 2


@pytest.mark.django_db(transaction=True)
def test_puts_keep_working_on_a_new_database_connection(postgres_database, client, api_component):
    """The statements are prepared on the server, per connection; when the connection is replaced
    (as CONN_MAX_AGE does), the next PUT must work on the new one."""
    secret = api_component.secret_key
    for n in range(1, 8):  # past psycopg's prepare threshold: the statement is prepared on the server
        assert put(client, api_component, {"secret_key": secret, "ip": f"10.0.0.{n}"}).content == SUCCESS
    connection.close()

    assert put(client, api_component, {"secret_key": secret, "ip": "10.0.1.1"}).content == SUCCESS
    assert put(client, api_component, {"secret_key": secret, "ip": "10.0.0.1"}).content == SUCCESS
    assert put(client, api_component, {"secret_key": "wrong", "ip": "10.0.1.2"}).status_code == 401
    hosts = set(Instance.objects.filter(component=api_component).values_list("host", flat=True))
    assert hosts == {f"10.0.0.{n}" for n in range(1, 8)} | {"10.0.1.1"}


def _row(obj, *, leave_out: set[str]) -> dict:
    return {
        field.attname: getattr(obj, field.attname)
        for field in type(obj)._meta.concrete_fields
        if field.attname not in leave_out
    }


def test_an_instance_added_by_put_is_stored_as_the_services_store_it(client, api_component):
    """The instance API adds in its own statement on PostgreSQL; it must write what the services write."""
    from instances.addresses import parse_address
    from instances.services import instance_upsert

    for is_online in (True, False):
        ip = f"10.0.{int(is_online)}.7:3306"
        put(
            client,
            api_component,
            {"secret_key": api_component.secret_key, "ip": ip, "is_online": is_online},
            REMOTE_ADDR="192.0.2.10",
        )
        by_put = Instance.objects.get(component=api_component, host=f"10.0.{int(is_online)}.7")
        by_services, _ = instance_upsert(
            component=api_component,
            address=parse_address(f"db{int(is_online)}.example.com:3306"),
            is_online=is_online,
            actor=Actor.api_key("192.0.2.10"),
        )
        by_services.refresh_from_db()
        varying = {"id", "host", "created_at", "updated_at", "next_probe_at"}
        assert _row(by_put, leave_out=varying) == _row(by_services, leave_out=varying)
        assert (by_put.next_probe_at is None) == (by_services.next_probe_at is None) == (not is_online)

        latest = AuditEvent.objects.filter(component=api_component, action="instance.add").order_by("-id")
        services_event, put_event = latest[:2]
        assert put_event.detail == {"address": ip, "is_online": is_online, "source": "api"}
        assert services_event.detail == {**put_event.detail, "address": by_services.address}
        varying = {"id", "created_at", "detail"}
        assert _row(put_event, leave_out=varying) == _row(services_event, leave_out=varying)
        assert put_event.remote_addr == "192.0.2.10" and put_event.actor == "api-key"


def test_a_client_without_an_ip_address_is_recorded_without_one(client, api_component):
    secret = api_component.secret_key
    assert (
        put(client, api_component, {"secret_key": secret, "ip": "10.0.0.7"}, REMOTE_ADDR="").content
        == SUCCESS
    )
    assert (
        put(
            client,
            api_component,
            {"secret_key": secret, "ip": "10.0.0.7", "is_online": False},
            REMOTE_ADDR="",
        ).content
        == SUCCESS
    )
    events = AuditEvent.objects.filter(component=api_component).order_by("id")
    assert [(e.action, e.remote_addr) for e in events if e.action.startswith("instance.")] == [
        ("instance.add", None),
        ("instance.offline", None),
    ]


def test_a_put_makes_no_network_call(client, api_component, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("the API looked up or connected to an address")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    response = put(
        client, api_component, {"secret_key": api_component.secret_key, "ip": "db.internal.example:3306"}
    )
    assert response.status_code == 200


def test_the_secret_is_accepted_from_the_bearer_header(client, api_component):
    response = client.put(
        url(api_component),
        data=json.dumps({"ip": "10.0.0.8"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {api_component.secret_key}",
    )
    assert response.content == SUCCESS


def test_the_trailing_slash_is_optional(client, api_component):
    response = client.get(url(api_component) + "/", {"secret_key": api_component.secret_key})
    assert_envelope(response, 200, "success")


def test_a_regenerated_secret_key_stops_the_old_one_at_once(client, api_component, alice_actor):
    old = api_component.secret_key
    new = services.secret_key_regenerate(component=api_component, actor=alice_actor)
    assert_envelope(
        put(client, api_component, {"secret_key": old, "ip": "10.0.0.7"}), 401, "secret_key_invalid"
    )
    assert put(client, api_component, {"secret_key": new, "ip": "10.0.0.7"}).content == SUCCESS


# DELETE


def test_deleting_an_unknown_instance_is_404(client, api_component):
    body = assert_envelope(
        delete(client, api_component, {"secret_key": api_component.secret_key, "ip": "10.9.9.9"}), 404
    )
    assert body["msg"] == "instance_not_found"


# Throttling


@override_settings(KATO_API_WRONG_SECRET_LIMIT=5)
def test_too_many_wrong_secrets_from_one_client_are_answered_429(client, api_component):
    for _ in range(5):
        assert (
            put(
                client, api_component, {"secret_key": "wrong", "ip": "10.0.0.7"}, REMOTE_ADDR="198.51.100.1"
            ).status_code
            == 401
        )
    blocked = put(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.7"},
        REMOTE_ADDR="198.51.100.1",
    )
    body = assert_envelope(blocked, 429, "too_many_wrong_secrets")
    assert 295 <= int(blocked["Retry-After"]) <= 300  # the default window, just started
    assert f"try again in {blocked['Retry-After']} seconds" in body["msg_show"]
    assert not Instance.objects.exists()
    # Someone else's wrong secrets never throttle a right secret from another client.
    other = put(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.7"},
        REMOTE_ADDR="198.51.100.2",
    )
    assert other.content == SUCCESS


def wrong_put(client, component, remote_addr: str = "198.51.100.1"):
    return put(client, component, {"secret_key": "wrong", "ip": "10.0.0.7"}, REMOTE_ADDR=remote_addr)


@override_settings(KATO_API_WRONG_SECRET_LIMIT=3, KATO_API_WRONG_SECRET_WINDOW_S=60)
def test_wrong_secrets_are_counted_in_the_database_per_component_and_client(client, api_component):
    for _ in range(2):
        assert wrong_put(client, api_component).status_code == 401
    assert wrong_put(client, api_component, "198.51.100.2").status_code == 401

    counts = dict(WrongSecret.objects.filter(component=api_component).values_list("client", "failures"))
    assert counts == {"198.51.100.1": 2, "198.51.100.2": 1}
    row = WrongSecret.objects.get(component=api_component, client="198.51.100.1")
    assert 59 <= (row.window_ends_at - timezone.now()).total_seconds() <= 60


@override_settings(
    KATO_API_WRONG_SECRET_LIMIT=2,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
)
def test_the_throttle_needs_no_cache(client, api_component):
    """A cache that keeps nothing (as each of several processes' own caches would be, to the
    others) does not lift the throttle: the counts are in the database."""
    for _ in range(2):
        assert wrong_put(client, api_component).status_code == 401

    blocked = put(
        client,
        api_component,
        {"secret_key": api_component.secret_key, "ip": "10.0.0.8"},
        REMOTE_ADDR="198.51.100.1",
    )

    assert_envelope(blocked, 429, "too_many_wrong_secrets")
    assert not Instance.objects.exists()


@override_settings(KATO_API_WRONG_SECRET_LIMIT=2, KATO_API_WRONG_SECRET_WINDOW_S=300)
def test_retry_after_counts_down_and_an_ended_window_starts_again(client, api_component):
    for _ in range(2):
        wrong_put(client, api_component)
    WrongSecret.objects.filter(component=api_component).update(
        window_ends_at=timezone.now() + timedelta(seconds=42)
    )
    right = {"secret_key": api_component.secret_key, "ip": "10.0.0.8"}

    blocked = put(client, api_component, right, REMOTE_ADDR="198.51.100.1")
    assert blocked.status_code == 429 and 41 <= int(blocked["Retry-After"]) <= 42

    # The window ends: the right secret works again, and the next wrong one starts a new count.
    WrongSecret.objects.filter(component=api_component).update(
        window_ends_at=timezone.now() - timedelta(seconds=1)
    )
    assert put(client, api_component, right, REMOTE_ADDR="198.51.100.1").content == SUCCESS
    assert wrong_put(client, api_component).status_code == 401
    assert WrongSecret.objects.get(component=api_component, client="198.51.100.1").failures == 1


def test_a_wrong_secret_forgets_the_components_ended_windows(client, api_component):
    ended = timezone.now() - timedelta(seconds=1)
    WrongSecret.objects.bulk_create(
        [
            WrongSecret(component=api_component, client=f"203.0.113.{n}", failures=9, window_ends_at=ended)
            for n in range(5)
        ]
    )

    wrong_put(client, api_component)

    assert list(WrongSecret.objects.filter(component=api_component).values_list("client", flat=True)) == [
        "198.51.100.1"
    ]


# Concurrency on PostgreSQL, against a live server.


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_puts_lose_and_duplicate_nothing(postgres_database, live_server, api_component):
    import urllib.request

    endpoint = f"{live_server.url}/console/third_party/{api_component.service_id}"

    def send(ip: str) -> int:
        request = urllib.request.Request(
            endpoint,
            method="PUT",
            headers={"Content-Type": "application/json"},
            data=json.dumps({"secret_key": api_component.secret_key, "ip": ip}).encode(),
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    distinct = [f"10.1.{i // 250}.{i % 250 + 1}" for i in range(50)]
    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(send, distinct)) == {200}
    assert Instance.objects.filter(component=api_component).count() == 50
    assert set(Instance.objects.filter(component=api_component).values_list("host", flat=True)) == set(
        distinct
    )

    with ThreadPoolExecutor(max_workers=25) as pool:
        assert set(pool.map(send, ["10.2.0.1:3306"] * 50)) == {200}
    assert Instance.objects.filter(component=api_component, host="10.2.0.1").count() == 1
    assert AuditEvent.objects.filter(component=api_component, action="instance.add").count() == 51


def test_the_instance_api_checks_the_host_and_sends_security_headers(client, api_component):
    response = client.get(url(api_component), {"secret_key": api_component.secret_key})
    assert response["X-Content-Type-Options"] == "nosniff" and response["Cache-Control"] == "no-store"
    refused = client.get(
        url(api_component), {"secret_key": api_component.secret_key}, HTTP_HOST="evil.example"
    )
    assert refused.status_code == 400
    assert not Instance.objects.exists()


def test_scripts_need_no_csrf_token(api_component):
    """Through the whole middleware stack, a PUT with the secret key is enough."""
    strict = Client(enforce_csrf_checks=True)

    response = put(strict, api_component, {"secret_key": api_component.secret_key, "ip": "10.0.0.7"})

    assert response.content == SUCCESS
    assert Instance.objects.filter(component=api_component, host="10.0.0.7").exists()


def test_a_link_local_client_with_a_zone_is_recorded_by_its_address(client, api_component):
    """A client on an IPv6 link-local address arrives as fe80::…%eth0; the zone is no part of it."""
    zoned = "fe80::7%eth0"

    assert wrong_put(client, api_component, zoned).status_code == 401
    added = put(
        client, api_component, {"secret_key": api_component.secret_key, "ip": "10.0.0.7"}, REMOTE_ADDR=zoned
    )

    assert added.content == SUCCESS
    assert list(WrongSecret.objects.values_list("client", flat=True)) == ["fe80::7"]
    assert AuditEvent.objects.get(action="instance.add").remote_addr == "fe80::7"
