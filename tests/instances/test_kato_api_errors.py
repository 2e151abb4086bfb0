"""Every bad request to the Kato endpoint gets its status and the envelope, and changes nothing."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.models import AuditEvent
from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add
from tests.bad_inputs import DENIED_SPELLINGS, NON_ASCII_PORTS

pytestmark = pytest.mark.django_db

SECRET = object()  # replaced by the component's real secret key


def body(**fields) -> dict:
    return {"secret_key": SECRET, "ip": "10.0.0.7", **fields}


# (name, method, payload or raw bytes, content type, expected status, expected msg)
CASES = [
    ("malformed JSON", "PUT", b'{"secret_key": ', "application/json", 400, "malformed_json"),
    ("JSON array", "PUT", b"[1, 2]", "application/json", 400, "body_not_object"),
    ("JSON string", "PUT", b'"10.0.0.7"', "application/json", 400, "body_not_object"),
    ("JSON null", "PUT", b"null", "application/json", 400, "body_not_object"),
    ("not UTF-8", "PUT", b'{"ip": "\xff\xfe"}', "application/json", 400, "malformed_json"),
    ("missing ip", "PUT", {"secret_key": SECRET}, "application/json", 400, "ip_missing"),
    ("empty ip", "PUT", body(ip=""), "application/json", 400, "ip_missing"),
    ("blank ip", "PUT", body(ip="   "), "application/json", 400, "ip_missing"),
    ("ip as a number", "PUT", body(ip=10), "application/json", 400, "ip_invalid"),
    ("ip as a list", "PUT", body(ip=["10.0.0.7"]), "application/json", 400, "ip_invalid"),
    ("invalid IPv4", "PUT", body(ip="10.0.0.300"), "application/json", 400, "ip_invalid"),
    ("invalid port", "PUT", body(ip="10.0.0.7:99999"), "application/json", 400, "ip_invalid"),
    ("port zero", "PUT", body(ip="10.0.0.7:0"), "application/json", 400, "ip_invalid"),
    ("two hosts", "PUT", body(ip="10.0.0.7,10.0.0.8"), "application/json", 400, "ip_invalid"),
    ("unsupported scheme", "PUT", body(ip="ftp://files.example.com"), "application/json", 400, "ip_invalid"),
    (
        "credentials in the address",
        "PUT",
        body(ip="http://user:pw@host.example.com"),
        "application/json",
        400,
        "ip_invalid",
    ),
    ("cloud metadata address", "PUT", body(ip="169.254.169.254"), "application/json", 400, "ip_invalid"),
    ("unspecified address", "PUT", body(ip="0.0.0.0"), "application/json", 400, "ip_invalid"),
    ("multicast address", "PUT", body(ip="[ff02::1]:80"), "application/json", 400, "ip_invalid"),
    ("is_online as a string", "PUT", body(is_online="false"), "application/json", 400, "is_online_invalid"),
    ("is_online as a number", "PUT", body(is_online=0), "application/json", 400, "is_online_invalid"),
    ("is_online null", "PUT", body(is_online=None), "application/json", 400, "is_online_invalid"),
    (
        "oversized body",
        "PUT",
        {"secret_key": SECRET, "ip": "10.0.0.7", "pad": "x" * 70_000},
        "application/json",
        413,
        "body_too_large",
    ),
    (
        "form-encoded body",
        "PUT",
        b"secret_key=x&ip=10.0.0.7",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
    ),
    ("text body", "PUT", b"10.0.0.7", "text/plain", 415, "unsupported_media_type"),
    ("missing secret", "PUT", {"ip": "10.0.0.7"}, "application/json", 401, "secret_key_missing"),
    (
        "empty secret",
        "PUT",
        {"secret_key": "", "ip": "10.0.0.7"},
        "application/json",
        401,
        "secret_key_missing",
    ),
    (
        "wrong secret",
        "PUT",
        {"secret_key": "not-the-key", "ip": "10.0.0.7"},
        "application/json",
        401,
        "secret_key_invalid",
    ),
    (
        "secret as a number",
        "PUT",
        {"secret_key": 12345, "ip": "10.0.0.7"},
        "application/json",
        401,
        "secret_key_missing",
    ),
    (
        "wrong secret on DELETE",
        "DELETE",
        {"secret_key": "nope", "ip": "10.0.0.1"},
        "application/json",
        401,
        "secret_key_invalid",
    ),
    ("missing ip on DELETE", "DELETE", {"secret_key": SECRET}, "application/json", 400, "ip_missing"),
    (
        "unknown instance on DELETE",
        "DELETE",
        body(ip="10.9.9.9"),
        "application/json",
        404,
        "instance_not_found",
    ),
    ("POST", "POST", body(), "application/json", 405, "method_not_allowed"),
    ("PATCH", "PATCH", body(), "application/json", 405, "method_not_allowed"),
]

# Classes of input that Python accepts somewhere and refuses elsewhere: each must be a 400, never a 500.
for port_spelling in NON_ASCII_PORTS:
    CASES.append(
        (f"port {port_spelling!a}", "PUT", body(ip=port_spelling), "application/json", 400, "ip_invalid")
    )
for denied in DENIED_SPELLINGS:
    CASES.append((f"denied {denied}", "PUT", body(ip=denied), "application/json", 400, "ip_invalid"))
CASES += [
    (
        "lone surrogate in secret_key",
        "PUT",
        body(secret_key="\ud800"),
        "application/json",
        400,
        "malformed_json",
    ),
    ("lone surrogate in ip", "PUT", body(ip="10.0.0.7\udfff"), "application/json", 400, "malformed_json"),
    (
        "lone surrogate in is_online",
        "PUT",
        body(is_online="\udc00"),
        "application/json",
        400,
        "malformed_json",
    ),
    ("lone surrogate in a key", "PUT", {**body(), "\ud800": 1}, "application/json", 400, "malformed_json"),
    (
        "lone surrogate nested",
        "PUT",
        body(extra={"a": ["\udbff"]}),
        "application/json",
        400,
        "malformed_json",
    ),
    (
        "lone surrogate as UTF-8 bytes",
        "PUT",
        b'{"secret_key": "\xed\xa0\x80", "ip": "10.0.0.7"}',
        "application/json",
        400,
        "malformed_json",
    ),
    ("lone surrogate on DELETE", "DELETE", body(ip="\ud800"), "application/json", 400, "malformed_json"),
    ("60,000 nested arrays", "PUT", b"[" * 60_000, "application/json", 400, "malformed_json"),
    ("15,000 nested objects", "PUT", b'{"":' * 15_000, "application/json", 400, "malformed_json"),
    (
        "deep nesting inside the object",
        "PUT",
        b'{"ip": "10.0.0.7", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}",
        "application/json",
        400,
        "malformed_json",
    ),
    ("deep nesting on DELETE", "DELETE", b"[" * 60_000, "application/json", 400, "malformed_json"),
    ("overlong UTF-8", "PUT", b'{"ip": "\xc0\xaf"}', "application/json", 400, "malformed_json"),
    ("lone continuation byte", "PUT", b'{"ip": "\x80"}', "application/json", 400, "malformed_json"),
    ("truncated UTF-8", "PUT", b'{"ip": "\xe2\x82"}', "application/json", 400, "malformed_json"),
    ("UTF-16 body", "PUT", '{"ip": "10.0.0.7"}'.encode("utf-16"), "application/json", 400, "malformed_json"),
    ("NaN", "PUT", b'{"ip": "10.0.0.7", "is_online": NaN}', "application/json", 400, "malformed_json"),
    ("Infinity", "PUT", b'{"ip": Infinity}', "application/json", 400, "malformed_json"),
    ("-Infinity", "PUT", b'{"ip": "10.0.0.7", "x": -Infinity}', "application/json", 400, "malformed_json"),
    (
        "a 5,000-digit number",
        "PUT",
        b'{"ip": "10.0.0.7", "x": 1' + b"0" * 5_000 + b"}",
        "application/json",
        400,
        "malformed_json",
    ),
    ("a huge exponent as ip", "PUT", body(ip=1e308), "application/json", 400, "ip_invalid"),
    (
        "a huge exponent as is_online",
        "PUT",
        b'{"secret_key": "@SECRET@", "ip": "10.0.0.7", "is_online": 1e999999}',
        "application/json",
        400,
        "is_online_invalid",
    ),
]


def send(client, method: str, path: str, payload, content_type: str, secret: str):
    if isinstance(payload, dict):
        payload = json.dumps({k: (secret if v is SECRET else v) for k, v in payload.items()}).encode()
    payload = payload.replace(b"@SECRET@", secret.encode())
    return client.generic(method, path, data=payload, content_type=content_type)


def snapshot(component) -> tuple:
    return (
        list(
            Instance.objects.filter(component=component).values_list(
                "host", "port", "is_online", "generation"
            )
        ),
        AuditEvent.objects.count(),
    )


@pytest.fixture
def existing(api_component, alice_actor):
    instance_add(component=api_component, address=parse_address("10.0.0.1"), actor=alice_actor, source="api")
    return api_component


@pytest.mark.parametrize(
    ("name", "method", "payload", "content_type", "status", "msg"), CASES, ids=[c[0] for c in CASES]
)
def test_a_bad_request_gets_its_status_and_changes_nothing(
    client, existing, name, method, payload, content_type, status, msg
):
    before = snapshot(existing)
    response = send(
        client,
        method,
        f"/console/third_party/{existing.service_id}",
        payload,
        content_type,
        existing.secret_key,
    )
    assert response.status_code == status
    answer = response.json()
    assert list(answer) == ["msg", "code", "data", "msg_show"]
    assert answer["code"] == status and answer["msg"] == msg
    assert answer["data"] == {"bean": {}, "list": []}
    assert existing.secret_key not in response.content.decode()
    assert "Traceback" not in answer["msg_show"]
    assert snapshot(existing) == before


@pytest.mark.parametrize("length", ["\u00b2", "\u0663", "12a", "-1"])
def test_a_content_length_that_is_not_ascii_digits_is_refused_not_a_500(client, existing, length):
    response = client.generic(
        "PUT",
        f"/console/third_party/{existing.service_id}",
        data=b'{"ip": "10.0.0.9"}',
        content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert response.status_code == 413 and response.json()["msg"] == "body_too_large"
    assert not Instance.objects.filter(host="10.0.0.9").exists()


@pytest.mark.parametrize("service_id", ["0" * 32, "not-an-id", "A" * 32, "x" * 500])
def test_an_unknown_component_id_is_404_not_a_500(client, service_id):
    response = client.put(
        f"/console/third_party/{service_id}",
        data=json.dumps({"secret_key": "k", "ip": "10.0.0.7"}),
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["msg"] == "component_not_found"


def test_a_component_without_api_registration_answers_409(client, static_component):
    response = client.get(f"/console/third_party/{static_component.service_id}", {"secret_key": "anything"})
    assert response.status_code == 409
    assert response.json()["msg"] == "not_api_registration"


def test_the_405_names_the_allowed_methods(client, api_component):
    response = client.post(
        f"/console/third_party/{api_component.service_id}", data="{}", content_type="application/json"
    )
    assert response.status_code == 405 and response["Allow"] == "GET, PUT, DELETE"


def test_get_wants_the_secret_too(client, existing):
    response = client.get(f"/console/third_party/{existing.service_id}")
    assert response.status_code == 401 and response.json()["data"]["list"] == []
    wrong = client.get(f"/console/third_party/{existing.service_id}", {"secret_key": "guess"})
    assert wrong.status_code == 401 and "10.0.0.1" not in wrong.content.decode()


def test_there_are_at_least_25_bad_request_cases():
    assert len(CASES) >= 25


_TEXT = st.text(
    st.one_of(st.characters(), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)), max_size=12
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=20,
)
_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "ip": _JSON | st.sampled_from(NON_ASCII_PORTS + DENIED_SPELLINGS),
        "is_online": _JSON,
        "secret_key": _JSON,
    },
)
_BODIES = st.one_of(
    _FIELDS.map(lambda d: json.dumps(d).encode()),
    _JSON.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_BODIES, method=st.sampled_from(["PUT", "DELETE"]), with_key=st.booleans())
def test_no_body_makes_the_instance_api_answer_500(client, existing, body, method, with_key):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {existing.secret_key}"} if with_key else {}
    response = client.generic(
        method,
        f"/console/third_party/{existing.service_id}",
        data=body,
        content_type="application/json",
        **headers,
    )
    assert response.status_code < 500
    assert list(response.json()) == ["msg", "code", "data", "msg_show"]
