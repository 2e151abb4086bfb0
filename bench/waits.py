#!/usr/bin/env python
"""How long the console waits for servers that never answer: the figures the tests do not assert.

Measured in one run, each against the bound it promises (the ratio printed is figure ÷ bound):
  - a probe of a server that accepts and never answers, for each kind (timeout 0.5 s): it gives up
    within the timeout and half a second;
  - the wizard's connectivity test of three silent MySQL servers at once
    (``instances.connectivity.address_tests``, as the wizard's results step calls it): within its
    timeout (3 s) and a second;
  - "Probe now" of a component with one answering and two silent instances behind an HTTP check
    whose timeout (12 s) is far beyond the wait (``probe_component_now``, as
    ``POST /api/v1/components/<id>/probe`` calls it, with KATO_PROBE_NOW_WAIT_S = 2): within the wait
    and 2.5 s for the request's own work; the silent ones go to a worker through Redis.

The round of 1,000 instances with 300 silent (once in tests/instances/test_sweep_scale.py) is
measured at 10,000 by ``bench/sweep.py --scale``.

Run: .venv/bin/python bench/waits.py
Needs PostgreSQL on 127.0.0.1:5432 (user postgres; KATO_BENCH_PG to change) and a Redis (port
KATO_TEST_REDIS_PORT, default 6379; database 9 is flushed).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import environment, recreate_database  # noqa: E402

DB_NAME = "kato_bench_waits"
REDIS = f"redis://{os.environ.get('KATO_TEST_REDIS_HOST', '127.0.0.1')}:{os.environ.get('KATO_TEST_REDIS_PORT', '6379')}/9"
PROBE_TIMEOUT_S = 0.5
PROBE_NOW_WAIT_S = 2
PROBE_NOW_CHECK_TIMEOUT_S = 12


@contextmanager
def silent_servers(count: int) -> Iterator[list[int]]:
    """Listeners whose connections are accepted by the kernel and never answered."""
    with ExitStack() as stack:
        yield [
            stack.enter_context(socket.create_server(("127.0.0.1", 0))).getsockname()[1] for _ in range(count)
        ]


@contextmanager
def answering_http() -> Iterator[int]:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Ok(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"OK")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


def timed(work: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def probes_giving_up() -> list[tuple[str, float, float]]:
    from instances.probes import ProbeTarget, probe_sync

    rows = []
    with silent_servers(1) as (port,):
        for kind in ("http", "mysql", "postgresql", "redis"):
            target = ProbeTarget(kind=kind, host="127.0.0.1", port=port, timeout_s=PROBE_TIMEOUT_S)
            seconds, result = timed(lambda target=target: probe_sync(target))
            assert not result.ok  # type: ignore[attr-defined]
            rows.append(
                (
                    f"probe of a silent {kind} server, timeout {PROBE_TIMEOUT_S} s",
                    seconds,
                    PROBE_TIMEOUT_S + 0.5,
                )
            )
    return rows


def wizard_test() -> tuple[str, float, float]:
    from instances.addresses import parse_address
    from instances.connectivity import TEST_TIMEOUT_S, address_tests

    with silent_servers(3) as ports:
        addresses = [parse_address(f"127.0.0.1:{port}") for port in ports]
        seconds, tests = timed(lambda: address_tests(addresses, port=None, protocol="mysql"))
    assert not any(test.ok for test in tests)  # type: ignore[attr-defined]
    return ("wizard test of three silent MySQL servers", seconds, TEST_TIMEOUT_S + 1)


def probe_now() -> tuple[str, float, float]:
    from components import services
    from core import services as accounts
    from core.audit import Actor
    from instances.addresses import parse_address
    from instances.services import component_create, health_check_update, instance_add
    from instances.sweep import probe_component_now

    actor = Actor.system()
    team = accounts.team_create(name="Bench")
    application = services.application_create(team=team, name="bench", actor=actor)
    component = component_create(application=application, name="web", registration="static", actor=actor)
    health_check_update(
        component=component, kind="http", timeout_s=PROBE_NOW_CHECK_TIMEOUT_S, interval_s=60, actor=actor
    )
    with answering_http() as quick, silent_servers(2) as silent:
        for port in (quick, *silent):
            instance_add(component=component, address=parse_address(f"127.0.0.1:{port}"), actor=actor)
        seconds, probed = timed(lambda: probe_component_now(component=component, actor=actor))
    assert len(probed) == 1 and len(probed.pending) == 2  # type: ignore[arg-type, attr-defined]
    return ("probe now, 1 answering + 2 silent (timeout 12 s)", seconds, PROBE_NOW_WAIT_S + 2.5)


def main() -> None:
    env = environment(
        db_name=DB_NAME,
        settings_module="kato_console.settings",
        secret="bench-",
        var_dir=tempfile.mkdtemp(prefix="kato-bench-"),
        CELERY_BROKER_URL=REDIS,
        KATO_PROBE_NOW_WAIT_S=str(PROBE_NOW_WAIT_S),
    )
    recreate_database(DB_NAME, env)
    os.environ.update(env)
    import django

    django.setup()
    from celery import current_app

    rows = [*probes_giving_up(), wizard_test(), probe_now()]
    with current_app.connection_for_write() as connection:
        connection.default_channel.client.flushdb()
    print(f"load average: {' '.join(f'{n:.2f}' for n in os.getloadavg())}")
    print(f"{'':52} {'seconds':>8} {'bound':>6} {'ratio':>6}")
    for name, seconds, bound in rows:
        print(
            f"{name:52} {seconds:8.2f} {bound:6.1f} {seconds / bound:6.2f} {'PASS' if seconds <= bound else 'MISS'}"
        )


if __name__ == "__main__":
    main()
