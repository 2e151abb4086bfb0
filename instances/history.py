"""Each instance's probe history, in rows of bounded number (docs/monitoring.md, "History").

The sweep adds each recorded round to the instances' minute rows with one ``INSERT … ON CONFLICT``
(``record_round``), in the round's transaction. ``upkeep`` (a beat task, every few minutes)
computes the hour rows from the minute rows and the day rows from the hour rows, for the hours
and days that may have changed since its last run, and deletes the rows older than their
period's retention (48 hours, 90 days, two years). So the table holds at most about
2 × 1,440 + 90 × 24 + 730 rows per instance, however often it is probed.

The readers: ``uptime`` (the share of passing probes over 24 hours, 7 days and 30 days, by
instance or summed by component) and ``series`` (a chart's points over 24 h, 7 d, 30 d or a year).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from django.db import connection, transaction
from django.db.models import Max, Q, QuerySet, Sum
from django.utils import timezone

from components.models import Component
from instances.models import RETENTION_S, Instance, InstanceHistory, Period

T = TypeVar("T", Instance, Component)

# The windows of the uptime figures, and the period whose rows each is summed from.
UPTIME_WINDOWS: dict[str, tuple[timedelta, Period]] = {
    "24h": (timedelta(hours=24), Period.HOUR),
    "7d": (timedelta(days=7), Period.HOUR),
    "30d": (timedelta(days=30), Period.DAY),
}


@dataclass(frozen=True)
class Window:
    """A chart's span: which rows it reads, and how many seconds each of its points covers."""

    key: str
    label: str
    span: timedelta
    period: Period
    step_s: int


CHART_WINDOWS: dict[str, Window] = {
    window.key: window
    for window in (
        Window("24h", "24 hours", timedelta(hours=24), Period.MINUTE, 600),
        Window("7d", "7 days", timedelta(days=7), Period.HOUR, 3600),
        Window("30d", "30 days", timedelta(days=30), Period.HOUR, 4 * 3600),
        Window("1y", "1 year", timedelta(days=365), Period.DAY, 86_400),
    )
}


def _table() -> str:
    return InstanceHistory._meta.db_table


def _floor(moment: datetime, seconds: int) -> datetime:
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def record_round(results: Iterable[tuple[int, bool, float | None]], checked_at: datetime) -> None:
    """Add a round's results, ``(instance id, passed, latency in ms)``, to the minute rows of
    ``checked_at``, with one statement. The latency of a failed probe is not counted."""
    latest: dict[int, tuple[bool, float | None]] = {}
    for instance_id, ok, latency_ms in results:
        latest[instance_id] = (ok, latency_ms if ok else None)
    if not latest:
        return
    document = json.dumps(
        [[pk, 0 if ok else 1, latency] for pk, (ok, latency) in sorted(latest.items())],
        separators=(",", ":"),
    )
    with connection.cursor() as cursor:
        cursor.execute(_minute_sql(), [_floor(checked_at, Period.MINUTE), document])


@functools.cache
def _minute_sql() -> str:
    t = _table()
    return (
        f"INSERT INTO {t} AS t (instance_id, period, start, probes, failures, "  # noqa: S608 — names only
        "latency_min, latency_avg, latency_p95, latency_max) "
        f"SELECT CAST(e ->> 0 AS bigint), {Period.MINUTE.value}, %s, 1, CAST(e ->> 1 AS integer), "
        "CAST(e ->> 2 AS real), CAST(e ->> 2 AS real), CAST(e ->> 2 AS real), CAST(e ->> 2 AS real) "
        "FROM json_array_elements(CAST(%s AS json)) AS e "
        "ON CONFLICT (instance_id, period, start) DO UPDATE SET "
        "probes = t.probes + 1, failures = t.failures + excluded.failures, "
        "latency_min = LEAST(t.latency_min, excluded.latency_min), "
        "latency_max = GREATEST(t.latency_max, excluded.latency_max), "
        # A minute holds at most 20 probes: its p95 by nearest rank is its slowest.
        "latency_p95 = GREATEST(t.latency_p95, excluded.latency_p95), "
        "latency_avg = CASE WHEN excluded.latency_avg IS NULL THEN t.latency_avg "
        "WHEN t.latency_avg IS NULL THEN excluded.latency_avg "
        "ELSE (t.latency_avg * (t.probes - t.failures) + excluded.latency_avg) "
        "/ (t.probes - t.failures + 1) END"
    )


@dataclass(frozen=True)
class Upkeep:
    hours: int
    days: int
    deleted: int


def upkeep(*, now: datetime | None = None, late: timedelta = timedelta(minutes=10)) -> Upkeep:
    """Compute the hour rows from the minute rows and the day rows from the hour rows, from the
    last row each period already has (``_rolled_since``) to ``now``; delete the rows past their
    retention. Idempotent: a row is computed again whole, never added to."""
    now = now or timezone.now()
    with transaction.atomic():
        _upkeep_settings()
        hours = _roll(Period.MINUTE, Period.HOUR, _rolled_since(Period.HOUR, now, late), now)
        days = _roll(Period.HOUR, Period.DAY, _rolled_since(Period.DAY, now, late), now)
    deleted = sum(_prune(period, now - timedelta(seconds=keep_s)) for period, keep_s in RETENTION_S.items())
    return Upkeep(hours=hours, days=days, deleted=deleted)


PRUNE_BATCH = 10_000


def _prune(period: Period, cutoff: datetime) -> int:
    """Delete the ``period`` rows older than ``cutoff``, oldest first, ``PRUNE_BATCH`` at a time (a
    transaction each), through the ``(period, start)`` index.

    Asked for all at once, PostgreSQL takes the period and the start as independent, expects a
    quarter of the table to be old, and reads all of it (1 s at 17 million rows, for none to delete;
    bench/RESULTS.md, "History"); asked for the oldest few, it walks the index."""
    deleted = 0
    while True:
        with transaction.atomic():
            _upkeep_settings()
            oldest = (
                InstanceHistory.objects.filter(period=period, start__lt=cutoff)
                .order_by("start")
                .values("pk")[:PRUNE_BATCH]
            )
            count = InstanceHistory.objects.filter(pk__in=oldest)._raw_delete(connection.alias)
        deleted += count
        if count < PRUNE_BATCH:
            return deleted


def _rolled_since(target: Period, now: datetime, late: timedelta) -> datetime:
    """Where a roll into ``target`` rows starts: the latest ``target`` row (it may have been computed
    before its period ended), or ``late`` ago if earlier (a round recorded just after the last run
    into a period that has since closed); never before the oldest source row kept, which is where it
    starts when nothing was rolled yet.

    Reading from the last roll on, not a fixed hour back, is what keeps the upkeep of a fleet at full
    retention small: the minutes of the current hour, and of the previous one only in the first
    minutes after it closed (bench/RESULTS.md, "History"). A stopped worker is caught up on its
    next run, as far back as the source rows are kept."""
    source = Period.MINUTE if target == Period.HOUR else Period.HOUR
    kept_since = now - timedelta(seconds=RETENTION_S[source])
    latest = InstanceHistory.objects.filter(period=target).aggregate(latest=Max("start"))["latest"]
    if latest is None:
        return _floor(kept_since, target)
    return _floor(max(kept_since, min(latest, now - late)), target)


def _upkeep_settings() -> None:
    with connection.cursor() as cursor:
        # A worker's statements have the web's KATO_DB_STATEMENT_TIMEOUT_S; the upkeep of a large
        # fleet may take longer, in a task nobody waits for (bench/RESULTS.md, "History").
        cursor.execute("SET LOCAL statement_timeout = '10min'")
        # PostgreSQL expects a roll to read twenty times the rows it does (the misjudgement ``_prune``
        # describes): it would compile the statement first (160 ms for one that runs in 200) and read
        # the day's hour rows by scanning the whole table (3.8 s at a fleet's full retention, 0.45 s
        # through the (period, start) index; bench/RESULTS.md, "History").
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL enable_seqscan = off")


def _roll(source: Period, target: Period, since: datetime, until: datetime) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_roll_sql(source, target), [since, until])
        return cursor.rowcount


@functools.cache
def _roll_sql(source: Period, target: Period) -> str:
    t = _table()
    bucket = f"to_timestamp(floor(extract(epoch FROM start) / {target.value}) * {target.value})"
    return (
        f"INSERT INTO {t} AS t (instance_id, period, start, probes, failures, "  # noqa: S608 — names only
        "latency_min, latency_avg, latency_p95, latency_max) "
        f"SELECT instance_id, {target.value}, {bucket}, SUM(probes), SUM(failures), MIN(latency_min), "
        "SUM(latency_avg * (probes - failures)) "
        "/ NULLIF(SUM(probes - failures) FILTER (WHERE latency_avg IS NOT NULL), 0), "
        "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_p95), MAX(latency_max) "
        f"FROM {t} WHERE period = {source.value} AND start >= %s AND start < %s "
        f"GROUP BY instance_id, {bucket} ORDER BY instance_id "
        "ON CONFLICT (instance_id, period, start) DO UPDATE SET "
        "probes = excluded.probes, failures = excluded.failures, latency_min = excluded.latency_min, "
        "latency_avg = excluded.latency_avg, latency_p95 = excluded.latency_p95, "
        "latency_max = excluded.latency_max"
    )


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

Uptimes = dict[str, float | None]  # window key → percent of passing probes, None without probes


def _uptime_filter(now: datetime) -> Q:
    where = Q()
    for span, period in UPTIME_WINDOWS.values():
        where |= Q(period=period, start__gte=_floor(now - span, period))
    return where


def uptime(instance_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, Uptimes]:
    """Each instance's uptime over 24 h, 7 d and 30 d (the hour and day rows; the last few minutes
    arrive with the next upkeep), with one query."""
    return _uptimes(InstanceHistory.objects.filter(instance_id__in=instance_ids), "instance_id", now)


def component_uptime(component_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, Uptimes]:
    """Each component's uptime: its instances' probes summed, with one query."""
    rows = InstanceHistory.objects.filter(instance__component_id__in=component_ids)
    return _uptimes(rows, "instance__component_id", now)


def _uptimes(rows: QuerySet[InstanceHistory], key: str, now: datetime | None) -> dict[int, Uptimes]:
    now = now or timezone.now()
    sums = {}
    for name, (span, period) in UPTIME_WINDOWS.items():
        window = Q(period=period, start__gte=_floor(now - span, period))
        sums[f"p{name}"] = Sum("probes", filter=window)
        sums[f"f{name}"] = Sum("failures", filter=window)
    queryset = rows.filter(_uptime_filter(now)).values(key).annotate(**sums).order_by()
    return {
        row[key]: {name: _percent(row[f"p{name}"], row[f"f{name}"]) for name in UPTIME_WINDOWS}
        for row in queryset
    }


def _percent(probes: int | None, failures: int | None) -> float | None:
    return None if not probes else 100.0 * (probes - (failures or 0)) / probes


def no_uptime() -> Uptimes:
    return dict.fromkeys(UPTIME_WINDOWS)


@dataclass(frozen=True)
class Point:
    """One point of a chart: ``probes`` probes from ``start``, ``failures`` of them failed."""

    start: datetime
    probes: int
    failures: int
    latency_avg: float | None
    latency_p95: float | None
    latency_max: float | None


def series(instance_ids: Sequence[int], window: Window, *, now: datetime | None = None) -> list[Point]:
    """The points of a chart over ``window`` ending now, the instances' rows summed (the latency
    average weighted by passing probes, the p95 and the maximum the highest), one query."""
    if not instance_ids:
        return []
    return _series("instance_id = ANY(%s)", list(instance_ids), window, now)


def component_series(component_id: int, window: Window, *, now: datetime | None = None) -> list[Point]:
    """``series`` of all the component's instances, one query."""
    instances = Instance._meta.db_table
    where = f"instance_id IN (SELECT id FROM {instances} WHERE component_id = %s)"  # noqa: S608 — names only
    return _series(where, component_id, window, now)


def _series(where: str, owner: int | list[int], window: Window, now: datetime | None) -> list[Point]:
    now = now or timezone.now()
    since = _floor(now - window.span, window.step_s)
    t = _table()
    sql = (
        f"SELECT to_timestamp(floor(extract(epoch FROM start) / %s) * %s) AS b, SUM(probes), "  # noqa: S608 — names only
        "SUM(failures), SUM(latency_avg * (probes - failures)) "
        "/ NULLIF(SUM(probes - failures) FILTER (WHERE latency_avg IS NOT NULL), 0), "
        f"MAX(latency_p95), MAX(latency_max) FROM {t} "
        f"WHERE {where} AND period = %s AND start >= %s GROUP BY b ORDER BY b"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [window.step_s, window.step_s, owner, window.period.value, since])
        return [Point(*row) for row in cursor.fetchall()]


def with_uptime(objects: Sequence[T], *, now: datetime | None = None) -> Sequence[T]:
    """Give each instance or component its ``uptime`` attribute (``Uptimes``), with one query."""
    if not objects:
        return objects
    ids = [obj.pk for obj in objects]
    found = uptime(ids, now=now) if isinstance(objects[0], Instance) else component_uptime(ids, now=now)
    for obj in objects:
        obj.uptime = found.get(obj.pk) or no_uptime()  # type: ignore[attr-defined]
    return objects
