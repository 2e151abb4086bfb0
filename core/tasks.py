"""Celery tasks of the audit trail: the retention prune, and its beat entry (README, Configuration)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from core.audit import audit_prune

AUDIT_PRUNE_TASK = "core.tasks.audit_prune_task"
AUDIT_PRUNE_NAME = "Audit trail: delete events older than KATO_AUDIT_RETENTION_DAYS"


@shared_task(ignore_result=True, name=AUDIT_PRUNE_TASK)
def audit_prune_task() -> int:
    """Delete the audit events older than ``KATO_AUDIT_RETENTION_DAYS`` in batches; returns how many."""
    return audit_prune(older_than_days=settings.KATO_AUDIT_RETENTION_DAYS)


def ensure_prune_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the daily beat entry of the prune when there is none (connected to post_migrate).

    As with the sweep's entry, an existing one is left as the operator set it (its interval, or
    disabled); a deleted one comes back at the next ``migrate``.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # migrating only part of the way: django_celery_beat's tables are not there yet
    tasks = PeriodicTask.objects.using(using)
    if tasks.filter(task=AUDIT_PRUNE_TASK).exists():
        return
    daily, _ = IntervalSchedule.objects.using(using).get_or_create(every=1, period=IntervalSchedule.DAYS)
    tasks.create(
        name=AUDIT_PRUNE_NAME,
        task=AUDIT_PRUNE_TASK,
        interval=daily,
        # A prune that waited a day is replaced by the next one.
        expire_seconds=86_400,
        description=(
            "Deletes the audit events older than KATO_AUDIT_RETENTION_DAYS (0 keeps them all), "
            "10,000 at a time. Disable rather than delete (it is re-created at migrate)."
        ),
    )
