"""The delivery table is the outbox: nothing a broker or a worker loses stays unsent.

These tests run the tasks eagerly where they say so; the worker and the broker going away for real
are in ``test_outbox_faults.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from kato_console.alerts import outbox, services, tasks
from kato_console.alerts.models import Delivery, NotificationChannel
from kato_console.celery import app as celery_app
from tests.alerts import support
from tests.alerts.test_delivery import _transition

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker_out_of_reach() -> Iterator[None]:
    """The console's Celery publishes to a Redis address where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with support.publishing_to(f"redis://127.0.0.1:{port}/0"):
        yield


def test_a_transition_recorded_while_the_broker_is_away_is_sent_by_the_dispatcher_later(
    webhook, receiver, static_component, django_capture_on_commit_callbacks, broker_out_of_reach
) -> None:
    later: list[str] = []
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])
        transaction.on_commit(lambda: later.append("ran"))

    assert later == ["ran"]  # the failed publish did not skip the commit's other hooks
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("pending", 0)

    celery_app.conf.task_always_eager = True  # the broker is back
    support.backoff_runs_out()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("sent", 1)
    assert [request.headers["X-Kato-Delivery"] for request in receiver.requests] == [delivery.key]


def test_a_message_that_arrives_twice_sends_once(
    webhook, receiver, static_component, django_capture_on_commit_callbacks, eager_celery
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        [delivery_id] = services.deliveries_for_transitions(transitions=[_transition(static_component)])
    assert tasks.deliver.delay(delivery_id, 1).get() == outbox.SKIPPED

    assert len(receiver.requests) == 1
    assert Delivery.objects.get().attempts == 1


def test_an_attempt_under_way_is_not_made_again_until_its_lease_runs_out(
    webhook, receiver, static_component
) -> None:
    [delivery_id] = services.deliveries_for_transitions(transitions=[_transition(static_component)])
    # A worker claimed the first attempt, and was killed while it sent.
    Delivery.objects.filter(pk=delivery_id).update(
        attempts=1, lease_until=timezone.now() + timedelta(minutes=1), next_attempt_at=timezone.now()
    )
    assert outbox.claim_due() == []
    assert outbox.attempt(delivery_id=delivery_id, number=2) == outbox.SKIPPED

    Delivery.objects.filter(pk=delivery_id).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert outbox.claim_due() == [(delivery_id, 2)]
    assert outbox.claim_due() == []  # queued once: held back while its message waits
    assert outbox.attempt(delivery_id=delivery_id, number=2) == "sent"

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.lease_until) == ("sent", 2, None)
    [request] = receiver.requests
    assert request.headers["X-Kato-Delivery"] == delivery.key


def test_a_failed_attempt_waits_out_its_backoff_in_the_row(
    webhook, receiver, static_component, settings
) -> None:
    settings.KATO_ALERT_BACKOFF_S = 30
    receiver.answers = [500, 200]
    [delivery_id] = services.deliveries_for_transitions(transitions=[_transition(static_component)])
    before = timezone.now()
    assert outbox.attempt(delivery_id=delivery_id, number=1) == "pending"

    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at >= before + timedelta(seconds=30)
    assert (delivery.attempts, delivery.lease_until, delivery.last_error) == (
        1,
        None,
        "127.0.0.1 answered 500.",
    )
    assert outbox.claim_due() == []


def test_a_delivery_whose_last_attempt_was_abandoned_is_marked_failed(
    webhook, receiver, static_component, settings
) -> None:
    settings.KATO_ALERT_RETRIES = 1
    [delivery_id] = services.deliveries_for_transitions(transitions=[_transition(static_component)])
    Delivery.objects.filter(pk=delivery_id).update(attempts=2, next_attempt_at=timezone.now())

    [(_, number)] = outbox.claim_due()
    assert outbox.attempt(delivery_id=delivery_id, number=number) == outbox.SKIPPED
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error) == ("failed", outbox.ABANDONED)
    assert receiver.requests == []


def test_an_email_that_cannot_be_built_is_marked_failed_with_its_reason(
    team, alice_actor, smtp_server, static_component, django_capture_on_commit_callbacks, eager_celery
) -> None:
    channel = services.channel_create(
        team=team, actor=alice_actor, name="Mail", kind="email", target="ops@example.test"
    )
    # A recipient saved before addresses were checked as strictly as today.
    NotificationChannel.objects.filter(pk=channel.pk).update(target="ops@example.test\nBcc: x@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        services.deliveries_for_transitions(transitions=[_transition(static_component)])

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert delivery.last_error.startswith("The email could not be built")
    assert smtp_server.messages == []
