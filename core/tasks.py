"""Celery tasks of the audit trail: the retention prune, and its beat entry (README, Configuration)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS

from core.audit import audit_prune
from core.beat import ensure_beat_entry

AUDIT_PRUNE_TASK = "core.tasks.audit_prune_task"
AUDIT_PRUNE_NAME = "Audit trail: delete events older than KATO_AUDIT_RETENTION_DAYS"


@shared_task(ignore_result=True, name=AUDIT_PRUNE_TASK)
def audit_prune_task() -> int:
    """Delete the audit events older than ``KATO_AUDIT_RETENTION_DAYS`` in batches; returns how many."""
    return audit_prune(older_than_days=settings.KATO_AUDIT_RETENTION_DAYS)


def ensure_prune_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the daily beat entry of the prune when there is none (connected to post_migrate)."""
    ensure_beat_entry(
        task=AUDIT_PRUNE_TASK,
        name=AUDIT_PRUNE_NAME,
        every=1,
        period="days",
        description=(
            "Deletes the audit events older than KATO_AUDIT_RETENTION_DAYS (0 keeps them all), "
            "10,000 at a time. Disable rather than delete (it is re-created at migrate)."
        ),
        using=using,
    )
