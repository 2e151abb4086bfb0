"""The sweep: claims, chunks, stale chunks, probe now, and two sweeps at once on PostgreSQL."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.audit import Actor
from core.models import AuditEvent
from instances import tasks
from instances.models import Instance, Status
from instances.sweep import claim_due, dispatch_round, probe_component_now, probe_instances_now, sweep_round
from tests.instances import sweeping
from tests.instances.probe_servers import close_at_once, http_response, never_answer
from tests.instances.sweeping import (
    add_instance,
    checked_component,
    fresh,
    not_due_yet,
    offline_instance,
    refused_instance,
    served_instance,
    time_passes,
)

pytestmark = pytest.mark.usefixtures("no_jitter")
serve = sweeping.serve
no_jitter = sweeping.no_jitter


# --------------------------------------------------------------------------------------------
# Claims
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_claims_a_due_instance_once_and_schedules_it_an_interval_later(
    application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor, interval_s=30, timeout_s=3)
    instance = add_instance(component, "127.0.0.1:5000", alice_actor)
    before = timezone.now()

    first, second = claim_due(), claim_due()

    assert [claim.instance_id for claim in first] == [instance.pk]
    assert second == []
    next_probe_at = fresh(instance).next_probe_at
    assert first[0].lease_until == next_probe_at
    assert before + timedelta(seconds=30) <= next_probe_at <= timezone.now() + timedelta(seconds=30)


@pytest.mark.django_db
def test_it_claims_long_enough_for_a_delayed_probe_to_finish(
    application, alice_actor: Actor, settings
) -> None:
    settings.KATO_SWEEP_JITTER_S = 5
    component = checked_component(application, alice_actor, interval_s=5, timeout_s=1)
    instance = add_instance(component, "127.0.0.1:5000", alice_actor)
    before = timezone.now()

    claim_due()

    # Started up to 5 s late and given 1 s: not due again for 5 + 1 + 1 s, although the interval is 5 s.
    assert fresh(instance).next_probe_at >= before + timedelta(seconds=7)


@pytest.mark.django_db
def test_it_does_not_claim_an_instance_before_it_is_due_unless_asked_for_everything(
    application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor)
    instance = add_instance(component, "127.0.0.1:5000", alice_actor)
    not_due_yet()

    assert claim_due() == []
    assert [claim.instance_id for claim in claim_due(everything=True)] == [instance.pk]


@pytest.mark.django_db
def test_it_treats_an_instance_that_was_never_scheduled_as_due(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor)
    # As the admin creates one: next_probe_at left empty.
    instance = Instance.objects.create(component=component, host="127.0.0.1", port=5000)

    assert [claim.instance_id for claim in claim_due()] == [instance.pk]


@pytest.mark.django_db
def test_it_claims_only_online_instances_whose_check_is_on(application, alice_actor: Actor) -> None:
    checked = checked_component(application, alice_actor, name="checked")
    unchecked = checked_component(application, alice_actor, name="unchecked", enabled=False)
    online = add_instance(checked, "127.0.0.1:5000", alice_actor)
    add_instance(checked, "127.0.0.1:5001", alice_actor, is_online=False)
    add_instance(unchecked, "127.0.0.1:5002", alice_actor)

    assert [claim.instance_id for claim in claim_due(everything=True)] == [online.pk]


# --------------------------------------------------------------------------------------------
# Chunks and the Celery tasks (called in this process; the real worker is in test_celery_e2e)
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_tick_hands_out_the_round_in_chunks_of_ids_once_committed(
    application, alice_actor: Actor, settings, django_capture_on_commit_callbacks
) -> None:
    settings.KATO_SWEEP_CHUNK = 2
    component = checked_component(application, alice_actor)
    instances = [add_instance(component, f"127.0.0.1:{5000 + n}", alice_actor) for n in range(5)]
    enqueued: list[list[list[object]]] = []

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        claimed = dispatch_round(enqueue=enqueued.append)
        assert enqueued == []  # nothing leaves before the claim is committed
    for callback in callbacks:
        callback()

    assert claimed == 5
    assert [len(chunk) for chunk in enqueued] == [2, 2, 1]
    assert sorted(entry[0] for chunk in enqueued for entry in chunk) == sorted(i.pk for i in instances)
    assert json.loads(json.dumps(enqueued)) == enqueued  # plain ids and numbers, fit for a message


@pytest.mark.django_db
def test_a_chunk_task_probes_and_records_its_instances(
    application, alice_actor: Actor, serve, django_capture_on_commit_callbacks
) -> None:
    _, _, instance = served_instance(serve, application, alice_actor)
    enqueued: list[list[list[object]]] = []
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_round(enqueue=enqueued.append)

    probed = tasks.sweep_chunk(*enqueued)

    assert probed == 1
    assert fresh(instance).status == Status.HEALTHY


@pytest.mark.django_db
def test_a_chunk_that_waited_until_its_instances_were_claimed_again_does_not_probe_them(
    application, alice_actor: Actor, serve, django_capture_on_commit_callbacks
) -> None:
    server, _, _ = served_instance(serve, application, alice_actor)
    late: list[list[list[object]]] = []
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_round(enqueue=late.append)
    time_passes()
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_round(enqueue=lambda chunk: tasks.sweep_chunk(chunk))  # the next round, on time
    assert server.wait_for_connections(1) == 1

    probed = tasks.sweep_chunk(*late)

    assert probed == 0
    assert server.wait_for_connections(2, timeout=0.3) == 1


@pytest.mark.django_db
def test_the_tick_task_claims_nothing_when_nothing_is_due(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor)
    add_instance(component, "127.0.0.1:5000", alice_actor)
    not_due_yet()

    assert tasks.sweep_tick() == 0


# --------------------------------------------------------------------------------------------
# Probe now
# --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_probe_now_probes_every_online_instance_whatever_its_schedule(
    application, alice_actor: Actor, serve
) -> None:
    _, component, up = served_instance(serve, application, alice_actor, failure_threshold=1)
    down = refused_instance(component, alice_actor)
    offline_instance(component, alice_actor)
    not_due_yet()

    probed = probe_component_now(component=component, actor=alice_actor)

    by_id = {instance.pk: (instance, result) for instance, result in probed}
    assert set(by_id) == {up.pk, down.pk}
    assert by_id[up.pk][1].ok and by_id[up.pk][0].status == Status.HEALTHY
    assert not by_id[down.pk][1].ok and by_id[down.pk][1].error == "connection refused"
    assert fresh(down).status == Status.UNHEALTHY  # recorded as the sweep records
    [event] = AuditEvent.objects.filter(action="component.probe")
    assert event.user == alice_actor.user
    assert event.detail["instances"] == 2 and event.detail["reachable"] == 1


@pytest.mark.django_db
def test_probe_now_works_with_the_health_check_off(application, alice_actor: Actor, serve) -> None:
    _, component, _ = served_instance(serve, application, alice_actor, enabled=False)

    [(instance, result)] = probe_component_now(component=component, actor=alice_actor)

    assert result.ok
    assert instance.status == Status.UNKNOWN  # the check is off: not judged, but tested on request
    assert instance.last_checked_at is not None


@pytest.mark.django_db
def test_probe_now_of_chosen_instances_leaves_out_the_offline_ones(
    application, alice_actor: Actor, serve
) -> None:
    _, component, online = served_instance(serve, application, alice_actor)
    offline = offline_instance(component, alice_actor)

    probed = probe_instances_now(instances=[online, offline], actor=alice_actor)

    assert [instance.pk for instance, _ in probed] == [online.pk]


# --------------------------------------------------------------------------------------------
# Two sweeps at the same moment (PostgreSQL: row locks and SKIP LOCKED)
# --------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_sweeps_started_at_the_same_moment_probe_each_due_instance_once(
    postgres_database, application, alice_actor: Actor, serve
) -> None:
    servers = [serve(close_at_once) for _ in range(40)]
    component = checked_component(application, alice_actor)
    for server in servers:
        add_instance(component, f"127.0.0.1:{server.port}", alice_actor)
    start = threading.Barrier(2)
    probed: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait(timeout=5)
            probed.append(sweep_round().probed)
        except BaseException as error:  # reported by the test, not lost in the thread
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert sum(probed) == 40
    assert [server.connections_before_now() for server in servers] == [1] * 40
    assert set(Instance.objects.values_list("health", flat=True)) == {"healthy"}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_skips_the_instances_another_claim_holds_instead_of_waiting(
    postgres_database, application, alice_actor: Actor
) -> None:
    component = checked_component(application, alice_actor)
    for n in range(6):
        add_instance(component, f"127.0.0.1:{5000 + n}", alice_actor)
    holding, release = threading.Event(), threading.Event()
    held: list[int] = []

    def hold_a_claim() -> None:
        try:
            with transaction.atomic():
                held.extend(claim.instance_id for claim in claim_due(limit=4))
                holding.set()
                release.wait(timeout=10)  # the rows stay locked until this transaction ends
        finally:
            connection.close()

    holder = threading.Thread(target=hold_a_claim)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # Waiting for a lock at all would be an error (LockNotAvailable) instead of a delay.
            cursor.execute("SET LOCAL lock_timeout = '50ms'")
            mine = [claim.instance_id for claim in claim_due()]
    finally:
        release.set()
        holder.join(timeout=10)

    assert len(held) == 4 and len(mine) == 2
    assert set(held).isdisjoint(mine)
    assert claim_due() == []  # and once committed, the held ones are not due either


@pytest.mark.django_db
def test_a_round_stores_the_quick_answers_while_slow_probes_wait_out_their_timeout(
    application, alice_actor: Actor, serve
) -> None:
    quick, silent = serve(http_response(200, "OK")), serve(never_answer)
    component = checked_component(application, alice_actor, kind="http", timeout_s=1, failure_threshold=1)
    answering = add_instance(component, f"127.0.0.1:{quick.port}", alice_actor)
    hanging = add_instance(component, f"127.0.0.1:{silent.port}", alice_actor)

    report = sweep_round()

    assert report.statuses == {Status.HEALTHY: 1, Status.UNHEALTHY: 1}
    answered_at, timed_out_at = fresh(answering).last_checked_at, fresh(hanging).last_checked_at
    assert fresh(hanging).last_error == "timed out after 1.0 s while waiting for the response"
    # Stored by a write of its own, while the silent probe was still waiting out its timeout (one
    # write gives every result it stores the same time). The round runs in this test's
    # transaction, as in a caller's: the early write joins it on the same connection.
    assert answered_at < timed_out_at


@pytest.mark.django_db
def test_a_claim_larger_than_one_batch_of_ids_claims_every_instance_once(
    application, alice_actor: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PostgreSQL takes at most 65,535 parameters a statement: ids go in batches (here of 3).
    monkeypatch.setattr("instances.health.ID_BATCH", 3)
    component = checked_component(application, alice_actor, interval_s=30, timeout_s=3)
    instances = [add_instance(component, f"127.0.0.1:{5000 + n}", alice_actor) for n in range(7)]

    claims = claim_due()

    assert sorted(claim.instance_id for claim in claims) == sorted(instance.pk for instance in instances)
    assert claim_due() == []
    assert len({fresh(instance).next_probe_at for instance in instances}) == 1
