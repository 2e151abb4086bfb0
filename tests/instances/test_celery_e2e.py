"""End to end: a real Celery worker with embedded beat, on Redis, sweeping the test database.

Nobody calls a task here. The worker's beat runs the tick from the database schedule (set to one
second, as an operator would in the admin), the tick claims the instance, a chunk task probes it,
and the test watches the database: healthy, unhealthy when the listener closes, healthy again
when it reopens on the same port.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.conf import settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from core.audit import Actor
from instances.models import Instance, Status
from instances.tasks import SWEEP_TICK_TASK, ensure_sweep_schedule
from tests.instances.sweeping import add_instance, checked_component
from tests.support import require_service

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 7  # a Redis database of its own, flushed before and after
WORKER_START_S = 60.0
TRANSITION_S = 30.0


def database_url() -> str:
    db = settings.DATABASES["default"]
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def flush_broker(host: str, port: int, db: int = BROKER_DB) -> None:
    """Empties the Redis database ``db``: a test's broker of its own."""
    subprocess.run(
        ["redis-cli", "-h", host, "-p", str(port), "-n", str(db), "FLUSHDB"],
        check=True,
        capture_output=True,
        timeout=10,
    )


@contextmanager
def running_worker(tmp_path: Path) -> Iterator[Path]:
    """Run `celery worker --beat` on the test database and a Redis broker; yields its log file."""
    redis = require_service("redis")
    flush_broker(redis.host, redis.port)
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kato_console.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://{redis.host}:{redis.port}/{BROKER_DB}",
        "KATO_SWEEP_JITTER_S": "0",
        "KATO_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "INFO",
    }
    command = [sys.executable, "-m", "celery", "-A", "kato_console", "worker", "--beat"]
    command += ["--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    with log.open("wb") as output:
        worker = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield log
    finally:
        _stop(worker)
        flush_broker(redis.host, redis.port)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop the worker and its beat process (one process group): politely, then for sure."""
    with suppress(ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=10)
    with suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)  # the beat child too, should it linger
    worker.wait(timeout=10)


def wait_until(condition: Callable[[], bool], *, timeout: float, log: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    pytest.fail(f"{what} did not happen within {timeout:.0f} s. Worker log:\n{tail}")


def every_second() -> None:
    """The operator sets the tick to one second in the admin's Periodic tasks."""
    ensure_sweep_schedule()
    one_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    task = PeriodicTask.objects.get(task=SWEEP_TICK_TASK)
    task.interval = one_second
    task.expire_seconds = None
    task.save()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_with_beat_keeps_an_instances_health_current_without_anyone_calling_a_task(
    postgres_database, application, alice_actor: Actor, tmp_path: Path
) -> None:
    require_service("redis")
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    component = checked_component(
        application, alice_actor, interval_s=5, timeout_s=1, success_threshold=1, failure_threshold=1
    )
    instance = add_instance(component, f"127.0.0.1:{port}", alice_actor)
    every_second()

    def status() -> str:
        return Instance.objects.select_related("component__health_check").get(pk=instance.pk).status

    with running_worker(tmp_path) as log:
        wait_until(lambda: status() == Status.HEALTHY, timeout=WORKER_START_S, log=log, what="healthy")
        assert "instances.tasks.sweep_chunk" in log.read_text(errors="replace")  # through the broker

        listener.close()
        wait_until(lambda: status() == Status.UNHEALTHY, timeout=TRANSITION_S, log=log, what="unhealthy")
        stored = Instance.objects.get(pk=instance.pk)
        assert (stored.last_stage, stored.last_error) == ("connect", "connection refused")

        listener = socket.create_server(("127.0.0.1", port))
        try:
            wait_until(
                lambda: status() == Status.HEALTHY, timeout=TRANSITION_S, log=log, what="healthy again"
            )
        finally:
            listener.close()
