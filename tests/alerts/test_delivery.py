"""Alerts on health transitions, end to end: a real sweep over a real loopback listener, a real
HTTP receiver, a real SMTP server. The delivery task runs eagerly (``eager_celery``): in the
test's thread, through Celery's own retry machinery, without the backoff's wait."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import time
from datetime import UTC, datetime

import pytest

from core.errors import ComponentError
from core.models import AuditEvent
from instances.health import Claim, record_probe_results
from instances.probes import ProbeResult
from instances.signals import HealthTransition
from instances.sweep import sweep_round
from kato_console.alerts import services
from kato_console.alerts.models import Delivery
from tests.alerts import support
from tests.instances import sweeping
from tests.instances.sweeping import checked_component, served_instance, time_passes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter", "eager_celery")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


def _signature_is_valid(header: str, *, secret: str, key: str, body: bytes) -> bool:
    """What a receiver checks (docs/alerts.md): the HMAC of "<t>.<delivery key>.<body>", and a recent t."""
    fields = dict(part.split("=", 1) for part in header.split(","))
    signed = f"{fields['t']}.{key}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(fields["v1"], expected) and abs(time.time() - int(fields["t"])) < 300


def _transition(
    component, *, instance_id: int = 1, old: str = "healthy", new: str = "unhealthy"
) -> HealthTransition:
    return HealthTransition(
        instance_id=instance_id,
        component_id=component.pk,
        team_id=component.team_id,
        address="10.0.0.7:3306",
        old=old,
        new=new,
        stage="connect",
        error="connection refused",
        at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    )


def test_a_receiver_gets_a_signed_payload_when_a_listener_closes_within_one_sweep(
    serve, application, alice_actor, webhook, receiver, django_capture_on_commit_callbacks, settings
) -> None:
    settings.KATO_PUBLIC_URL = "https://console.example.test"
    server, component, instance = served_instance(serve, application, alice_actor, failure_threshold=1)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_round()
    assert receiver.requests == []  # a new instance passing its first check is not news

    server.close()
    time_passes()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_round()

    [request] = receiver.requests
    assert request.path == "/hooks/kato?team=payments"
    delivery = Delivery.objects.get()
    assert request.headers["X-Kato-Delivery"] == delivery.key
    assert _signature_is_valid(
        request.headers["X-Kato-Signature"], secret=webhook.secret, key=delivery.key, body=request.body
    )
    assert request.json == {
        "event": "instance.unhealthy",
        "team": "Payments",
        "application": application.name,
        "component": component.name,
        "service_id": component.service_id,
        "url": f"https://console.example.test/components/{component.service_id}/",
        "instance": f"127.0.0.1:{server.port}",
        "old_status": "healthy",
        "new_status": "unhealthy",
        "stage": "connect",
        "error": request.json["error"],
        "time": request.json["time"],
        "affected": [],
        "also": [],
    }
    assert request.json["error"]
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 1, "")


def test_a_receiver_that_answers_500_then_200_gets_exactly_one_delivery_after_a_retry(
    team, webhook, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    receiver.answers = [500, 200]
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])
    assert [request.answered for request in receiver.requests] == [500]
    assert Delivery.objects.get().status == "pending"

    support.backoff_runs_out()
    assert [request.answered for request in receiver.requests] == [500, 200]
    assert len({request.headers["X-Kato-Delivery"] for request in receiver.requests}) == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    assert delivery.sent_at is not None


def test_it_gives_up_after_the_last_retry_and_says_why(
    webhook, receiver, static_component, django_capture_on_commit_callbacks, settings
) -> None:
    settings.KATO_ALERT_RETRIES = 2
    receiver.answers = [503]
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])
    for _ in range(3):
        support.backoff_runs_out()

    assert len(receiver.requests) == 3
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    assert delivery.last_error == "127.0.0.1 answered 503."


def test_a_transition_announced_twice_is_delivered_once(
    webhook, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    transition = _transition(static_component)
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[transition])
        services.deliveries_for_transitions(transitions=[transition])

    assert Delivery.objects.count() == 1
    assert len(receiver.requests) == 1


def test_a_channel_for_chosen_components_hears_only_about_them(
    team, alice_actor, receiver, static_component, api_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team,
        actor=alice_actor,
        name="API only",
        kind="webhook",
        target=receiver.url,
        scope="components",
        components=[api_component],
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(
            transitions=[
                _transition(static_component, instance_id=1),
                _transition(api_component, instance_id=2),
            ]
        )

    assert [request.json["component"] for request in receiver.requests] == [api_component.name]


def test_a_disabled_channel_or_another_teams_channel_hears_nothing(
    other_team, alice_actor, webhook, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_update(channel=webhook, actor=alice_actor, enabled=False)
    services.channel_create(
        team=other_team, actor=alice_actor, name="Theirs", kind="webhook", target=receiver.url
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])

    assert receiver.requests == []


def test_it_tells_a_component_status_change_when_asked(
    team, alice_actor, receiver, application, serve, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team,
        actor=alice_actor,
        name="Components",
        kind="webhook",
        target=receiver.url,
        on_instance_transitions=False,
        on_component_status=True,
    )
    server, component, instance = served_instance(serve, application, alice_actor, failure_threshold=1)
    sweep_round()
    server.close()
    time_passes()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_round()

    [request] = receiver.requests
    assert request.json["event"] == "component.unhealthy"
    assert (request.json["old_status"], request.json["new_status"]) == ("healthy", "unhealthy")


def test_a_slack_compatible_webhook_gets_a_text_message(
    team, alice_actor, receiver, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(team=team, actor=alice_actor, name="Slack", kind="slack", target=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])

    [request] = receiver.requests
    assert "X-Kato-Signature" not in request.headers
    text = request.json["text"]
    assert text.startswith(
        f"Kato Console: instance 10.0.0.7:3306 of Shop / {static_component.name} is unhealthy (was healthy)"
    )
    assert f"/components/{static_component.service_id}/" in text


def test_an_email_channel_sends_through_a_real_smtp_server(
    team, alice_actor, smtp_server, static_component, django_capture_on_commit_callbacks
) -> None:
    services.channel_create(
        team=team, actor=alice_actor, name="Mail", kind="email", target="ops@example.test, dba@example.test"
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])

    [(sender, recipients, content)] = smtp_server.messages
    assert sender == "kato@example.test"
    assert recipients == ["ops@example.test", "dba@example.test"]
    assert (
        f"Subject: [Kato Console] instance 10.0.0.7:3306 of Shop / {static_component.name} is unhealthy"
        in content
    )
    assert Delivery.objects.get().status == "sent"


def test_a_webhook_url_in_a_denied_network_is_refused_at_save(team, alice_actor, settings) -> None:
    settings.KATO_DENIED_NETWORKS = [*settings.KATO_DENIED_NETWORKS, *_loopback()]
    with pytest.raises(ComponentError) as refused:
        services.channel_create(
            team=team, actor=alice_actor, name="Local", kind="webhook", target="http://127.0.0.1:9/x"
        )
    assert refused.value.messages == {
        "target": ["The host 127.0.0.1 resolves to 127.0.0.1, in the denied network 127.0.0.0/8."]
    }


def test_the_cloud_metadata_address_is_refused_by_default(team, alice_actor) -> None:
    with pytest.raises(ComponentError, match="denied network 169.254.0.0/16"):
        services.channel_create(
            team=team,
            actor=alice_actor,
            name="Metadata",
            kind="webhook",
            target="http://169.254.169.254/latest/",
        )


def test_a_webhook_url_that_became_denied_is_refused_at_send_without_retrying(
    webhook, receiver, static_component, settings, django_capture_on_commit_callbacks
) -> None:
    settings.KATO_DENIED_NETWORKS = [*settings.KATO_DENIED_NETWORKS, *_loopback()]
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "denied network 127.0.0.0/8" in delivery.last_error


def test_the_payload_audit_and_logs_carry_no_secret(
    team, alice_actor, receiver, static_component, caplog, django_capture_on_commit_callbacks
) -> None:
    slack_url = f"http://127.0.0.1:{receiver.port}/services/T000/B000/hush-hush-token"
    slack = services.channel_create(
        team=team, actor=alice_actor, name="Slack", kind="slack", target=slack_url
    )
    hook = services.channel_create(
        team=team, actor=alice_actor, name="Hook", kind="webhook", target=receiver.url
    )
    receiver.answers = [500, 200]
    with caplog.at_level("DEBUG"), django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])
    with caplog.at_level("DEBUG"):
        support.backoff_runs_out()

    stored = json.dumps(list(AuditEvent.objects.values_list("detail", flat=True)))
    stored += json.dumps(list(Delivery.objects.values_list("payload", "last_error")))
    for secret in (hook.secret, slack.secret, "hush-hush-token", static_component.secret_key or "-none-"):
        assert secret not in stored
        assert secret not in caplog.text
    assert any("attempt 1: 127.0.0.1 answered 500." in line for line in caplog.messages)


def test_it_writes_the_deliveries_with_the_round_and_sends_them_only_after_the_commit(
    application, alice_actor, webhook, receiver
) -> None:
    # The test's transaction never commits: the deliveries are in the outbox, nobody heard of them.
    component = checked_component(application, alice_actor, failure_threshold=1)
    instance = sweeping.add_instance(component, "127.0.0.1:5999", alice_actor)
    record_probe_results(
        [(Claim(instance.pk, instance.generation), ProbeResult(ok=False, stage="connect", error="x"))]
    )

    assert receiver.requests == []
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.status, delivery.attempts) == ("instance.unhealthy", "pending", 0)


def _loopback() -> list:
    return [ipaddress.ip_network("127.0.0.0/8")]
