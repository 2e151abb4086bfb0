"""The delivery of one notification, as a Celery task with retries and exponential backoff.

The task takes the delivery's id; the work is in ``services.delivery_attempt``, which records every
attempt on the delivery. A failed attempt is retried after ``KATO_ALERT_BACKOFF_S`` × 2ⁿ seconds,
at most ``KATO_ALERT_RETRIES`` times; then the delivery is marked failed.
"""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver(self: Any, delivery_id: int) -> str:
    """Send one delivery; returns its status (sent, failed, pending while retries are left)."""
    from kato_console.alerts import services

    retries = self.request.retries
    last_try = retries >= settings.KATO_ALERT_RETRIES
    status = services.delivery_attempt(delivery_id=delivery_id, last_try=last_try)
    if status == services.RETRY:
        raise self.retry(countdown=settings.KATO_ALERT_BACKOFF_S * 2**retries)
    return status
