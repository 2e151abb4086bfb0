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
from django.db import DEFAULT_DB_ALIAS

from core.beat import ensure_beat_entry
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
    """Create the beat entry of the sweep tick when there is none (connected to post_migrate), every
    ``KATO_SWEEP_TICK_S``; an operator changes its interval, or disables it, in the admin."""
    ensure_beat_entry(
        task=SWEEP_TICK_TASK,
        name=SWEEP_TICK_NAME,
        every=settings.KATO_SWEEP_TICK_S,
        description=(
            "Claims the instances whose connectivity test is due and enqueues their probes. "
            "Change the interval here; disable rather than delete (it is re-created at migrate)."
        ),
        using=using,
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
    """Create the beat entry of the history's upkeep when there is none (connected to post_migrate)."""
    ensure_beat_entry(
        task=HISTORY_UPKEEP_TASK,
        name=HISTORY_UPKEEP_NAME,
        every=HISTORY_UPKEEP_EVERY_S,
        description=(
            "Computes the probe history's hour and day rows from the minute rows, from where its last "
            "run stopped, and deletes minute rows after 48 hours, hour rows after 90 days, day rows "
            "after two years. Disable rather than delete (re-created at migrate)."
        ),
        using=using,
    )


def ensure_maintenance_schedule(*, using: str = DEFAULT_DB_ALIAS, **kwargs: Any) -> None:
    """Create the minutely beat entry of the maintenance windows when there is none (post_migrate)."""
    ensure_beat_entry(
        task=MAINTENANCE_TICK_TASK,
        name=MAINTENANCE_TICK_NAME,
        every=60,
        description=(
            "Starts the maintenance windows that began (taking instances out of routing when the "
            "window asks) and ends those that ended. Disable rather than delete (re-created at migrate)."
        ),
        using=using,
    )
