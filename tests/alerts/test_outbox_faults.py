"""The faults the outbox exists for, for real: a Celery worker (with beat) in a process of its own, a
Redis broker behind a proxy the test cuts, a loopback webhook receiver that counts idempotency keys,
and ``SIGKILL``.

One round is recorded while the broker is away; the worker is killed while a delivery waits out its
backoff, and again while a delivery is being sent; each time it is started again. Every delivery
then arrives, and each idempotency key is accepted by the receiver once and marked sent once.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from kato_console.alerts import services
from kato_console.alerts.models import Delivery
from kato_console.alerts.payloads import instance_event
from kato_console.alerts.tasks import DISPATCH_TASK
from tests.alerts.support import publishing_to
from tests.alerts.test_delivery import _transition
from tests.faults import faulty_proxy
from tests.instances.test_celery_e2e import database_url, flush_broker
from tests.support import require_service

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
BROKER_DB = 8  # a Redis database of its own, flushed before and after
DEADLINE_S = 120.0
WORKER_ENV = {
    "KATO_ALERT_BACKOFF_S": "3",
    "KATO_ALERT_TIMEOUT_S": "3",  # an attempt's lease: 2 × 3 + 10 s
    "KATO_ALERT_REQUEUE_S": "5",
    "KATO_ALERT_RETRIES": "8",
}


class CountingReceiver:
    """A webhook receiver on loopback that accepts each idempotency key once, and on demand answers
    500 to a key's first request, or holds a key's first request until released (never answering)."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.seen: Counter[str] = Counter()
        self.fail_first: set[str] = set()
        self.hold_first: set[str] = set()
        self.holding = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def _answer(self, key: str) -> int | None:
        with self._lock:
            self.seen[key] += 1
            first = self.seen[key] == 1
            if first and key in self.fail_first:
                return 500
            if first and key in self.hold_first:
                return None
            self.accepted[key] += 1  # a real receiver would drop a key it already accepted
            return 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._answer(self.headers.get("X-Kato-Delivery", ""))
                if status is None:
                    receiver.holding.set()
                    receiver.release.wait(60)
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[CountingReceiver]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.release.set()
            self.server.shutdown()
            self.server.server_close()


class Worker:
    """`celery worker --beat` in a process group of its own, on the test database and a broker."""

    def __init__(self, broker_url: str, log_dir: Path) -> None:
        self.broker_url, self.log_dir = broker_url, log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.logs: list[Path] = []

    def start(self) -> None:
        log = self.log_dir / f"worker-{len(self.logs) + 1}.log"
        self.logs.append(log)
        env = {
            **os.environ,
            **WORKER_ENV,
            "DJANGO_SETTINGS_MODULE": "kato_console.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": self.broker_url,
            "KATO_VAR_DIR": str(self.log_dir / "var"),
            "LOG_LEVEL": "INFO",
        }
        command = [sys.executable, "-m", "celery", "-A", "kato_console", "worker", "--beat"]
        command += ["--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_until(lambda: " ready." in log.read_text(errors="replace"), what="the worker ready", worker=self)

    def kill(self) -> None:
        """``SIGKILL`` to the worker and its beat: nothing is cleaned up, nothing is acknowledged."""
        if self.process is not None:
            with suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            with suppress(ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
        self.kill()

    def log_text(self) -> str:
        return "".join(log.read_text(errors="replace") for log in self.logs if log.exists())


def wait_until(condition: Callable[[], bool], *, what: str, worker: Worker, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s. Worker logs:\n{worker.log_text()[-6000:]}")


def dispatcher_every_second() -> None:
    """The operator sets the alerts' dispatcher to run every second in the admin's Periodic tasks."""
    one_second, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(task=DISPATCH_TASK).update(interval=one_second, expire_seconds=None)


def delivery(key: str) -> Delivery:
    return Delivery.objects.get(key=key)


def test_no_delivery_is_lost_to_a_broker_outage_or_a_killed_worker(
    team, alice_actor, static_component, tmp_path: Path, settings
) -> None:
    redis = require_service("redis")
    for name, value in WORKER_ENV.items():  # the test's process records rounds as the worker sees them
        setattr(settings, name, int(value))
    flush_broker(redis.host, redis.port, BROKER_DB)
    receiver = CountingReceiver()
    services.channel_create(team=team, actor=alice_actor, name="On call", kind="webhook", target=receiver.url)
    dispatcher_every_second()
    with (
        receiver.running(),
        faulty_proxy(redis.host, redis.port) as broker,
        publishing_to(f"redis://{broker.host}:{broker.port}/{BROKER_DB}"),
    ):
        worker = Worker(f"redis://{broker.host}:{broker.port}/{BROKER_DB}", tmp_path)
        try:
            _run_the_faults(worker, broker, receiver, redis, static_component)
        finally:
            worker.stop()
            flush_broker(redis.host, redis.port, BROKER_DB)


def _run_the_faults(
    worker: Worker, broker: Any, receiver: CountingReceiver, redis: Any, component: Any
) -> None:
    worker.start()
    started = time.monotonic()

    # The broker goes away during a round (and comes back empty, as a Redis without persistence does).
    broker.cut()
    outage = _keys_of_round(component, 1, 2, 3)
    time.sleep(2)
    flush_broker(redis.host, redis.port, BROKER_DB)
    broker.restore()

    # The worker is killed while a delivery waits out its backoff.
    [backoff] = _next_keys(component, 4, prepare=receiver.fail_first)
    wait_until(
        lambda: (d := delivery(backoff)).attempts == 1 and d.status == "pending" and d.lease_until is None,
        what="the first attempt's failure recorded",
        worker=worker,
    )
    worker.kill()
    worker.start()

    # The worker is killed while a delivery is being sent.
    [sending] = _next_keys(component, 5, prepare=receiver.hold_first)
    wait_until(receiver.holding.is_set, what="a send under way", worker=worker)
    worker.kill()
    receiver.release.set()
    worker.start()

    keys = [*outage, backoff, sending]
    wait_until(
        lambda: set(Delivery.objects.filter(key__in=keys).values_list("status", flat=True)) == {"sent"},
        what="every delivery sent",
        worker=worker,
        timeout=DEADLINE_S - (time.monotonic() - started),
    )
    assert receiver.accepted == Counter({key: 1 for key in keys})
    assert (delivery(backoff).attempts, delivery(sending).attempts) == (2, 2)
    marked_sent = Counter(re.findall(r"Alert delivery (\d+) to channel \d+ sent", worker.log_text()))
    assert marked_sent == Counter({str(delivery(key).pk): 1 for key in keys})


def _keys_of_round(component: Any, *instance_ids: int) -> list[str]:
    before = set(Delivery.objects.values_list("key", flat=True))
    with transaction.atomic():
        services.deliveries_for_transitions(
            transitions=[_transition(component, instance_id=pk) for pk in instance_ids]
        )
    return sorted(set(Delivery.objects.values_list("key", flat=True)) - before)


def _next_keys(component: Any, instance_id: int, *, prepare: set[str]) -> list[str]:
    """The key of the next transition's delivery, told to the receiver before the round commits."""
    event = instance_event(_transition(component, instance_id=instance_id), component)
    prepare.add(event.key)
    assert _keys_of_round(component, instance_id) == [event.key]
    return [event.key]
