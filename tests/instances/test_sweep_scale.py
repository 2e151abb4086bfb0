"""The sweep on its defaults with many silent targets: how many probes run at once, the worker's
open-files limit, a round with 30 % silent targets, and two workers sharing one round.

Silent targets are loopback listeners that never accept: the kernel completes the handshake, the
HTTP probe sends its request and waits for an answer that never comes, until its timeout. The
answering ones are the same kind of listener behind a TCP check, for which connecting is the test.
"""

from __future__ import annotations

import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

import pytest
from celery import Celery
from django.db.models import Q

from components.models import Application
from core.audit import Actor
from instances import sweep
from instances.models import Health, Instance
from kato_console import settings as project_settings  # as read from the environment
from tests.instances.sweeping import checked_component
from tests.instances.test_celery_e2e import database_url, flush_broker
from tests.support import require_service

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 8  # a Redis database of its own, flushed before and after
WORKER_START_S = 60.0
SOFT_LIMIT_BEFORE = 1024


# --------------------------------------------------------------------------------------------
# Helpers: listeners, a fleet, workers
# --------------------------------------------------------------------------------------------


@pytest.fixture
def listeners() -> Iterator[Callable[[int], list[int]]]:
    """Opens ``count`` loopback listeners that never accept; returns their ports."""
    with ExitStack() as stack:

        def open_listeners(count: int) -> list[int]:
            sockets = [stack.enter_context(socket.create_server(("127.0.0.1", 0))) for _ in range(count)]
            return [sock.getsockname()[1] for sock in sockets]

        yield open_listeners


def fleet(
    application: Application, actor: Actor, ports: Callable[[int], list[int]], *, answering: int, silent: int
) -> None:
    """``answering`` instances behind a TCP check and ``silent`` behind an HTTP check, timeout 1 s,
    thresholds 1 (one round settles every health), interval long enough for one round only."""
    check = {"timeout_s": 1, "interval_s": 300, "success_threshold": 1, "failure_threshold": 1}
    for name, kind, count in (("answering", "tcp", answering), ("silent", "http", silent)):
        component = checked_component(application, actor, name=name, kind=kind, **check)
        Instance.objects.bulk_create(
            Instance(component=component, host="127.0.0.1", port=port) for port in ports(count)
        )


def lowered_open_files_limit() -> None:
    """In the worker's process before it starts: the soft limit many systems start with."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT_LIMIT_BEFORE, hard))


@contextmanager
def celery_worker(tmp_path: Path, name: str) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """A Celery worker (solo pool, no beat) on the test database and a Redis broker, started with
    a soft open-files limit of 1,024; yields the process and its log file."""
    redis = require_service("redis")
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kato_console.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://{redis.host}:{redis.port}/{BROKER_DB}",
        "KATO_SWEEP_JITTER_S": "0",
        "KATO_VAR_DIR": str(tmp_path / f"var-{name}"),
        "LOG_LEVEL": "INFO",
    }
    env.pop("KATO_PROBE_CONCURRENCY", None)  # the default
    command = [sys.executable, "-m", "celery", "-A", "kato_console", "worker", "--hostname", f"{name}@%h"]
    command += ["--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log.open("wb") as output:
        worker = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=lowered_open_files_limit,
        )
    try:
        wait_for_log(log, "ready.", timeout=WORKER_START_S)
        yield worker, log
    finally:
        with suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=10)
        with suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def wait_for_log(log: Path, text: str, *, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = log.read_text(errors="replace") if log.exists() else ""
        if text in content:
            return content
        time.sleep(0.2)
    pytest.fail(f"{text!r} not in the worker log within {timeout:.0f} s:\n{content[-4000:]}")


def open_files_soft_limit(pid: int) -> int:
    line = next(line for line in Path(f"/proc/{pid}/limits").read_text().splitlines() if "open files" in line)
    return int(line.split()[3])


def chunks_probed(log: Path) -> list[int]:
    """How many instances each sweep_chunk task this worker ran reported probing."""
    text = log.read_text(errors="replace")
    return [
        int(n) for n in re.findall(r"instances\.tasks\.sweep_chunk\[[^\]]+\] succeeded in [^:]+: (\d+)", text)
    ]


# --------------------------------------------------------------------------------------------
# How many probes at once
# --------------------------------------------------------------------------------------------


def test_it_runs_as_many_probes_at_once_as_the_open_files_limit_allows_by_default(settings) -> None:
    if "KATO_PROBE_CONCURRENCY" not in os.environ:
        assert project_settings.KATO_PROBE_CONCURRENCY == "auto"
    settings.KATO_PROBE_CONCURRENCY = "auto"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1280, hard))
        assert sweep.probe_concurrency() == 1280 - sweep.FD_RESERVE
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        assert sweep.probe_concurrency() == min(hard - sweep.FD_RESERVE, 10_000)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_it_keeps_a_fixed_number_of_probes_at_once_when_one_is_set(settings) -> None:
    settings.KATO_PROBE_CONCURRENCY = 200
    assert sweep.probe_concurrency() == 200


def test_it_raises_the_open_files_soft_limit_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT_LIMIT_BEFORE, hard))
        assert sweep.raise_open_files_limit() == (SOFT_LIMIT_BEFORE, hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE) == (hard, hard)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_raises_its_open_files_limit_at_start_and_says_so_in_its_log(
    postgres_database, tmp_path: Path
) -> None:
    redis = require_service("redis")
    flush_broker(redis.host, redis.port, BROKER_DB)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    with celery_worker(tmp_path, "limits") as (worker, log):
        text = log.read_text(errors="replace")
        assert open_files_soft_limit(worker.pid) == hard
    expected = min(hard - sweep.FD_RESERVE, 10_000)
    assert (
        f"Open files limit: {hard} (was {SOFT_LIMIT_BEFORE}); up to {expected} probes at once per worker "
        "process (KATO_PROBE_CONCURRENCY=auto)."
    ) in text


# --------------------------------------------------------------------------------------------
# Rounds with silent targets
# --------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_round_of_a_thousand_with_three_hundred_silent_tells_every_health_on_the_defaults(
    postgres_database, settings, application, alice_actor: Actor, listeners
) -> None:
    # Concurrency and chunk size as shipped; start times not spread. How long such a round takes
    # is measured by bench/sweep.py --scale (10,000 instances, 30 % silent, on the defaults).
    settings.KATO_SWEEP_JITTER_S = 0
    fleet(application, alice_actor, listeners, answering=700, silent=300)

    report = sweep.sweep_round()

    assert report.probed == 1000
    healths = dict(
        Instance.objects.values_list("component__name", "health").distinct().order_by("component__name")
    )
    assert healths == {"answering": Health.HEALTHY, "silent": Health.UNHEALTHY}


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_broker_share_a_round_each_probing_chunks_and_every_instance_once(
    postgres_database, settings, application, alice_actor: Actor, listeners, tmp_path: Path, monkeypatch
) -> None:
    redis = require_service("redis")
    flush_broker(redis.host, redis.port, BROKER_DB)
    # Celery prefers CELERY_BROKER_URL from the environment to the URL an app is given: with it
    # set, the round would be published to that broker, where no worker of this test listens.
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    settings.KATO_SWEEP_CHUNK = 200
    fleet(application, alice_actor, listeners, answering=1400, silent=600)
    broker = Celery(broker=f"redis://{redis.host}:{redis.port}/{BROKER_DB}")
    try:
        with celery_worker(tmp_path, "first") as (_, first), celery_worker(tmp_path, "second") as (_, second):
            claimed = sweep.dispatch_round(
                enqueue=lambda claims: broker.send_task("instances.tasks.sweep_chunk", args=[claims])
            )
            deadline = time.monotonic() + 60
            while sum(chunks_probed(first) + chunks_probed(second)) < claimed and time.monotonic() < deadline:
                time.sleep(0.2)
            by_worker = [chunks_probed(first), chunks_probed(second)]
    finally:
        broker.close()
        flush_broker(redis.host, redis.port, BROKER_DB)

    assert claimed == 2000
    assert all(by_worker), by_worker  # both took chunks
    assert sum(by_worker[0] + by_worker[1]) == 2000
    once = Q(consecutive_successes=1, consecutive_failures=0) | Q(
        consecutive_successes=0, consecutive_failures=1
    )
    assert Instance.objects.filter(once).count() == 2000
    assert Instance.objects.filter(last_checked_at__isnull=False).count() == 2000
    assert not Instance.objects.filter(component__name="answering").exclude(health=Health.HEALTHY).exists()
    assert not Instance.objects.filter(component__name="silent").exclude(health=Health.UNHEALTHY).exists()
