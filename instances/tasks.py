"""Celery tasks of the sweep, and the beat schedule that runs it (docs/architecture.md, "A sweep round").

The tasks are thin: ``sweep_tick`` (run by beat every ``KATO_SWEEP_TICK_S`` seconds) claims the
due instances and enqueues one ``sweep_chunk`` per ``KATO_SWEEP_CHUNK`` of them, which any worker
on the broker runs. The work is in ``instances.sweep``.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_init
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from instances import history, maintenance, sweep

SWEEP_TICK_TASK = "instances.tasks.sweep_tick"
SWEEP_TICK_NAME = "Connectivity tests: sweep tick"
HISTORY_UPKEEP_TASK = "instances.tasks.history_upkeep"
HISTORY_UPKEEP_NAME = "Connectivity history: hour and day rows, retention"
HISTORY_UPKEEP_EVERY_S = 300
MAINTENANCE_TICK_TASK = "instances.tasks.maintenance_tick"
MAINTENANCE_TICK_NAME = "Maintenance windows: start and end"

logger = logging.getLogger(__name__)


@worker_init.connect
def raise_open_files_limit(**kwargs: Any) -> None:
    """At worker start, before the pool's processes are forked (they inherit it): every probe
    holds a socket, so the open-files limit bounds how many run at once ("auto" concurrency)."""
    before, after = sweep.raise_open_files_limit()
    logger.info(
        "Open files limit: %s (was %s); up to %s probes at once per worker process "
        "(KATO_PROBE_CONCURRENCY=%s).",
        after,
        before,
        sweep.probe_concurrency(),
        settings.KATO_PROBE_CONCURRENCY,
    )


@shared_task(ignore_result=True)
def sweep_tick() -> int:
    """Claim the due instances and enqueue their probes in chunks; returns how many were claimed."""
    return sweep.dispatch_round(enqueue=sweep_chunk.delay)


@shared_task(ignore_result=True)
def sweep_chunk(claims: list[list[Any]]) -> int:
    """Probe one chunk of claimed instances and record the results; returns how many were probed."""
    return len(sweep.run_claims(sweep.claims_from_payload(claims)).results)


@shared_task(ignore_result=True, name=HISTORY_UPKEEP_TASK)
def history_upkeep() -> int:
    """Compute the recent hour and day rows of the probe history and delete the rows past their
    retention; returns how many rows were deleted."""
    return history.upkeep().deleted


@shared_task(ignore_result=True, name=MAINTENANCE_TICK_TASK)
def maintenance_tick() -> list[int]:
    """Start the maintenance windows that began and end those that ended; returns [started, ended]."""
    return list(maintenance.tick())


def ensure_sweep_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the beat entry of the sweep tick when there is none (connected to post_migrate).

    An existing entry is never touched, so an operator can change its interval, or disable it, in
    the admin (Periodic tasks) and keep the change across restarts and migrations. Deleting it
    brings it back, with ``KATO_SWEEP_TICK_S``, at the next ``migrate``: disable it instead.
    """
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # migrating only part of the way: django_celery_beat's tables are not there yet
    tasks = PeriodicTask.objects.using(using)
    if tasks.filter(task=SWEEP_TICK_TASK).exists():
        return
    every = settings.KATO_SWEEP_TICK_S
    interval, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=every, period=IntervalSchedule.SECONDS
    )
    tasks.create(
        name=SWEEP_TICK_NAME,
        task=SWEEP_TICK_TASK,
        interval=interval,
        # A tick that waited longer than the next one is useless: the next one does its work.
        expire_seconds=every,
        description=(
            "Claims the instances whose connectivity test is due and enqueues their probes. "
            "Change the interval here; disable rather than delete (it is re-created at migrate)."
        ),
    )


@shared_task(ignore_result=True)
def probe_now(instance_ids: list[int], user_id: int | None = None, remote_addr: str | None = None) -> int:
    """Finish a "Probe now" whose request stopped waiting: probe these instances, without a time
    limit, and record the results; returns how many were probed."""
    from django.contrib.auth import get_user_model

    from core.audit import Actor
    from instances.models import Instance

    user = get_user_model().objects.filter(pk=user_id).first() if user_id is not None else None
    actor = Actor.for_user(user, remote_addr) if user is not None else Actor.system()
    instances = Instance.objects.filter(pk__in=instance_ids, is_online=True)
    # In the worker nothing waits for the answer: no time limit but the check's own timeout.
    return len(sweep.probe_instances_now(instances=instances, actor=actor, wait_s=sweep.NO_LIMIT))


def ensure_history_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the beat entry of the history's upkeep when there is none (connected to post_migrate);
    an existing one is left as the operator set it, as with the sweep's."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    tasks = PeriodicTask.objects.using(using)
    if tasks.filter(task=HISTORY_UPKEEP_TASK).exists():
        return
    interval, _ = IntervalSchedule.objects.using(using).get_or_create(
        every=HISTORY_UPKEEP_EVERY_S, period=IntervalSchedule.SECONDS
    )
    tasks.create(
        name=HISTORY_UPKEEP_NAME,
        task=HISTORY_UPKEEP_TASK,
        interval=interval,
        expire_seconds=HISTORY_UPKEEP_EVERY_S,
        description=(
            "Computes the probe history's hour and day rows of the last hour from the minute rows, "
            "and deletes minute rows after 48 hours, hour rows after 90 days, day rows after two "
            "years. Keep it under an hour apart; disable rather than delete (re-created at migrate)."
        ),
    )


def ensure_maintenance_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the minutely beat entry of the maintenance windows when there is none (post_migrate)."""
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return
    every, _ = IntervalSchedule.objects.using(using).get_or_create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.using(using).get_or_create(
        task=MAINTENANCE_TICK_TASK,
        defaults={
            "name": MAINTENANCE_TICK_NAME,
            "interval": every,
            "expire_seconds": 60,
            "description": (
                "Starts the maintenance windows that began (taking instances out of routing when the "
                "window asks) and ends those that ended. Disable rather than delete (re-created at migrate)."
            ),
        },
    )
