"""The project's entries in django-celery-beat's schedule, created at ``migrate`` (post_migrate).

Each app names its entries (the sweep tick, the history upkeep, the audit prune, …) and creates them
through ``ensure_beat_entry``: an entry is created only when none runs its task, so an operator's
change in the admin (Periodic tasks: its interval, or disabled) survives restarts and migrations,
and a deleted entry comes back at the next ``migrate`` (README, Configuration).
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections


def ensure_beat_entry(
    *,
    task: str,
    name: str,
    every: int,
    period: str = "seconds",
    expire_s: int | None = None,
    description: str,
    using: str = DEFAULT_DB_ALIAS,
) -> None:
    """Create the entry running ``task`` every ``every`` ``period`` (django-celery-beat's
    ``IntervalSchedule`` periods: "seconds", "hours", "days") unless one exists; a run that waited
    longer than ``expire_s`` (by default one interval) is dropped, the next does its work."""
    # Imported by the apps' tasks modules, which may load before Django's models are ready.
    from django_celery_beat.models import IntervalSchedule, PeriodicTask  # noqa: PLC0415

    if PeriodicTask._meta.db_table not in connections[using].introspection.table_names():
        return  # migrating only part of the way: django_celery_beat's tables are not there yet
    tasks = PeriodicTask.objects.using(using)
    if tasks.filter(task=task).exists():
        return
    interval, _ = IntervalSchedule.objects.using(using).get_or_create(every=every, period=period)
    seconds = every * {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86_400}[period]
    tasks.create(
        name=name,
        task=task,
        interval=interval,
        expire_seconds=expire_s if expire_s is not None else seconds,
        description=description,
    )
