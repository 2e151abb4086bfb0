"""The retention of the audit trail: old events go, in batches, by a daily beat task."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.audit import audit_prune
from core.models import AuditEvent
from core.tasks import AUDIT_PRUNE_TASK, audit_prune_task, ensure_prune_schedule

pytestmark = pytest.mark.django_db


def _events(team, *, days_old: int, count: int) -> list[int]:
    events = AuditEvent.objects.bulk_create(
        AuditEvent(team=team, actor="system", action="instance.healthy") for _ in range(count)
    )
    ids = [event.pk for event in events]
    # created_at is set on insert (auto_now_add): age the rows afterwards.
    AuditEvent.objects.filter(pk__in=ids).update(created_at=timezone.now() - timedelta(days=days_old))
    return ids


def _seeded() -> int:
    """The events ``_events`` wrote that are left (the fixtures' own events are recent ones)."""
    return AuditEvent.objects.filter(action="instance.healthy").count()


def test_it_deletes_only_the_events_older_than_the_retention(team) -> None:
    recent = list(AuditEvent.objects.values_list("pk", flat=True))  # the team's creation: kept
    old = _events(team, days_old=400, count=3)
    kept = _events(team, days_old=300, count=2)

    assert audit_prune(older_than_days=365) == 3

    assert sorted(AuditEvent.objects.values_list("pk", flat=True)) == sorted(recent + kept)
    assert not AuditEvent.objects.filter(pk__in=old).exists()


def test_it_deletes_in_batches_of_bounded_statements(team) -> None:
    _events(team, days_old=400, count=5)
    _events(team, days_old=10, count=1)

    with CaptureQueriesContext(connection) as queries:
        deleted = audit_prune(older_than_days=365, batch_size=2)

    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert deleted == 5 and _seeded() == 1
    # 2 + 2 + 1: three statements, each limited to one batch.
    assert len(deletes) == 3
    assert all("LIMIT 2" in sql for sql in deletes)


def test_zero_days_keeps_everything(team, settings) -> None:
    _events(team, days_old=4000, count=2)
    settings.KATO_AUDIT_RETENTION_DAYS = 0

    assert audit_prune_task() == 0
    assert _seeded() == 2


def test_the_task_uses_the_retention_setting(team, settings) -> None:
    _events(team, days_old=40, count=2)
    _events(team, days_old=20, count=1)
    settings.KATO_AUDIT_RETENTION_DAYS = 30

    assert audit_prune_task() == 2
    assert _seeded() == 1


def test_the_prune_is_scheduled_daily_after_migrate() -> None:
    task = PeriodicTask.objects.get(task=AUDIT_PRUNE_TASK)

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, IntervalSchedule.DAYS)


def test_it_keeps_an_operators_change_and_comes_back_when_deleted() -> None:
    task = PeriodicTask.objects.get(task=AUDIT_PRUNE_TASK)
    task.enabled = False
    task.save()
    ensure_prune_schedule()
    assert not PeriodicTask.objects.get(task=AUDIT_PRUNE_TASK).enabled

    PeriodicTask.objects.filter(task=AUDIT_PRUNE_TASK).delete()
    ensure_prune_schedule()
    assert PeriodicTask.objects.get(task=AUDIT_PRUNE_TASK).enabled


def test_the_worker_knows_the_task() -> None:
    from kato_console.celery import app

    app.loader.import_default_modules()
    assert AUDIT_PRUNE_TASK in app.tasks
