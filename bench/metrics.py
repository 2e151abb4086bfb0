#!/usr/bin/env python
"""Benchmark of ``/metrics`` at 10,000 instances: p50 / p95 of a scrape on gunicorn and PostgreSQL.

The database holds 10,000 online instances with their health check on (1,000 components of ten, in
20 applications of 2 teams; 60 % healthy, 30 % unhealthy, 10 % not ready, each probed one with a
latency), 50 sweep rounds and a few request counts, analysed. One gunicorn worker answers; the
script scrapes it ``--scrapes`` times one after the other with the bearer token, as Prometheus
does, and reports the latency of the whole answer and its size.

Target: p95 <= 200 ms.

Run: .venv/bin/python bench/metrics.py [--scrapes 50]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres); creates and drops the database kato_bench_metrics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, environment, free_port, recreate_database, wait_for_port  # noqa: E402

DB_NAME = "kato_bench_metrics"
TOKEN = "bench-metrics-token-0123456789"
COMPONENTS, EACH = 1_000, 10


def seed() -> None:
    """Runs in a child process with the benchmark's environment."""
    import django

    django.setup()
    from django.db import connection

    from components.models import Application, Component, Port
    from core.models import Team
    from instances.models import Health, HealthCheck, Instance
    from kato_console.monitoring.models import InstanceApiRequests, SweepRound

    teams = Team.objects.bulk_create([Team(name=f"Team {t}", slug=f"team-{t}") for t in range(2)])
    applications = Application.objects.bulk_create(
        [Application(team=teams[a % 2], name=f"App {a}", slug=f"app-{a}") for a in range(20)]
    )
    components = Component.objects.bulk_create(
        [
            Component(
                team=applications[c % 20].team,
                application=applications[c % 20],
                name=f"db-{c}",
                service_name=f"db-{c}",
                service_id=f"{c:032x}",
                registration="static",
            )
            for c in range(COMPONENTS)
        ]
    )
    HealthCheck.objects.bulk_create([HealthCheck(component=c) for c in components])
    Port.objects.bulk_create(
        [Port(component=c, number=3306, protocol="mysql", alias="DB") for c in components]
    )
    healths = [Health.HEALTHY] * 6 + [Health.UNHEALTHY] * 3 + [Health.UNKNOWN]
    Instance.objects.bulk_create(
        [
            Instance(
                component=c,
                host=f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                health=healths[n % 10],
                latency_ms=1.0 + n % 50,
            )
            for i, c in enumerate(components)
            for n in range(i * EACH, (i + 1) * EACH)
        ],
        batch_size=2000,
    )
    SweepRound.objects.bulk_create([SweepRound(probed=10_000, seconds=2.3) for _ in range(50)])
    InstanceApiRequests.objects.bulk_create(
        [InstanceApiRequests(status=s, count=1000) for s in (200, 400, 403, 404)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scrapes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as var_dir:
        env = environment(
            db_name=DB_NAME,
            settings_module="kato_console.settings",
            secret="bench-metrics",
            var_dir=var_dir,
            KATO_METRICS_TOKEN=TOKEN,
        )
        recreate_database(DB_NAME, env)
        subprocess.run([sys.executable, __file__, "--seed-only"], env=env, cwd=ROOT, check=True)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "kato_console.wsgi"],
            env=env,
            cwd=ROOT,
        )
        try:
            wait_for_port(port)
            report(scrape_times(f"http://127.0.0.1:{port}/metrics", args.scrapes))
        finally:
            server.terminate()
            server.wait(timeout=30)
            if not os.environ.get("KATO_BENCH_KEEP"):
                drop_database(DB_NAME)


def scrape_times(url: str, count: int) -> tuple[list[float], int]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {TOKEN}"})
    times, size = [], 0
    for index in range(count + 3):
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            size = len(response.read())
        if index >= 3:  # the first scrapes warm the worker up
            times.append(time.perf_counter() - started)
    return times, size


def report(measured: tuple[list[float], int]) -> None:
    times, size = measured
    ms = sorted(t * 1000 for t in times)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    print(
        f"{len(ms)} scrapes of {size:,} bytes: p50 {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"
    )
    print("target p95 <= 200 ms:", "met" if p95 <= 200 else "MISSED")


if __name__ == "__main__":
    if "--seed-only" in sys.argv:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kato_console.settings")
        seed()
    else:
        main()
