"""The loopback webhook receiver of the alerts tests (also used by the browser test).

A test module takes the fixture by assignment (``receiver = support.receiver``), which pytest collects.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from kato_console.alerts import tasks
from kato_console.alerts.models import Delivery
from kato_console.celery import app as celery_app


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    answered: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1; answers each POST with the next of ``answers`` (the last
    one repeats) and keeps what it received."""

    answers: list[int] = field(default_factory=lambda: [200])
    requests: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kato?team=payments"

    def answer(self) -> int:
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer()
            state.requests.append(Received(self.path, dict(self.headers.items()), body, status))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def backoff_runs_out() -> None:
    """Every pending delivery's next attempt comes due, and beat's dispatcher runs (through Celery;
    eagerly when the test asks for it)."""
    Delivery.objects.filter(status="pending").update(next_attempt_at=timezone.now(), lease_until=None)
    tasks.dispatch_deliveries.delay()


@contextmanager
def publishing_to(broker_url: str) -> Iterator[None]:
    """The console's Celery (in the test's process) publishes to ``broker_url``, for real (not eagerly)."""
    saved = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    # Celery prefers CELERY_BROKER_URL from the environment to its configuration: out while we publish.
    environment = os.environ.pop("CELERY_BROKER_URL", None)
    celery_app.conf.broker_url, celery_app.conf.task_always_eager = broker_url, False
    celery_app.close()  # the publisher's connection pool is made again from the new URL
    try:
        yield
    finally:
        if environment is not None:
            os.environ["CELERY_BROKER_URL"] = environment
        celery_app.conf.broker_url, celery_app.conf.task_always_eager = saved
        celery_app.close()
