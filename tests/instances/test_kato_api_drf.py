"""The instance endpoint as a DRF view: pagination, the schema from extend_schema, and the envelope
kept to this view."""

from __future__ import annotations

import json

import pytest

from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add

pytestmark = pytest.mark.django_db


def url(component) -> str:
    return f"/console/third_party/{component.service_id}"


@pytest.fixture
def three_instances(api_component, alice_actor):
    for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        instance_add(component=api_component, address=parse_address(host), actor=alice_actor, source="api")
    return api_component


def listed(client, component, **query) -> tuple[int, dict]:
    response = client.get(url(component), {"secret_key": component.secret_key, **query})
    return response.status_code, response.json()


def test_a_get_lists_a_page_at_a_time_with_the_total(client, three_instances):
    status, first = listed(client, three_instances, page=1, page_size=2)
    assert status == 200 and first["data"]["bean"] == {"endpoint_num": 3}
    assert [item["ip"] for item in first["data"]["list"]] == ["10.0.0.1", "10.0.0.2"]

    _, second = listed(client, three_instances, page=2, page_size=2)
    assert [item["ip"] for item in second["data"]["list"]] == ["10.0.0.3"]
    assert second["data"]["bean"] == {"endpoint_num": 3}


def test_a_page_past_the_last_is_empty_and_still_counts_them_all(client, three_instances):
    status, answer = listed(client, three_instances, page=9, page_size=2)
    assert status == 200 and answer["data"] == {"bean": {"endpoint_num": 3}, "list": []}


def test_without_a_page_a_get_lists_every_instance(client, three_instances):
    _, answer = listed(client, three_instances)
    assert len(answer["data"]["list"]) == 3


def test_a_page_size_over_the_maximum_is_held_to_it(client, three_instances, monkeypatch):
    monkeypatch.setattr("kato_console.kato_api.views.InstancePages.max_page_size", 2)
    _, answer = listed(client, three_instances, page_size=500)
    assert len(answer["data"]["list"]) == 2


@pytest.mark.parametrize("page", ["0", "-1", "abc", "²", "1.5"])
def test_a_page_that_is_not_a_whole_number_from_one_is_refused(client, three_instances, page):
    status, answer = listed(client, three_instances, page=page)
    assert status == 400 and answer["msg"] == "page_invalid"
    assert answer["data"] == {"bean": {}, "list": []}


def test_a_wrong_secret_is_answered_with_the_bearer_challenge(client, api_component):
    response = client.put(
        url(api_component),
        data=json.dumps({"secret_key": "wrong", "ip": "10.0.0.7"}),
        content_type="application/json",
    )
    assert response.status_code == 401 and response["WWW-Authenticate"] == 'Bearer realm="kato"'
    assert response.json()["msg"] == "secret_key_invalid"


def test_the_answer_is_json_whatever_the_client_accepts(client, api_component):
    response = client.put(
        url(api_component),
        data=json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.7"}),
        content_type="application/json",
        HTTP_ACCEPT="text/html",
    )
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert Instance.objects.filter(component=api_component, host="10.0.0.7").exists()


def test_a_json_media_type_with_a_suffix_is_read_as_json(client, api_component):
    response = client.put(
        url(api_component),
        data=json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.7"}),
        content_type="application/merge-patch+json",
    )
    assert response.status_code == 200


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_are_not_allowed_either(client, api_component, method):
    response = client.generic(method, url(api_component))
    assert response.status_code == 405 and response["Allow"] == "GET, PUT, DELETE"


def test_the_console_api_keeps_drfs_own_error_format(client):
    answer = client.get("/api/v1/applications/").json()
    assert "detail" in answer and "msg" not in answer


def test_the_schema_describes_the_endpoint_from_the_view_itself(client, settings):
    assert not any("kato" in hook for hook in settings.SPECTACULAR_SETTINGS.get("POSTPROCESSING_HOOKS", []))
    schema = json.loads(client.get("/api/schema/", {"format": "json"}).content)
    operations = schema["paths"]["/console/third_party/{service_id}"]
    assert set(operations) == {"get", "put", "delete"}
    assert {p["name"] for p in operations["get"]["parameters"]} >= {
        "service_id",
        "secret_key",
        "page",
        "page_size",
    }
    assert set(operations["put"]["responses"]) >= {
        "200",
        "400",
        "401",
        "404",
        "409",
        "411",
        "413",
        "415",
        "429",
    }
    assert "Retry-After" in operations["put"]["responses"]["429"]["headers"]
    assert schema["components"]["securitySchemes"]["katoSecretKey"]["scheme"] == "bearer"
    assert "/console/third_party/{service_id}/" not in schema["paths"]
