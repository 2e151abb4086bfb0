"""The sweep: claim the instances that are due, probe them concurrently, record what happened.

A round goes like this (docs/architecture.md, "A sweep round"):

1. **Claim.** Every due instance (online, health check on, ``next_probe_at`` passed or never set)
   is read with what its probe and its record need, locked, and its ``next_probe_at`` moved
   forward by its check's interval, in one transaction. An instance is claimed by
   whoever moved it, so two workers never take the same instance, and an instance claimed in this
   round is not due again before its interval is over. The claim reaches far enough that the probe
   is finished before then (jitter + timeout + 1 s). The due rows are picked with
   ``FOR UPDATE SKIP LOCKED``: two sweeps that start at the same moment split the instances
   between them instead of waiting for each other.
2. **Chunks.** The Celery tick cuts the claims into chunks of ``KATO_SWEEP_CHUNK`` and enqueues one
   task per chunk, which any worker on the broker takes. A chunk that reaches a worker after its
   instances were claimed again (the queue was long) does not probe them a second time.
3. **Probe.** A chunk's probes run at once in one event loop, at most ``probe_concurrency()`` at a
   time (``KATO_PROBE_CONCURRENCY``; "auto": as many as the open-files limit allows, up to 10,000),
   their start times spread over ``KATO_SWEEP_JITTER_S``.
4. **Record.** ``health.record_probe_results`` writes them with a few statements: the quick answers
   while the slow probes still wait out their timeout, then the rest.

``sweep_round`` does all of it in the foreground (``manage.py probe_sweep``); ``probe_component_now``
and ``probe_instances_now`` probe right away, whatever ``next_probe_at`` says ("Probe now"), for at
most ``KATO_PROBE_NOW_WAIT_S`` seconds: what is still running then goes on in a Celery worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import math
import resource
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypeVar

from celery import current_app
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Q
from django.dispatch import Signal
from django.utils import timezone
from kombu.exceptions import OperationalError

from components.models import Component
from core.audit import Actor, audit_record
from instances.health import ROW_FIELDS, Claim, InstanceRow, id_batches, probe_plan, record_probe_results
from instances.models import Instance, instance_status
from instances.probes import ProbeResult, ProbeTarget, probe_many

try:
    import uvloop
except ImportError:  # optional: the sweep runs on asyncio's own event loop without it
    uvloop = None  # type: ignore[assignment]  # the module or nothing, as the code below asks

T = TypeVar("T")

logger = logging.getLogger(__name__)

PROBE_NOW_TASK = "instances.tasks.probe_now"

# "Probe now" without a time limit (in a worker, where nobody waits for the answer).
NO_LIMIT = math.inf

# A claim reaches at least this far beyond the probe's own timeout and start delay.
_CLAIM_MARGIN_S = 1

# "auto" concurrency: every probe holds one socket, and the process keeps this many descriptors
# for everything else (database and broker connections, the event loop, logs, the worker's pipes).
FD_RESERVE = 256
# ... and never more probes at once than this, whatever the limit: each costs memory and CPU.
MAX_AUTO_CONCURRENCY = 10_000


# --------------------------------------------------------------------------------------------
# How many probes at once
# --------------------------------------------------------------------------------------------


def raise_open_files_limit() -> tuple[int, int]:
    """Raise this process's soft limit of open files to its hard limit (the usual soft default,
    1,024, would hold a round to a few hundred probes at once); returns the soft limit before and
    after. A hard limit that cannot be reached (a container's cap below an "unlimited" hard limit)
    leaves the soft limit as it was."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return soft, resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def probe_concurrency() -> int:
    """How many probes one process runs at once: ``KATO_PROBE_CONCURRENCY`` when it is a number,
    otherwise ("auto") min(open-files soft limit − FD_RESERVE, MAX_AUTO_CONCURRENCY), at least 1.

    A silent target holds its slot for its whole timeout; with a slot for every probe of a chunk,
    a round takes one timeout however many targets are silent.
    """
    configured = settings.KATO_PROBE_CONCURRENCY
    if isinstance(configured, int):
        return configured
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return MAX_AUTO_CONCURRENCY
    return max(1, min(soft - FD_RESERVE, MAX_AUTO_CONCURRENCY))


# Sent when ``run_claims`` has recorded a round (or a chunk of one), with ``probed`` and ``seconds``:
# the monitoring app keeps the figures for /metrics without this module knowing it.
round_finished = Signal()


@dataclass(frozen=True)
class RoundReport:
    probed: int
    seconds: float
    statuses: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------------
# Claiming
# --------------------------------------------------------------------------------------------


def claim_due(*, limit: int | None = None, everything: bool = False) -> list[Claim]:
    """Claim up to ``limit`` due instances (``everything``: every online instance whose check is on,
    due or not) by moving their ``next_probe_at`` forward; returns what this caller claimed.

    The due rows are locked with ``FOR UPDATE SKIP LOCKED``: two sweeps that start at the same
    moment split the instances between them instead of waiting for each other. Under READ
    COMMITTED, a row another sweep moved after this one's snapshot is checked again when it is
    locked, and is then no longer due.
    """
    now = timezone.now()
    slack = settings.KATO_SWEEP_JITTER_S + _CLAIM_MARGIN_S
    due = Instance.objects.filter(
        is_online=True, component__health_check__enabled=True, component__health_check__paused=False
    )
    if not everything:
        due = due.filter(Q(next_probe_at__isnull=True) | Q(next_probe_at__lte=now))
    with transaction.atomic():
        selected = (
            due.select_for_update(skip_locked=True, of=("self",))
            .order_by(F("next_probe_at").asc(nulls_first=True), "id")
            .values_list(*ROW_FIELDS, "component__health_check__interval_s")[:limit]
        )
        # One UPDATE per lease: a fleet has a handful of intervals and timeouts, not one per row.
        by_lease: dict[datetime, list[InstanceRow]] = defaultdict(list)
        for *values, interval_s in selected:
            row = InstanceRow(*values)
            by_lease[now + timedelta(seconds=max(interval_s, (row.timeout_s or 3) + slack))].append(row)
        claims = []
        for lease_until, rows in by_lease.items():
            for batch in id_batches(row.id for row in rows):
                Instance.objects.filter(pk__in=batch).update(next_probe_at=lease_until)
            claims += [
                Claim(row.id, row.generation, lease_until, row._replace(next_probe_at=lease_until))
                for row in rows
            ]
    return claims


def claims_to_payload(claims: Iterable[Claim]) -> list[list[Any]]:
    """Claims as JSON for a Celery message: ids and numbers, never objects."""
    return [
        [claim.instance_id, claim.generation, claim.lease_until.isoformat() if claim.lease_until else None]
        for claim in claims
    ]


def claims_from_payload(payload: Iterable[Sequence[Any]]) -> list[Claim]:
    return [
        Claim(int(pk), int(generation), datetime.fromisoformat(lease) if lease else None)
        for pk, generation, lease in payload
    ]


# --------------------------------------------------------------------------------------------
# Rounds and chunks
# --------------------------------------------------------------------------------------------


def dispatch_round(*, enqueue: Callable[[list[list[Any]]], object]) -> int:
    """The tick: claim every due instance and hand the claims, chunk by chunk, to ``enqueue`` once
    the claim is committed. Returns how many instances were claimed."""
    size = settings.KATO_SWEEP_CHUNK
    with transaction.atomic():
        claims = claim_due()
        for start in range(0, len(claims), size):
            payload = claims_to_payload(claims[start : start + size])
            transaction.on_commit(functools.partial(enqueue, payload))
    return len(claims)


class Probed(NamedTuple):
    results: list[tuple[Claim, ProbeResult]]  # every result, recorded or not
    recorded: dict[int, str]  # the health of each instance whose result was recorded, by id


def run_claims(claims: Sequence[Claim], *, jitter_s: float | None = None) -> Probed:
    """Probe the claimed instances that are still as claimed, concurrently, and record the results.

    Results of instances that changed while being probed are returned but not recorded. Never
    raises for a target that is down.
    """
    started = time.perf_counter()
    with _cyclic_gc_paused():
        plan = probe_plan(claims)
        targets = [(claim, target) for claim, target in plan if isinstance(target, ProbeTarget)]
        # Instances that failed last time first: a silent one holds its probe for the whole timeout,
        # and the round ends with the last of those to start.
        targets.sort(key=lambda pair: not (pair[0].row and pair[0].row.failures))
        known = [(claim, result) for claim, result in plan if isinstance(result, ProbeResult)]
        jitter = settings.KATO_SWEEP_JITTER_S if jitter_s is None else jitter_s
        with _lent_connection() as lent:
            results, recorded = _run_async(_probe(targets, jitter_s=jitter, connection=lent))
        pairs = [(claim, result) for (claim, _), result in zip(targets, results, strict=True)]
        rest = [(claim, result) for claim, result in pairs + known if claim.instance_id not in recorded]
        recorded.update(record_probe_results(rest))
    round_finished.send(run_claims, probed=len(pairs + known), seconds=time.perf_counter() - started)
    return Probed(pairs + known, recorded)


async def _probe(
    targets: list[tuple[Claim, ProbeTarget]], *, jitter_s: float, connection: BaseDatabaseWrapper
) -> tuple[list[ProbeResult], dict[int, str]]:
    """Probe the targets, and record the results that are in once the jitter window and half the
    shortest timeout have gone by, while the rest are still running.

    By then the servers that answer have answered; what is left are the slow and the silent ones,
    whose probes wait out their timeout. Storing the others meanwhile leaves less to write when the
    round ends, and shows their health a timeout sooner. The write runs in a thread of its own, so
    that the event loop keeps serving the probes still running, on ``connection``: the caller's,
    lent while the caller waits for the loop (the probes touch no database).
    """
    finished: dict[int, ProbeResult] = {}
    probing = asyncio.ensure_future(
        probe_many(
            [target for _, target in targets],
            concurrency=probe_concurrency(),
            jitter_s=jitter_s,
            denied_networks=settings.KATO_DENIED_NETWORKS,
            on_result=finished.__setitem__,
        )
    )
    recorded: dict[int, str] = {}
    try:
        if targets:
            halfway = jitter_s + min(target.timeout_s for _, target in targets) / 2
            await asyncio.wait({probing}, timeout=halfway)
            if not probing.done() and finished:
                early = [(targets[index][0], result) for index, result in list(finished.items())]
                with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kato-sweep-record") as writer:
                    recorded = await asyncio.get_running_loop().run_in_executor(
                        writer, _record_in_thread, early, connection
                    )
        return await probing, recorded
    finally:
        probing.cancel()  # only ever running here when something above raised


@contextmanager
def _lent_connection() -> Iterator[BaseDatabaseWrapper]:
    """This thread's database connection, which the round's writer thread may use while this
    thread waits for the event loop: one connection per round, whose transaction (a caller's, or a
    test's) the early results join like the others."""
    lent = connections[DEFAULT_DB_ALIAS]
    lent.inc_thread_sharing()
    try:
        yield lent
    finally:
        lent.dec_thread_sharing()


def _record_in_thread(results: list[tuple[Claim, ProbeResult]], lent: BaseDatabaseWrapper) -> dict[int, str]:
    connections[DEFAULT_DB_ALIAS] = lent
    try:
        return record_probe_results(results)
    finally:
        del connections[DEFAULT_DB_ALIAS]  # this thread's own is opened if it is ever used again


def sweep_round(*, everything: bool = False) -> RoundReport:
    """One whole round in this process: claim, probe, record; the count per status afterwards."""
    raise_open_files_limit()  # as a worker does at start: "auto" concurrency follows the limit
    started = time.perf_counter()
    with _cyclic_gc_paused():
        probed = run_claims(claim_due(everything=everything))
    # Every instance claimed is online with its check on, so its health gives its status.
    healths = Counter(probed.recorded.values())
    statuses = {
        instance_status(Instance(is_online=True, health=health), True): count
        for health, count in healths.items()
    }
    return RoundReport(probed=len(probed.results), seconds=time.perf_counter() - started, statuses=statuses)


# --------------------------------------------------------------------------------------------
# Probe now
# --------------------------------------------------------------------------------------------


class ProbedNow(list[tuple[Instance, ProbeResult]]):
    """What "Probe now" found within its wait: each instance, as stored afterwards, with its result.

    ``pending`` are the instances whose probes had not finished when the wait was over: they go on in
    a Celery worker (``instances.tasks.probe_now``), which records them as the sweep does.
    """

    def __init__(
        self, probed: Iterable[tuple[Instance, ProbeResult]] = (), *, pending: Sequence[Instance] = ()
    ) -> None:
        super().__init__(probed)
        self.pending = list(pending)


def probe_component_now(*, component: Component, actor: Actor, wait_s: float | None = None) -> ProbedNow:
    """Probe every online instance of the component right away, whatever ``next_probe_at`` says
    (and even with the health check off), record the results as the sweep does, and return each
    instance, as stored afterwards, with its result; see ``probe_instances_now`` for ``wait_s``."""
    return probe_instances_now(
        instances=component.instances.filter(is_online=True), actor=actor, wait_s=wait_s
    )


def probe_instances_now(
    *, instances: Iterable[Instance], actor: Actor, wait_s: float | None = None
) -> ProbedNow:
    """Probe these instances right away (the offline ones are left out) and record the results.

    Waits at most ``wait_s`` seconds (``KATO_PROBE_NOW_WAIT_S`` by default, ``NO_LIMIT`` for none): a
    web request must not be held for a silent target's whole timeout. The probes
    still running then are stopped here and handed to a Celery worker, which probes those instances
    again and records them; they are returned as ``pending``.
    """
    wait = settings.KATO_PROBE_NOW_WAIT_S if wait_s is None else wait_s
    claims = [Claim(instance.pk, instance.generation) for instance in instances if instance.is_online]
    pairs, unfinished = _probe_now_within(claims, wait_s=wait)
    wanted = [claim.instance_id for claim, _ in pairs] + [claim.instance_id for claim in unfinished]
    fresh = {
        instance.pk: instance
        for batch in id_batches(wanted)
        for instance in Instance.objects.select_related("component__health_check").filter(pk__in=batch)
    }
    probed = [(fresh[claim.instance_id], result) for claim, result in pairs if claim.instance_id in fresh]
    probed.sort(key=lambda pair: _instance_order(pair[0]))
    pending = sorted(
        (fresh[claim.instance_id] for claim in unfinished if claim.instance_id in fresh), key=_instance_order
    )
    _audit_probe_now(probed, actor)
    if pending:
        _continue_in_worker(pending, actor)
    return ProbedNow(probed, pending=pending)


def _instance_order(instance: Instance) -> tuple[str, str, int, int]:
    return (instance.component.name, instance.host, instance.port or 0, instance.pk)


def _probe_now_within(
    claims: Sequence[Claim], *, wait_s: float | None
) -> tuple[list[tuple[Claim, ProbeResult]], list[Claim]]:
    """Probe the claims and record what finished within ``wait_s``; returns the recorded pairs and
    the claims whose probes were still running (and were stopped)."""
    plan = probe_plan(claims)
    targets = [(claim, target) for claim, target in plan if isinstance(target, ProbeTarget)]
    known = [(claim, result) for claim, result in plan if isinstance(result, ProbeResult)]
    finished = _run_async(_probe_for_at_most([target for _, target in targets], wait_s=wait_s))
    pairs = [(targets[index][0], result) for index, result in sorted(finished.items())]
    unfinished = [claim for index, (claim, _) in enumerate(targets) if index not in finished]
    record_probe_results(pairs + known)
    return pairs + known, unfinished


async def _probe_for_at_most(targets: list[ProbeTarget], *, wait_s: float | None) -> dict[int, ProbeResult]:
    """The results, by index, of the probes that finished within ``wait_s``; the rest are cancelled
    (their connections closed), so nothing of them outlives the call."""
    finished: dict[int, ProbeResult] = {}
    if not targets:
        return finished
    probing = asyncio.ensure_future(
        probe_many(
            targets,
            concurrency=probe_concurrency(),
            denied_networks=settings.KATO_DENIED_NETWORKS,
            on_result=finished.__setitem__,
        )
    )
    try:
        await asyncio.wait({probing}, timeout=None if wait_s is None or math.isinf(wait_s) else wait_s)
    finally:
        probing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await probing
    return finished


def _continue_in_worker(pending: list[Instance], actor: Actor) -> None:
    payload = {
        "instance_ids": [instance.pk for instance in pending],
        "user_id": getattr(actor.user, "pk", None),
        "remote_addr": actor.remote_addr,
    }
    # Once the caller's transaction, if any, is committed: the worker must see what it sees.
    transaction.on_commit(lambda: _hand_over(payload))


def _hand_over(payload: dict[str, Any]) -> None:
    """Queue the rest of a "Probe now"; with the broker out of reach the answer still stands, and
    the instances are probed by the sweep's next round when their check is on."""
    try:
        # By name: the task module imports this one (instances.tasks.probe_now).
        current_app.send_task(PROBE_NOW_TASK, kwargs=payload)
    except OperationalError as error:
        logger.warning(
            "Probe now: %s unfinished probe(s) not handed to a worker: %s",
            len(payload["instance_ids"]),
            error,
        )
        for batch in id_batches(payload["instance_ids"]):
            Instance.objects.filter(pk__in=batch, is_online=True).update(next_probe_at=timezone.now())


def _audit_probe_now(probed: list[tuple[Instance, ProbeResult]], actor: Actor) -> None:
    by_component: dict[int, list[tuple[Instance, ProbeResult]]] = defaultdict(list)
    for instance, result in probed:
        by_component[instance.component_id].append((instance, result))
    for pairs in by_component.values():
        component = pairs[0][0].component
        audit_record(
            actor=actor,
            component=component,
            action="component.probe",
            detail={
                "instances": len(pairs),
                "reachable": sum(1 for _, result in pairs if result.ok),
                "failed": [instance.address for instance, result in pairs if not result.ok],
            },
        )


def _run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even where an event loop is already
    running in this thread (then in a thread of its own)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_in_new_loop(coroutine)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="kato-probe-now") as pool:
        return pool.submit(_run_in_new_loop, coroutine).result()


def _run_in_new_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    # uvloop, when installed, runs the same probes with about a tenth less CPU.
    loop_factory = uvloop.new_event_loop if uvloop is not None else None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(coroutine)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector out of a round.

    A round allocates a great many short-lived objects (rows, targets, tasks, futures), which makes
    the collector run again and again, now and then over every object of the process: a fifth or
    more of the round's CPU. Reference counting frees almost all of them anyway; the few cycles
    (failed probes' exceptions) wait until the round is over, a few seconds at most.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
