"""``/metrics``: who may read it, and what Prometheus finds there."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from components import services
from core.audit import Actor
from instances import history
from instances.models import Health, Instance
from kato_console.monitoring.counting import COUNTS
from kato_console.monitoring.models import InstanceApiRequests, SweepRound
from tests.instances import sweeping
from tests.instances.sweeping import add_instance, checked_component, refused_instance, served_instance

pytestmark = [pytest.mark.django_db]
serve = sweeping.serve
no_jitter = sweeping.no_jitter

TOKEN = "scrape-token-0123456789"


@pytest.fixture
def token(settings: Any) -> str:
    settings.KATO_METRICS_TOKEN = TOKEN
    settings.KATO_METRICS_ALLOWED_NETWORKS = []
    return TOKEN


def scrape(client: Client, token: str = TOKEN, **extra: Any) -> dict[str, list[Any]]:
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    families = text_string_to_metric_families(response.content.decode())
    return {family.name: family.samples for family in families}


def values(samples: list[Any], name: str) -> dict[str, float]:
    return {sample.labels["address"]: sample.value for sample in samples if sample.name == name}


# Who may read it


def test_it_is_refused_with_how_to_enable_it_when_neither_setting_is_set(
    client: Client, settings: Any
) -> None:
    settings.KATO_METRICS_TOKEN = ""
    settings.KATO_METRICS_ALLOWED_NETWORKS = []

    response = client.get("/metrics")

    assert response.status_code == 403
    assert "KATO_METRICS_TOKEN" in response.content.decode()
    assert "KATO_METRICS_ALLOWED_NETWORKS" in response.content.decode()


@pytest.mark.parametrize("header", ["", "Bearer wrong-token", f"Token {TOKEN}", f"Bearer {TOKEN}x"])
def test_it_refuses_a_scrape_without_the_right_bearer_token(client: Client, token: str, header: str) -> None:
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert TOKEN not in response.content.decode()


def test_it_answers_a_scrape_with_the_bearer_token(client: Client, token: str) -> None:
    assert "kato_instance_api_requests" in scrape(client)


def test_it_answers_only_the_allowed_networks_when_they_are_set(client: Client, settings: Any) -> None:
    settings.KATO_METRICS_TOKEN = ""
    settings.KATO_METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("10.1.0.0/16")]

    inside = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    outside = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert inside.status_code == 200
    assert outside.status_code == 403
    assert "KATO_METRICS_ALLOWED_NETWORKS" in outside.content.decode()


def test_it_asks_for_both_the_network_and_the_token_when_both_are_set(client: Client, settings: Any) -> None:
    settings.KATO_METRICS_TOKEN = TOKEN
    settings.KATO_METRICS_ALLOWED_NETWORKS = [__import__("ipaddress").ip_network("127.0.0.0/8")]

    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert (
        client.get("/metrics", REMOTE_ADDR="10.9.9.9", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code
        == 403
    )
    assert scrape(client, REMOTE_ADDR="127.0.0.1")


# What it shows


def test_it_shows_up_1_for_healthy_0_for_unhealthy_and_nothing_for_offline_or_not_ready(
    client: Client, token: str, application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, name="mysql", port=3306)
    healthy = add_instance(component, "10.0.0.1", alice_actor)
    unhealthy = add_instance(component, "[2001:db8::7]:3307", alice_actor)
    add_instance(component, "10.0.0.3", alice_actor)  # not ready: never probed
    offline = add_instance(component, "10.0.0.4", alice_actor, is_online=False)
    Instance.objects.filter(pk=healthy.pk).update(health=Health.HEALTHY, latency_ms=2.5)
    Instance.objects.filter(pk=unhealthy.pk).update(health=Health.UNHEALTHY)
    Instance.objects.filter(pk=offline.pk).update(health=Health.HEALTHY, latency_ms=1.0)

    samples = scrape(client)

    assert values(samples["kato_instance_up"], "kato_instance_up") == {
        "10.0.0.1:3306": 1.0,
        "[2001:db8::7]:3307": 0.0,
    }
    assert values(samples["kato_instance_probe_latency_seconds"], "kato_instance_probe_latency_seconds") == {
        "10.0.0.1:3306": 0.0025
    }
    assert samples["kato_instance_up"][0].labels == {
        "team": "payments",
        "application": "shop",
        "component": "mysql",
        "address": "10.0.0.1:3306",
    }


def test_it_shows_nothing_for_an_instance_whose_health_check_is_off(
    client: Client, token: str, application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, name="legacy", enabled=False)
    instance = add_instance(component, "10.0.0.9:80", alice_actor)
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)

    assert scrape(client)["kato_instance_up"] == []


@pytest.mark.usefixtures("no_jitter")
def test_it_shows_the_sweeps_last_round(
    client: Client, token: str, application, alice_actor: Actor, serve
) -> None:
    _, component, _ = served_instance(serve, application, alice_actor)
    refused_instance(component, alice_actor)

    sweeping.sweep_rounds(1)

    samples = scrape(client)
    assert samples["kato_sweep_last_round_probes"][0].value == 2
    assert samples["kato_sweep_last_round_duration_seconds"][0].value == SweepRound.objects.get().seconds > 0
    assert samples["kato_sweep_last_round_timestamp_seconds"][0].value > 0
    assert SweepRound.objects.count() == 1


@pytest.mark.usefixtures("no_jitter")
def test_it_shows_each_component_s_uptime_over_each_window(
    client: Client, token: str, application, alice_actor: Actor, serve
) -> None:
    _, component, _ = served_instance(serve, application, alice_actor, name="mysql")
    refused_instance(component, alice_actor)
    checked_component(application, alice_actor, name="never-probed")

    sweeping.sweep_rounds(2)
    history.upkeep()

    samples = scrape(client)["kato_component_uptime_percent"]
    assert {(sample.labels["component"], sample.labels["window"]): sample.value for sample in samples} == {
        ("mysql", "24h"): 50.0,
        ("mysql", "7d"): 50.0,
        ("mysql", "30d"): 50.0,
    }
    assert samples[0].labels["team"] == application.team.slug


@pytest.fixture
def no_counts_yet() -> None:
    # Other tests' requests may still be counted in this process: store them (in this test's
    # transaction, rolled back afterwards) and start from nothing.
    COUNTS.flush()
    InstanceApiRequests.objects.all().delete()


@pytest.mark.usefixtures("no_counts_yet")
def test_it_counts_the_instance_apis_answers_by_status(
    client: Client, token: str, settings: Any, api_component
) -> None:
    settings.KATO_METRICS_FLUSH_S = 0
    url = f"/console/third_party/{api_component.service_id}"
    good = {"secret_key": api_component.secret_key, "ip": "10.0.0.7", "is_online": True}
    bad = {**good, "secret_key": "not-the-secret-key"}

    for body in (good, good, bad):
        client.put(url, data=json.dumps(body), content_type="application/json")

    samples = scrape(client)["kato_instance_api_requests"]
    counts = {s.labels["status"]: s.value for s in samples if s.name == "kato_instance_api_requests_total"}
    assert counts["200"] == 2
    assert sum(counts.values()) == 3
    assert InstanceApiRequests.objects.get(status=200).count == 2


@pytest.mark.usefixtures("no_counts_yet")
def test_it_keeps_the_counts_in_memory_until_the_flush_interval_is_over(
    client: Client, token: str, settings: Any, api_component
) -> None:
    settings.KATO_METRICS_FLUSH_S = 3600
    url = f"/console/third_party/{api_component.service_id}"

    client.put(url, data="{}", content_type="application/json")

    assert not InstanceApiRequests.objects.exists()
    COUNTS.flush()
    assert InstanceApiRequests.objects.get().count == 1


def test_it_never_shows_a_secret(client: Client, token: str, mysql_with_secret) -> None:
    text = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content.decode()

    assert mysql_with_secret.secret_key not in text
    assert "s3cret-password" not in text


@pytest.fixture
def mysql_with_secret(api_component, alice_actor: Actor):
    services.env_var_set(
        component=api_component, name="DB_PASSWORD", value="s3cret-password", secret=True, actor=alice_actor
    )
    instance = add_instance(api_component, "10.0.0.8:3306", alice_actor)
    Instance.objects.filter(pk=instance.pk).update(health=Health.HEALTHY)
    return api_component


def test_a_scrape_costs_the_same_queries_for_one_instance_or_thirty(
    client: Client, token: str, application, alice_actor: Actor, django_assert_max_num_queries
) -> None:
    component = checked_component(application, alice_actor, name="mysql", port=3306)
    for n in range(30):
        Instance.objects.filter(pk=add_instance(component, f"10.0.1.{n}", alice_actor).pk).update(
            health=Health.HEALTHY
        )

    with django_assert_max_num_queries(6):
        assert len(scrape(client)["kato_instance_up"]) == 30
