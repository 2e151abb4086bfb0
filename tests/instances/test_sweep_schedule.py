"""The beat entry of the sweep tick: there after migrate, and the operator's changes are kept."""

from __future__ import annotations

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from instances.tasks import SWEEP_TICK_TASK, ensure_sweep_schedule

pytestmark = pytest.mark.django_db


def test_it_is_scheduled_every_tick_after_migrate(settings) -> None:
    task = PeriodicTask.objects.get(task=SWEEP_TICK_TASK)

    assert task.enabled
    assert (task.interval.every, task.interval.period) == (
        settings.KATO_SWEEP_TICK_S,
        IntervalSchedule.SECONDS,
    )


def test_it_keeps_the_interval_an_operator_chose_across_migrations() -> None:
    task = PeriodicTask.objects.get(task=SWEEP_TICK_TASK)
    task.interval = IntervalSchedule.objects.create(every=30, period=IntervalSchedule.SECONDS)
    task.enabled = False
    task.save()

    ensure_sweep_schedule()

    kept = PeriodicTask.objects.get(task=SWEEP_TICK_TASK)
    assert kept.interval.every == 30 and not kept.enabled


def test_it_is_created_again_when_missing(settings) -> None:
    PeriodicTask.objects.filter(task=SWEEP_TICK_TASK).delete()
    settings.KATO_SWEEP_TICK_S = 7

    ensure_sweep_schedule()

    assert PeriodicTask.objects.get(task=SWEEP_TICK_TASK).interval.every == 7
