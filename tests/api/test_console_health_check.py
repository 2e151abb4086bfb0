"""/api/v1/components/<service_id>/health-check and …/probe."""

from __future__ import annotations

import socket

import pytest

from core import services as accounts
from core.models import AuditEvent, Role
from instances.addresses import parse_address
from instances.models import HealthCheck, Instance, Source
from instances.services import instance_add
from tests.api.conftest import token_client, url

pytestmark = pytest.mark.django_db


def test_it_reads_the_health_check(api, static_component):
    response = api.get(url(static_component, "/health-check"))
    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("enabled", "kind", "path", "interval_s", "timeout_s")} == {
        "enabled": True,
        "kind": "tcp",
        "path": "/",
        "interval_s": 10,
        "timeout_s": 3,
    }
    assert (body["success_threshold"], body["failure_threshold"], body["use_credentials"]) == (1, 3, False)
    assert body["warnings"] == []


def test_it_changes_the_health_check_and_keeps_what_is_left_out(api, static_component):
    body = {"kind": "http", "path": "/healthz", "interval_s": 30, "timeout_s": 5, "failure_threshold": 2}
    response = api.put(url(static_component, "/health-check/"), body, format="json")
    assert response.status_code == 200
    assert {k: response.json()[k] for k in body} == body
    check = HealthCheck.objects.get(component=static_component)
    assert (check.kind, check.path, check.interval_s, check.timeout_s, check.failure_threshold) == (
        "http",
        "/healthz",
        30,
        5,
        2,
    )
    assert check.success_threshold == 1
    assert AuditEvent.objects.filter(component=static_component, action="health_check.update").exists()


def test_a_mysql_check_without_credentials_warns_about_blocked_hosts(api, static_component):
    response = api.put(url(static_component, "/health-check"), {"kind": "mysql"}, format="json")
    assert response.status_code == 200
    assert len(response.json()["warnings"]) == 1
    assert "max_connect_errors" in response.json()["warnings"][0]
    response = api.put(url(static_component, "/health-check"), {"use_credentials": True}, format="json")
    assert response.json()["warnings"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "icmp"}, "kind"),
        ({"interval_s": 0}, "interval_s"),
        ({"interval_s": 86401}, "interval_s"),
        ({"timeout_s": 10, "interval_s": 10}, "timeout_s"),
        ({"timeout_s": "soon"}, "timeout_s"),
        ({"success_threshold": 0}, "success_threshold"),
        ({"failure_threshold": 101}, "failure_threshold"),
        ({"interval_s": 4}, "interval_s"),
        ({"timeout_s": 31, "interval_s": 60}, "timeout_s"),
        ({"credential_networks": ["10.0.0.0/33"]}, "credential_networks"),
        ({"credential_networks": "10.0.0.0/8"}, "credential_networks"),
        ({"kind": "http", "path": "healthz"}, "path"),
        ({"enabled": "perhaps"}, "enabled"),
        ({"warnings": "ignored", "interval_s": -1}, "interval_s"),
    ],
)
def test_each_invalid_field_is_a_400_naming_it(api, static_component, body, field):
    response = api.put(url(static_component, "/health-check"), body, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    check = HealthCheck.objects.get(component=static_component)
    assert (check.kind, check.interval_s, check.timeout_s) == ("tcp", 10, 3)


def test_another_team_gets_404_and_a_viewer_403(bob_api, viewer_api, static_component):
    assert bob_api.get(url(static_component, "/health-check")).status_code == 404
    assert (
        bob_api.put(url(static_component, "/health-check"), {"enabled": False}, format="json").status_code
        == 404
    )
    assert viewer_api.get(url(static_component, "/health-check")).status_code == 200
    assert (
        viewer_api.put(url(static_component, "/health-check"), {"enabled": False}, format="json").status_code
        == 403
    )
    assert viewer_api.post(url(static_component, "/probe")).status_code == 403
    assert HealthCheck.objects.get(component=static_component).enabled is True


def test_probe_now_answers_each_online_instance_with_its_result(
    api, static_component, alice_actor, tcp_listener
):
    host, port = tcp_listener
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        closed_port = closed.getsockname()[1]
    up = instance_add(component=static_component, address=parse_address(f"{host}:{port}"), actor=alice_actor)
    instance_add(
        component=static_component, address=parse_address(f"127.0.0.1:{closed_port}"), actor=alice_actor
    )
    instance_add(
        component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor, is_online=False
    )
    response = api.post(url(static_component, "/probe"))
    assert response.status_code == 200, response.json()
    results = {row["instance"]["port"]: row for row in response.json()["results"]}
    assert response.json()["pending"] == []
    assert set(results) == {port, closed_port}
    assert results[port]["ok"] is True and results[port]["latency_ms"] is not None
    assert results[port]["instance"]["status"] == "healthy"
    assert results[closed_port]["ok"] is False and results[closed_port]["stage"] == "connect"
    assert results[closed_port]["error"]
    assert Instance.objects.get(pk=up.pk).health == "healthy"


def test_probe_now_with_nothing_online_answers_an_empty_list(api, static_component):
    response = api.post(url(static_component, "/probe/"))
    assert response.status_code == 200
    assert response.json()["results"] == [] and response.json()["pending"] == []


@pytest.mark.parametrize(
    ("body", "limit"),
    [
        ({"timeout_s": 31, "interval_s": 60}, "less than or equal to 30"),
        ({"interval_s": 4}, "greater than or equal to 5"),
        ({"success_threshold": 101}, "less than or equal to 100"),
    ],
)
def test_it_names_the_limit_a_value_is_outside_of(api, static_component, body, limit):
    response = api.put(url(static_component, "/health-check"), body, format="json")
    assert response.status_code == 400
    assert limit in str(response.json())


@pytest.fixture
def owner_api(django_user_model, team):
    user = django_user_model.objects.create_user(username="olga", password="olga-password-1")
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    return token_client(user)


def test_an_owner_sets_the_credential_networks_in_canonical_form(owner_api, api_component):
    body = {"credential_networks": ["10.0.0.0/8", "192.168.1.7/24", "2001:db8::/32"]}
    response = owner_api.put(url(api_component, "/health-check"), body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["credential_networks"] == ["10.0.0.0/8", "192.168.1.0/24", "2001:db8::/32"]
    assert (
        HealthCheck.objects.get(component=api_component).credential_networks
        == response.json()["credential_networks"]
    )


def test_only_an_owner_changes_the_credential_networks(api, api_component):
    response = api.put(
        url(api_component, "/health-check"), {"credential_networks": ["0.0.0.0/1"]}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "Only owners can change the credential networks."
    assert not HealthCheck.objects.filter(component=api_component, credential_networks=["0.0.0.0/1"]).exists()


def test_it_lists_the_instances_the_credentialed_check_does_not_log_in_to(api, api_component, alice_actor):
    Instance.objects.create(component=api_component, host="203.0.113.9", port=6379, source=Source.API)
    instance_add(component=api_component, address=parse_address("10.0.0.7:6379"), actor=alice_actor)
    body = {"kind": "redis", "use_credentials": True}
    response = api.put(url(api_component, "/health-check"), body, format="json")
    assert response.json()["credentials_withheld"] == ["203.0.113.9:6379"]
    assert "203.0.113.9:6379" in response.json()["warnings"][0]
    instances = {row["address"]: row for row in api.get(url(api_component, "/instances/")).json()["results"]}
    assert "registered through the instance API" in instances["203.0.113.9:6379"]["credentials_withheld"]
    assert instances["10.0.0.7:6379"]["credentials_withheld"] == ""
