"""The probe history: the sweep's minute rows, the hour and day rows, retention, uptime and series."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django_celery_beat.models import PeriodicTask

from core.audit import Actor
from instances import history
from instances.models import Instance, InstanceHistory, Period
from instances.services import instance_delete
from instances.tasks import HISTORY_UPKEEP_TASK, ensure_history_schedule
from tests.instances import sweeping
from tests.instances.probe_servers import http_response
from tests.instances.sweeping import add_instance, checked_component, refused_instance, sweep_rounds

pytestmark = pytest.mark.usefixtures("no_jitter")
serve = sweeping.serve
no_jitter = sweeping.no_jitter

NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def rows(instance: Instance, period: Period = Period.MINUTE) -> list[InstanceHistory]:
    return list(InstanceHistory.objects.filter(instance=instance, period=period).order_by("start"))


@pytest.mark.django_db
def test_each_sweep_round_adds_its_results_to_the_minute_rows(serve, application, alice_actor: Actor) -> None:
    server = serve(http_response(200, "OK"))
    component = checked_component(application, alice_actor, kind="http", path="/")
    up = add_instance(component, f"http://127.0.0.1:{server.port}", alice_actor)
    down = refused_instance(component, alice_actor)

    sweep_rounds(3)

    up_rows, down_rows = rows(up), rows(down)
    # Three rounds, in one minute or across the turn of one: one row a minute, never one a probe.
    assert 1 <= len(up_rows) <= 2
    assert sum(row.probes for row in up_rows) == 3
    assert sum(row.failures for row in up_rows) == 0
    assert all(row.latency_min is not None and row.latency_min <= row.latency_max for row in up_rows)
    assert all(row.latency_p95 == row.latency_max for row in up_rows)
    assert sum(row.probes for row in down_rows) == 3
    assert sum(row.failures for row in down_rows) == 3
    assert all(row.latency_avg is None for row in down_rows)
    assert all(row.start.second == 0 and row.start.microsecond == 0 for row in up_rows + down_rows)


def feed(instance: Instance, at: datetime, results: list[tuple[bool, float | None]]) -> None:
    """Rounds at ``at``, one a result, as the sweep records them."""
    for ok, latency in results:
        history.record_round([(instance.pk, ok, latency)], at)


@pytest.mark.django_db
def test_a_minute_row_counts_its_probes_and_keeps_the_latency_of_those_that_passed(
    application, alice_actor: Actor
) -> None:
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)

    feed(instance, NOON + timedelta(seconds=5), [(True, 10.0), (False, 2000.0), (True, 30.0), (True, 20.0)])

    [row] = rows(instance)
    assert (row.start, row.probes, row.failures) == (NOON, 4, 1)
    assert (row.latency_min, row.latency_avg, row.latency_p95, row.latency_max) == (10.0, 20.0, 30.0, 30.0)


@pytest.mark.django_db
def test_upkeep_computes_hour_and_day_rows_and_again_when_more_arrives(
    application, alice_actor: Actor
) -> None:
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)
    for minute in range(20):
        feed(instance, NOON + timedelta(minutes=minute), [(minute != 7, float(minute + 1))] * 3)

    history.upkeep(now=NOON + timedelta(minutes=20))

    [hour] = rows(instance, Period.HOUR)
    assert (hour.start, hour.probes, hour.failures) == (NOON, 60, 3)
    assert (hour.latency_min, hour.latency_max) == (1.0, 20.0)
    # The average of the passing probes' latencies: minutes 1..20 without the 8th, three each.
    assert hour.latency_avg == pytest.approx((sum(range(1, 21)) - 8) / 19)
    assert 18.0 <= hour.latency_p95 <= 20.0
    [day] = rows(instance, Period.DAY)
    assert (day.start, day.probes, day.failures) == (NOON.replace(hour=0), 60, 3)

    feed(instance, NOON + timedelta(minutes=30), [(False, None)])
    history.upkeep(now=NOON + timedelta(minutes=31))

    [hour] = rows(instance, Period.HOUR)
    [day] = rows(instance, Period.DAY)
    assert (hour.probes, hour.failures, day.probes, day.failures) == (61, 4, 61, 4)


@pytest.mark.django_db
def test_upkeep_deletes_each_period_s_rows_after_its_retention(application, alice_actor: Actor) -> None:
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)
    now = NOON
    for period, kept, gone in (
        (Period.MINUTE, timedelta(hours=47), timedelta(hours=49)),
        (Period.HOUR, timedelta(days=89), timedelta(days=91)),
        (Period.DAY, timedelta(days=729), timedelta(days=731)),
    ):
        for age in (kept, gone):
            InstanceHistory.objects.create(
                instance=instance, period=period, start=now - age, probes=1, failures=0
            )

    done = history.upkeep(now=now)

    assert done.deleted == 3
    left = set(InstanceHistory.objects.filter(instance=instance).values_list("period", "start"))
    assert {(Period.MINUTE, now - timedelta(hours=47)), (Period.HOUR, now - timedelta(days=89))} <= left
    assert (Period.DAY, now - timedelta(days=729)) in left
    assert not left & {
        (Period.MINUTE, now - timedelta(hours=49)),
        (Period.HOUR, now - timedelta(days=91)),
        (Period.DAY, now - timedelta(days=731)),
    }


@pytest.mark.django_db
def test_upkeep_rolls_from_where_it_last_stopped(application, alice_actor: Actor) -> None:
    """A worker that was stopped for hours is caught up on its next run; a run soon after another
    reads only the current hour (and the previous one, just after it closed)."""
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)
    for hours_ago in (5, 3, 1):
        feed(instance, NOON - timedelta(hours=hours_ago), [(True, 5.0)])
    feed(instance, NOON + timedelta(minutes=1), [(True, 5.0)])
    history.upkeep(now=NOON - timedelta(hours=5) + timedelta(minutes=1))
    assert rows(instance, Period.HOUR)[-1].start == NOON - timedelta(hours=5)

    history.upkeep(now=NOON + timedelta(minutes=2))  # the worker was away for five hours

    starts = [row.start for row in rows(instance, Period.HOUR)]
    assert starts == [NOON - timedelta(hours=h) for h in (5, 3, 1, 0)]
    # A round recorded into the hour that just closed, after the run that closed it, still counts.
    feed(instance, NOON - timedelta(seconds=30), [(False, None)])
    history.upkeep(now=NOON + timedelta(minutes=4))
    last_hour = InstanceHistory.objects.get(
        instance=instance, period=Period.HOUR, start=NOON - timedelta(hours=1)
    )
    assert (last_hour.probes, last_hour.failures) == (2, 1)


@pytest.mark.django_db
def test_uptime_by_instance_and_by_component_over_each_window(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor)
    first = add_instance(component, "127.0.0.1:5000", alice_actor)
    second = add_instance(component, "127.0.0.1:5001", alice_actor)
    idle = add_instance(component, "127.0.0.1:5002", alice_actor)
    now = NOON
    # first: 100 probes an hour ago, 10 failed; 100 three days ago, all failed; 100 twenty days ago.
    for instance, age, period, failures in (
        (first, timedelta(hours=1), Period.HOUR, 10),
        (first, timedelta(days=3), Period.HOUR, 100),
        (first, timedelta(hours=1), Period.DAY, 10),
        (first, timedelta(days=3), Period.DAY, 100),
        (first, timedelta(days=20), Period.DAY, 0),
        (second, timedelta(hours=2), Period.HOUR, 0),
        (second, timedelta(hours=2), Period.DAY, 0),
    ):
        start = history._floor(now - age, period)
        row, _ = InstanceHistory.objects.get_or_create(
            instance=instance, period=period, start=start, defaults={"probes": 0, "failures": 0}
        )
        row.probes += 100
        row.failures += failures
        row.save()

    by_instance = history.uptime([first.pk, second.pk, idle.pk], now=now)
    by_component = history.component_uptime([component.pk], now=now)

    assert by_instance[first.pk] == {"24h": 90.0, "7d": 45.0, "30d": pytest.approx(63.333, abs=0.01)}
    assert by_instance[second.pk] == {"24h": 100.0, "7d": 100.0, "30d": 100.0}
    assert idle.pk not in by_instance
    assert by_component[component.pk] == {
        "24h": 95.0,
        "7d": pytest.approx(63.333, abs=0.01),
        "30d": 72.5,
    }


@pytest.mark.django_db
def test_a_chart_series_sums_the_instances_rows_into_its_steps(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor)
    first = add_instance(component, "127.0.0.1:5000", alice_actor)
    second = add_instance(component, "127.0.0.1:5001", alice_actor)
    now = NOON
    feed(first, now - timedelta(minutes=15), [(True, 10.0), (True, 30.0)])
    feed(second, now - timedelta(minutes=12), [(False, None), (True, 40.0)])
    feed(first, now - timedelta(minutes=5), [(True, 5.0)])
    feed(first, now - timedelta(hours=30), [(True, 5.0)])  # outside the 24 hours

    points = history.series([first.pk, second.pk], history.CHART_WINDOWS["24h"], now=now)

    assert [(point.start, point.probes, point.failures) for point in points] == [
        (now - timedelta(minutes=20), 4, 1),
        (now - timedelta(minutes=10), 1, 0),
    ]
    assert points[0].latency_avg == pytest.approx(80 / 3)
    assert (points[0].latency_p95, points[0].latency_max) == (40.0, 40.0)


@pytest.mark.django_db
def test_an_instance_s_history_goes_with_it(application, alice_actor: Actor) -> None:
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)
    feed(instance, NOON, [(True, 1.0)])

    instance_delete(instance=instance, actor=alice_actor)

    assert not InstanceHistory.objects.exists()


@pytest.mark.django_db
def test_migrate_creates_the_upkeep_s_beat_entry_once(transactional_db) -> None:
    PeriodicTask.objects.filter(task=HISTORY_UPKEEP_TASK).delete()

    ensure_history_schedule()
    ensure_history_schedule()

    [task] = PeriodicTask.objects.filter(task=HISTORY_UPKEEP_TASK)
    assert task.interval.every == 300


@pytest.mark.django_db
def test_upkeep_deletes_in_batches_until_nothing_old_is_left(
    application, alice_actor: Actor, monkeypatch
) -> None:
    monkeypatch.setattr(history, "PRUNE_BATCH", 2)
    instance = add_instance(checked_component(application, alice_actor), "127.0.0.1:5000", alice_actor)
    for minutes in range(5):
        InstanceHistory.objects.create(
            instance=instance,
            period=Period.MINUTE,
            start=NOON - timedelta(hours=49, minutes=minutes),
            probes=1,
            failures=0,
        )
    InstanceHistory.objects.create(
        instance=instance, period=Period.MINUTE, start=NOON - timedelta(hours=1), probes=1, failures=0
    )

    assert history.upkeep(now=NOON).deleted == 5
    assert [row.start for row in rows(instance)] == [NOON - timedelta(hours=1)]
