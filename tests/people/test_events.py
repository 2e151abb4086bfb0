"""Events in sentences, in the reader's time zone, on the page and in the events API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from components import services
from core import services as accounts
from core.audit import SYSTEM, EventRow, audit_record_many
from core.models import AuditEvent
from instances import services as instance_services
from instances.addresses import parse_address
from kato_console.events import event_sentence

pytestmark = pytest.mark.django_db


def _api(user, name: str = "events") -> APIClient:
    _, key = accounts.api_token_create(user=user, name=name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _sentences(component) -> list[str]:
    return [event_sentence(event) for event in AuditEvent.objects.filter(component=component)]


def test_a_person_reads_what_happened(static_component, alice_actor):
    port = services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.port_update(port=port, inner_service=True, actor=alice_actor)
    services.port_update(port=port, inner_service=False, actor=alice_actor)
    instance_services.instance_add(
        component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor
    )
    audit_record_many(
        actor=SYSTEM,
        events=[
            EventRow(
                static_component.team_id,
                static_component.pk,
                static_component.name,
                "instance.unhealthy",
                {
                    "address": "127.0.0.1:3306",
                    "from": "healthy",
                    "to": "unhealthy",
                    "stage": "auth",
                    "error": "Access denied for user 'root'",
                },
            )
        ],
    )
    said = _sentences(static_component)
    assert said[0] == "127.0.0.1:3306 became unhealthy: login failed (Access denied for user 'root')"
    assert "alice added the instance 127.0.0.1:3306" in said
    assert "alice turned on the internal service of port 3306" in said
    assert "alice turned off the internal service of port 3306" in said
    assert "alice added port 3306 (mysql)" in said
    assert "alice created the component mysql in shop" in said
    assert not any("{" in sentence or "[]" in sentence for sentence in said)


def test_an_unknown_or_odd_detail_still_reads_as_words(static_component):
    event = AuditEvent(
        action="component.probe", actor="user", detail={"instances": 1, "reachable": 1, "failed": []}
    )
    assert event_sentence(event) == "user checked 1 instance now: 1 reachable"
    odd = AuditEvent(action="port.update", actor="system", detail={"inner_service": "x"})
    assert "{" not in event_sentence(odd)
    assert event_sentence(AuditEvent(action="something.new", actor="system")) == "system something: new"


def test_the_events_page_speaks_in_sentences_in_the_readers_time_zone(
    alice_client, static_component, alice_actor
):
    port = services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.port_update(port=port, inner_service=True, outer_service=True, actor=alice_actor)
    url = f"/components/{static_component.service_id}/events/"
    utc = alice_client.get(url).content.decode()
    assert (
        "alice turned on the internal service of port 3306 and turned on the external service of port 3306"
        in utc
    )
    assert "{&#x27;from&#x27;" not in utc and "from&#x27;: " not in utc
    assert "UTC</time>" in utc and "(just now)" in utc and "0 minutes ago" not in utc
    alice_client.cookies["kato_tz"] = "Asia/Tokyo"
    tokyo = alice_client.get(url).content.decode()
    at = timezone.localtime(
        AuditEvent.objects.first().created_at, timezone=timezone.get_fixed_timezone(9 * 60)
    )
    assert f"{at:%Y-%m-%d %H:%M} JST</time>" in tokyo and "Times are in Asia/Tokyo" in tokyo
    alice_client.cookies["kato_tz"] = "Mars/Olympus"  # unknown: UTC, and it says so
    assert "UTC</time>" in alice_client.get(url).content.decode()


def test_an_older_event_says_how_long_ago(alice_client, static_component):
    AuditEvent.objects.filter(component=static_component).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    page = alice_client.get(f"/components/{static_component.service_id}/events/").content.decode()
    assert "(5\xa0minutes ago)" in page


def test_the_events_api_pages_newest_first_and_filters_by_action(alice, static_component, alice_actor):
    for port in (3306, 3307, 3308):
        instance_services.instance_add(
            component=static_component, address=parse_address(f"127.0.0.1:{port}"), actor=alice_actor
        )
    api = _api(alice)
    url = f"/api/v1/components/{static_component.service_id}/events/"
    answer = api.get(url, {"action": "instance.add", "page_size": 2}).json()
    assert answer["count"] == 3 and answer["next"]
    first = answer["results"][0]
    assert first["action"] == "instance.add" and first["actor"] == "alice"
    assert first["sentence"] == "alice added the instance 127.0.0.1:3308"
    assert (
        first["detail"]["address"] == "127.0.0.1:3308" and first["component"] == static_component.service_id
    )
    assert first["at"].endswith("Z") or first["at"].endswith("+00:00")
    rest = api.get(answer["next"]).json()["results"]
    assert [event["detail"]["address"] for event in rest] == ["127.0.0.1:3306"]
    assert api.get(url, {"action": "nonsense"}).status_code == 400
    assert api.get(url).json()["results"][-1]["action"] == "component.create"


def test_the_team_events_api_and_who_may_read_it(alice, bob_from_another_team, static_component, team):
    answer = _api(alice).get(f"/api/v1/teams/{team.slug}/events/").json()
    actions = [event["action"] for event in answer["results"]]
    assert actions[-1] == "team.create" and "component.create" in actions
    bob = _api(bob_from_another_team)
    assert bob.get(f"/api/v1/teams/{team.slug}/events/").status_code == 404
    url = f"/api/v1/components/{static_component.service_id}/events/"
    assert bob.get(url).status_code == 404
    assert APIClient().get(url).status_code == 401


def test_the_events_api_is_in_the_openapi_description(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/components/{service_id}/events/"]["get"]
    assert operation["operationId"] == "component_events_list"
    assert {parameter["name"] for parameter in operation["parameters"]} >= {"action", "page", "page_size"}
    assert "/api/v1/teams/{slug}/events/" in schema["paths"]
    fields = schema["components"]["schemas"]["Event"]["properties"]
    assert {"at", "action", "actor", "sentence", "detail"} <= set(fields)
