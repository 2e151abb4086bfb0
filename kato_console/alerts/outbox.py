"""The alerts' outbox: every delivery is a row that knows its own sending (README, "Alerts").

A delivery is written in the transaction that records its event, with ``next_attempt_at``; after the
commit its first attempt is queued at once (``tasks.queue_first_attempts``). Whatever happens to that
message (a broker out of reach, a worker killed while it waits out a backoff or while it sends), the
row stays ``pending``, and ``claim_due`` hands it out again once it is due: its backoff ran out, its
queued message was not taken within ``KATO_ALERT_REQUEUE_S``, or the lease of its last attempt ran
out. Beat runs the dispatcher every ``KATO_ALERT_DISPATCH_S`` seconds, and each worker once at start.

Each attempt is numbered. A task attempts number *n* only if the row has made *n − 1* attempts and no
attempt holds its lease, in one conditional update: a message that arrives twice, late, or after a
worker was lost never sends twice at once, and a delivery marked sent is never sent again. The
receiver sees the same ``X-Kato-Delivery`` key on every attempt and can drop a repeat of one it saw.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kato_console.alerts import sending
from kato_console.alerts.messages import build_message
from kato_console.alerts.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

SKIPPED = "skipped"
ABANDONED = "Gave up: the last attempt did not finish (the worker sending it stopped)."


def max_attempts() -> int:
    return int(settings.KATO_ALERT_RETRIES) + 1


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``KATO_ALERT_BACKOFF_S`` × 2ⁿ⁻¹."""
    return timedelta(seconds=int(settings.KATO_ALERT_BACKOFF_S) * 2 ** max(attempts - 1, 0))


def lease() -> timedelta:
    # An attempt resolves the host, connects and waits for the answer, each within the timeout.
    return timedelta(seconds=2 * int(settings.KATO_ALERT_TIMEOUT_S) + 10)


def requeue_after() -> timedelta:
    return timedelta(seconds=int(settings.KATO_ALERT_REQUEUE_S))


def first_attempt_at() -> datetime:
    """When a new delivery becomes due for the dispatcher: its first attempt is queued at the commit,
    so the dispatcher takes it only if that message was lost."""
    return timezone.now() + requeue_after()


def _lease_is_free(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim_due(*, limit: int = 500) -> list[tuple[int, int]]:
    """The due deliveries, as (id, number of the attempt to make), oldest first; each is held back for
    ``KATO_ALERT_REQUEUE_S`` so that the next round does not queue it again while its message waits.
    Rows another dispatcher is claiming at the same moment are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        due = list(
            Delivery.objects.filter(
                _lease_is_free(now), status=DeliveryStatus.PENDING, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at")
            .select_for_update(skip_locked=True)
            .values_list("pk", "attempts")[:limit]
        )
        Delivery.objects.filter(pk__in=[pk for pk, _ in due]).update(next_attempt_at=now + requeue_after())
    return [(pk, attempts + 1) for pk, attempts in due]


def dispatch(*, enqueue: Callable[[int, int], object]) -> int:
    """Queue an attempt of every due delivery; returns how many. A broker error stops the round: the
    rows it did not queue are due again after ``KATO_ALERT_REQUEUE_S``."""
    claimed = claim_due()
    for delivery_id, attempt in claimed:
        enqueue(delivery_id, attempt)
    return len(claimed)


def attempt(*, delivery_id: int, number: int) -> str:
    """Make attempt ``number`` of a delivery and record it; returns the delivery's status after it
    (``pending`` while attempts are left), or ``skipped`` when this attempt is not to be made.

    Not one transaction: the attempt is claimed and recorded in two short ones, and the network call
    between them holds no database lock.
    """
    delivery = _claim(delivery_id, number)
    if delivery is None:
        return SKIPPED
    try:
        message = build_message(delivery)
    except sending.SendError as error:
        return _record(delivery, error=str(error), final=True)
    try:
        sending.send(
            message,
            timeout_s=float(settings.KATO_ALERT_TIMEOUT_S),
            denied_networks=settings.KATO_DENIED_NETWORKS,
        )
    except sending.SendError as error:
        return _record(delivery, error=str(error), final=number >= max_attempts() or not error.retry)
    return _record(delivery, error="", final=True)


@transaction.atomic
def _claim(delivery_id: int, number: int) -> Delivery | None:
    """The delivery, leased for this attempt, if it is pending, made ``number − 1`` attempts and no
    attempt holds it; a delivery whose last allowed attempt was abandoned is marked failed."""
    now = timezone.now()
    mine = Delivery.objects.filter(
        _lease_is_free(now), pk=delivery_id, status=DeliveryStatus.PENDING, attempts=number - 1
    )
    if number > max_attempts():
        mine.update(status=DeliveryStatus.FAILED, lease_until=None, last_error=ABANDONED, updated_at=now)
        return None
    if mine.update(attempts=number, lease_until=now + lease(), updated_at=now) != 1:
        return None
    return Delivery.objects.select_related("channel__team").get(pk=delivery_id)


def _record(delivery: Delivery, *, error: str, final: bool) -> str:
    """Record the attempt's outcome, if this attempt still holds the delivery; returns the status."""
    now = timezone.now()
    status = DeliveryStatus.SENT if not error else DeliveryStatus.FAILED if final else DeliveryStatus.PENDING
    recorded = Delivery.objects.filter(
        pk=delivery.pk, status=DeliveryStatus.PENDING, attempts=delivery.attempts
    ).update(
        status=status,
        last_error=error[:500],
        lease_until=None,
        next_attempt_at=now + backoff(delivery.attempts),
        sent_at=now if status == DeliveryStatus.SENT else None,
        updated_at=now,
    )
    if not recorded:
        return SKIPPED
    if error:
        logger.warning(
            "Alert delivery %s to channel %s, attempt %s: %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
            error,
        )
    else:
        logger.info(
            "Alert delivery %s to channel %s sent, attempt %s",
            delivery.pk,
            delivery.channel_id,
            delivery.attempts,
        )
    return str(status)
