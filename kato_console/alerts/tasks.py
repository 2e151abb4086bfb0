"""Celery tasks of the alerts: one attempt of one delivery, and the outbox's dispatcher (README, "Alerts").

The tasks are thin; the work is in ``outbox``. ``deliver`` is acknowledged only after it ran
(``acks_late``), and given back to the broker when its worker process dies (``reject_on_worker_lost``):
with the outbox's numbered attempts and leases, a message that runs twice is a no-op. Nothing waits
in a worker's memory: after a failed attempt the row holds the time of the next one, and
``dispatch_deliveries`` (beat, every ``KATO_ALERT_DISPATCH_S`` seconds, and each worker at start)
queues whatever is due.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from kombu.exceptions import KombuError

from core.beat import ensure_beat_entry
from kato_console.alerts import outbox

DISPATCH_TASK = "kato_console.alerts.tasks.dispatch_deliveries"
DISPATCH_NAME = "Alerts: send due deliveries"
CERTIFICATES_TASK = "kato_console.alerts.tasks.certificate_notices"
CERTIFICATES_NAME = "Alerts: certificates that expire within 21, 7 or 1 days"

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True, acks_late=True, reject_on_worker_lost=True)
def deliver(delivery_id: int, attempt: int = 1) -> str:
    """Make attempt number ``attempt`` of one delivery; returns its status after it."""
    return outbox.attempt(delivery_id=delivery_id, number=attempt)


@shared_task(ignore_result=True)
def dispatch_deliveries() -> int:
    """Queue an attempt of every due delivery; returns how many."""
    return outbox.dispatch(enqueue=_queue)


def _queue(delivery_id: int, attempt: int) -> None:
    deliver.delay(delivery_id, attempt)


def queue_first_attempts(delivery_ids: list[int]) -> None:
    """Queue the first attempt of new deliveries (after their commit). A broker out of reach is not an
    error here: the deliveries wait in the outbox, and the dispatcher queues them once due."""
    try:
        for delivery_id in delivery_ids:
            _queue(delivery_id, 1)
    except (KombuError, OSError) as error:
        logger.warning(
            "The broker did not take %s new alert deliveries (%s); they are queued again within %s s.",
            len(delivery_ids),
            type(error).__name__,
            settings.KATO_ALERT_REQUEUE_S,
        )


@shared_task(ignore_result=True, name=CERTIFICATES_TASK)
def certificate_notices() -> int:
    """Notify the channels of every probed certificate that came within 21, 7 or 1 days of its
    expiry (once per certificate and threshold); returns how many deliveries were made."""
    from kato_console.alerts.services import deliveries_for_certificates

    return len(deliveries_for_certificates())


@worker_ready.connect
def dispatch_at_worker_start(**kwargs: Any) -> None:
    """A worker that starts (after a crash, say) sends what is due at once, without waiting for beat."""
    try:
        count = outbox.dispatch(enqueue=_queue)
    except Exception:  # the worker starts anyway; beat's dispatcher tries again
        logger.exception("Alerts: the deliveries due could not be queued at worker start.")
        return
    finally:
        connections.close_all()  # the worker's main process runs no other query
    if count:
        logger.info("Alerts: queued %s due deliveries at worker start.", count)


def ensure_dispatch_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the dispatcher's beat entry when there is none (connected to post_migrate)."""
    ensure_beat_entry(
        task=DISPATCH_TASK,
        name=DISPATCH_NAME,
        every=settings.KATO_ALERT_DISPATCH_S,
        description=(
            "Queues the alert deliveries that are due: retries after their backoff, and attempts "
            "a broker or a worker lost. Disable rather than delete (it is re-created at migrate)."
        ),
        using=using,
    )


def ensure_certificates_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the hourly beat entry of the certificate notices when there is none (post_migrate)."""
    ensure_beat_entry(
        task=CERTIFICATES_TASK,
        name=CERTIFICATES_NAME,
        every=1,
        period="hours",
        description=(
            "Notifies the channels of each probed TLS certificate that expires within 21, 7 or 1 "
            "days, once per certificate and threshold. Disable rather than delete (re-created at migrate)."
        ),
        using=using,
    )
