"""Certificate alerts: a channel hears once at 21, once at 7 and once at 1 day before a probed
certificate expires, and a renewed certificate starts again. The expiry is read by a real HTTPS
probe of a loopback server whose certificate (trustme) expires in five days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from instances.models import Instance
from kato_console.alerts import services
from kato_console.alerts.models import Delivery
from kato_console.alerts.tasks import CERTIFICATES_TASK, ensure_certificates_schedule
from tests.instances import sweeping
from tests.instances.probe_servers import http_response, short_lived_tls
from tests.instances.sweeping import add_instance, checked_component, sweep_rounds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter", "eager_celery")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


@pytest.fixture
def announce(django_capture_on_commit_callbacks):
    """``deliveries_for_certificates`` as the hourly task runs it: committed, then sent."""

    def run(**options):
        with django_capture_on_commit_callbacks(execute=True):
            return services.deliveries_for_certificates(**options)

    return run


@pytest.fixture
def expiring(serve, application, alice_actor):
    tls, not_after = short_lived_tls(timedelta(days=5))
    server = serve(http_response(200, "OK"), tls=tls)
    component = checked_component(application, alice_actor, name="api", kind="http", verify_tls=False)
    instance = add_instance(component, f"https://localhost:{server.port}", alice_actor)
    sweep_rounds(1)
    return instance, not_after


def test_a_certificate_is_announced_at_the_nearest_threshold_once(
    webhook, receiver, expiring, announce
) -> None:
    instance, not_after = expiring

    announce()
    announce()

    [request] = receiver.requests
    payload = request.json
    assert payload["event"] == "certificate.expiring"
    assert payload["instance"] == instance.address
    assert payload["new_status"] == "expires within 7 days"
    assert payload["expires_at"] == not_after.isoformat()
    assert payload["days_left"] == 4
    [delivery] = Delivery.objects.all()
    assert delivery.summary == (
        f"the TLS certificate of {instance.address} (Shop / api) expires on {not_after:%Y-%m-%d %H:%M} UTC"
    )


def test_the_last_day_and_the_expiry_are_announced_again(webhook, receiver, expiring, announce) -> None:
    _, not_after = expiring

    announce()
    announce(now=not_after - timedelta(hours=20))
    announce(now=not_after - timedelta(hours=2))
    announce(now=not_after + timedelta(hours=1))

    assert [r.json["new_status"] for r in receiver.requests] == [
        "expires within 7 days",
        "expires within 1 days",
        "expired",
    ]


def test_a_renewed_certificate_starts_again_and_a_far_one_says_nothing(
    webhook, receiver, expiring, announce
) -> None:
    instance, not_after = expiring
    announce()

    Instance.objects.filter(pk=instance.pk).update(cert_expires_at=not_after + timedelta(days=90))
    announce()
    Instance.objects.filter(pk=instance.pk).update(cert_expires_at=not_after + timedelta(days=10))
    announce()

    assert [r.json["new_status"] for r in receiver.requests] == [
        "expires within 7 days",
        "expires within 21 days",
    ]


def test_migrate_creates_the_hourly_certificate_check_once(transactional_db) -> None:
    PeriodicTask.objects.filter(task=CERTIFICATES_TASK).delete()
    ensure_certificates_schedule()
    ensure_certificates_schedule()
    [task] = PeriodicTask.objects.filter(task=CERTIFICATES_TASK)
    assert (task.interval.every, task.interval.period) == (1, "hours")
