"""Certificate expiry: what HTTPS checks and database probes over TLS record of the server's
certificate, the overview's warning, and /metrics. Real TLS servers on loopback, each with a
short-lived certificate from a throwaway trustme CA."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

from core.audit import Actor
from instances.probes import ProbeTarget, probe_sync
from tests.components.pages_support import text
from tests.instances import sweeping
from tests.instances.probe_servers import FakeMySQL, FakePostgres, http_response, short_lived_tls
from tests.instances.sweeping import add_instance, checked_component, fresh, sweep_rounds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


def https_instance(serve, application, actor: Actor, valid_for: timedelta, name: str = "api"):
    tls, not_after = short_lived_tls(valid_for)
    server = serve(http_response(200, "OK"), tls=tls)
    component = checked_component(application, actor, name=name, kind="http", verify_tls=False)
    instance = add_instance(component, f"https://localhost:{server.port}", actor)
    return component, instance, not_after


def test_an_https_check_records_when_the_certificate_expires(serve, application, alice_actor) -> None:
    _, instance, not_after = https_instance(serve, application, alice_actor, timedelta(days=5))

    sweep_rounds(1)

    assert fresh(instance).cert_expires_at == not_after


def test_a_probe_that_sees_no_certificate_keeps_the_last_one_seen(serve, application, alice_actor) -> None:
    _, instance, not_after = https_instance(serve, application, alice_actor, timedelta(days=5))
    sweep_rounds(1)

    # The same instance later refuses connections (its port moved, as a hand edit of the row would
    # do, leaving its generation): nothing new is known of its certificate.
    type(instance).objects.filter(pk=instance.pk).update(port=1)
    sweep_rounds(1)

    stored = fresh(instance)
    assert stored.last_stage == "connect"
    assert stored.cert_expires_at == not_after

    assert fresh(instance).cert_expires_at == not_after


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_a_database_probe_that_negotiates_tls_reads_the_certificate_s_expiry(serve, kind: str) -> None:
    tls, not_after = short_lived_tls(timedelta(days=3, hours=2))
    fake: Any = (
        FakePostgres(user="app", password="secret-1", method="password", tls=tls)
        if kind == "postgresql"
        else FakeMySQL(password="secret-1", full_auth=True, tls=tls)
    )
    server = serve(fake)

    result = probe_sync(
        ProbeTarget(kind=kind, host=server.host, port=server.port, username="app", password="secret-1")
    )

    assert result.ok, result
    assert result.cert_expires_at == not_after


def test_a_plain_probe_has_no_certificate(serve) -> None:
    server = serve(http_response(200, "OK"))
    result = probe_sync(ProbeTarget(kind="http", host=server.host, port=server.port))
    assert result.ok and result.cert_expires_at is None


def test_the_overview_warns_of_a_certificate_that_expires_within_the_warning_days(
    serve, application, alice_actor, alice_client, settings
) -> None:
    soon, instance, not_after = https_instance(serve, application, alice_actor, timedelta(days=5))
    later, _, _ = https_instance(serve, application, alice_actor, timedelta(days=60), name="later")
    sweep_rounds(1)

    warned = text(alice_client.get(reverse("component", args=[soon.service_id])))
    quiet = text(alice_client.get(reverse("component", args=[later.service_id])))
    settings.KATO_CERT_WARNING_DAYS = 90
    warned_later = text(alice_client.get(reverse("component", args=[later.service_id])))

    assert "A certificate expires within 21 days:" in warned
    assert f"<code>{instance.address}</code>: expires on {not_after:%Y-%m-%d %H:%M} UTC, in 4" in warned
    assert 'id="certificates"' not in quiet
    assert "A certificate expires within 90 days:" in warned_later


def test_metrics_give_each_certificate_s_expiry_time(
    serve, application, alice_actor, client, settings
) -> None:
    settings.KATO_METRICS_TOKEN = "scrape-token-0123456789"
    settings.KATO_METRICS_ALLOWED_NETWORKS = []
    _, instance, not_after = https_instance(serve, application, alice_actor, timedelta(days=5))
    sweep_rounds(1)

    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-0123456789")

    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    [sample] = families["kato_instance_certificate_expiry_timestamp_seconds"].samples
    assert sample.labels["address"] == instance.address
    assert sample.value == not_after.timestamp()
