#!/usr/bin/env python
"""Benchmark of the probe history (docs/monitoring.md): its pages, its upkeep and its size, on
PostgreSQL, in one run.

The database (its own, created and dropped): 1,000 third-party components of 10 instances each
(10,000 instances) in one application, 200 internal components depending on them (so "Down now"
names dependents), 5 % of the instances unhealthy. History: ``--history-instances`` instances (the
first components') get the full retention, synthetic but shaped like a real fleet's (a probe every
10 s: 6 a minute, one failure in 200, latencies around 5 ms with a tail): 2,880 minute rows,
2,160 hour rows and 730 day rows each; every other instance gets the minute rows of the last hour
(what the upkeep reads).

Measured, in this process (Django's test client, a logged-in user, DEBUG off), each page
``--requests`` times after a warm-up:
  - the overview of a component with full history and its 24-hour chart: p95 (target <= 150 ms);
  - the same with the 1-year chart: p95 (target <= 200 ms);
  - "Down now" across the application: p95 (target <= 150 ms);
  - one sweep round's history upsert for 10,000 results (``history.record_round``): wall time;
  - the upkeep (``history.upkeep``: the hour and day rows since its last run for 10,000 instances,
    and the retention): wall time of a first run that catches up with the seed, then of three
    runs as a worker makes them every 5 minutes, and per sweep round when it runs every 5 minutes and a round
    every 30 s; both against a 10,000-instance round's CPU (bench/RESULTS.md: about 0.27 ms per
    probe, 2.7 s), target <= 10 %;
  - the table's bytes per row (heap and indexes) and so per instance per day and at full retention.

Run: .venv/bin/python bench/history.py [--history-instances 1000] [--requests 60]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres; KATO_BENCH_PG to change it).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import drop_database, environment, recreate_database  # noqa: E402

DB_NAME = "kato_bench_history"
SEED_CHUNK = 500
SWEEP_ROUND_CPU_S = 10_000 * 0.27 / 1000  # bench/sweep_cpu.py on this machine, 10,000 probes


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def child(history_instances: int, requests: int) -> dict[str, object]:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.test import Client
    from django.utils import timezone

    from components import services
    from components.models import Component, ComponentKind, Dependency, Registration
    from core import services as accounts
    from core.audit import Actor
    from core.models import Role
    from instances import history
    from instances.models import HealthCheck, Instance, InstanceHistory

    user = get_user_model().objects.create_user(username="bench", password="bench-history-password-1")
    team = accounts.team_create(name="Bench")
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    actor = Actor.for_user(user, "127.0.0.1")
    application = services.application_create(team=team, name="Shop", actor=actor)
    Component.objects.bulk_create(
        Component(
            application=application,
            team=team,
            name=f"db-{n:04d}",
            service_name=f"db-{n:04d}",
            kind=ComponentKind.THIRD_PARTY,
            registration=Registration.STATIC,
        )
        for n in range(1000)
    )
    Component.objects.bulk_create(
        Component(
            application=application,
            team=team,
            name=f"app-{n:04d}",
            service_name=f"app-{n:04d}",
            kind=ComponentKind.INTERNAL,
        )
        for n in range(200)
    )
    third = list(Component.objects.filter(kind=ComponentKind.THIRD_PARTY).order_by("name"))
    internal = list(Component.objects.filter(kind=ComponentKind.INTERNAL).order_by("name"))
    HealthCheck.objects.bulk_create(HealthCheck(component=c, enabled=True) for c in third)
    HealthCheck.objects.bulk_create(HealthCheck(component=c, enabled=False) for c in internal)
    Dependency.objects.bulk_create(
        Dependency(component=app, target=third[(n * 5 + k) % 1000])
        for n, app in enumerate(internal)
        for k in range(3)
    )
    now = timezone.now()
    Instance.objects.bulk_create(
        Instance(
            component=c,
            host=f"10.{n // 250}.{n % 250}.{k + 1}",
            port=3306,
            health="unhealthy" if (n * 10 + k) % 20 == 0 else "healthy",
            health_since=now,
            latency_ms=5.0,
            last_checked_at=now,
        )
        for n, c in enumerate(third)
        for k in range(10)
    )
    ids = list(Instance.objects.order_by("id").values_list("id", flat=True))
    table = InstanceHistory._meta.db_table
    started = time.perf_counter()
    prune_index = InstanceHistory._meta.indexes[0].name
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        cursor.execute("SET statement_timeout = 0")  # the seed only; the measured parts keep the default
        # The seed goes in primary-key order; the second index is built once afterwards (a sort),
        # not row by row: at a whole fleet's full retention (58 million rows) that is the difference
        # between a quarter of an hour and most of an hour.
        cursor.execute(f"DROP INDEX {prune_index}")
        full = ids[:history_instances]
        for begin in range(0, len(full), SEED_CHUNK):
            chunk = full[begin : begin + SEED_CHUNK]
            for period, count in ((60, 2880), (3600, 2160), (86400, 730)):
                cursor.execute(
                    f"""INSERT INTO {table} (instance_id, period, start, probes, failures, latency_min,
                        latency_avg, latency_p95, latency_max)
                    SELECT i, %s, date_trunc('minute', now()) - make_interval(secs => %s * s), %s * 6,
                           CASE WHEN random() < %s THEN 1 ELSE 0 END,
                           2 + random(), 4 + 2 * random(), 8 + 10 * random(), 12 + 40 * random()
                    FROM unnest(%s::bigint[]) AS i, generate_series(1, %s) AS s
                    ORDER BY i, s DESC""",
                    [period, period, period // 60, min(1.0, period / 60 / 200 * 6), chunk, count],
                )
            done = begin + len(chunk)
            print(
                f"seeded the full history of {done:,} of {len(full):,} instances "
                f"({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        # Every other instance: the minute rows of the last hour, as the sweep leaves them.
        cursor.execute(
            f"""INSERT INTO {table} (instance_id, period, start, probes, failures, latency_min,
                latency_avg, latency_p95, latency_max)
            SELECT i, 60, date_trunc('minute', now()) - make_interval(mins => s), 6, 0, 3, 5, 9, 9
            FROM unnest(%s::bigint[]) AS i, generate_series(1, 60) AS s""",
            [ids[history_instances:]],
        )
        print("building the second index and analysing", file=sys.stderr, flush=True)
        cursor.execute("SET maintenance_work_mem = '1GB'")
        cursor.execute(f"CREATE INDEX {prune_index} ON {table} (period, start)")
        cursor.execute(f"VACUUM ANALYZE {table}")
        # The seed's writes reach the disk now, not during the measurements.
        cursor.execute("CHECKPOINT")
        cursor.execute(
            f"SELECT count(*), pg_relation_size('{table}'), pg_indexes_size('{table}') FROM {table}"
        )
        rows, heap, indexes = cursor.fetchone()
    seeded_s = time.perf_counter() - started

    client = Client()
    client.force_login(user)
    measured = third[0]  # its instances have the full history

    def timed(url: str) -> list[float]:
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        samples = []
        for _ in range(requests):
            begun = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - begun) * 1000)
            assert response.status_code == 200
        return samples

    overview = timed(f"/components/{measured.service_id}/")
    year = timed(f"/components/{measured.service_id}/?window=1y")
    down = timed("/down/")

    results = [(pk, n % 200 != 0, 5.0) for n, pk in enumerate(ids)]
    upserts = []
    for round_number in range(3):
        begun = time.perf_counter()
        with transaction.atomic():
            history.record_round(results, timezone.now() + timedelta(seconds=10 * round_number))
        upserts.append(time.perf_counter() - begun)
    # The first upkeep catches up with the seed (its hour rows do not start on the hour); the next
    # ones are the steady state of a worker that runs it every 5 minutes.
    upkeeps = []
    for _ in range(4):
        begun = time.perf_counter()
        history.upkeep()
        upkeeps.append(time.perf_counter() - begun)

    bytes_per_row = (heap + indexes) / rows
    upkeep_per_round = statistics.median(upkeeps[1:]) * 30 / 300
    return {
        "rows": rows,
        "seeded_s": round(seeded_s, 1),
        "heap_bytes": heap,
        "index_bytes": indexes,
        "bytes_per_row": round(bytes_per_row, 1),
        "bytes_per_instance_per_day_minute_rows": round(1440 * bytes_per_row),
        "bytes_per_instance_full_retention": round((2880 + 2160 + 730) * bytes_per_row),
        "overview_24h_p95_ms": round(p95(overview), 1),
        "overview_24h_median_ms": round(statistics.median(overview), 1),
        "overview_1y_p95_ms": round(p95(year), 1),
        "overview_1y_median_ms": round(statistics.median(year), 1),
        "down_now_p95_ms": round(p95(down), 1),
        "down_now_median_ms": round(statistics.median(down), 1),
        "upsert_10000_s": [round(s, 3) for s in upserts],
        "upkeep_catch_up_s": round(upkeeps[0], 3),
        "upkeep_s": [round(s, 3) for s in upkeeps[1:]],
        "upsert_share_of_round_cpu": round(statistics.median(upserts) / SWEEP_ROUND_CPU_S, 3),
        "upkeep_per_round_share": round(upkeep_per_round / SWEEP_ROUND_CPU_S, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--history-instances", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep-database", action="store_true", help=f"leave {DB_NAME} to look into")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.history_instances, args.requests)))
        return
    with tempfile.TemporaryDirectory() as var_dir:
        env = environment(
            db_name=DB_NAME,
            settings_module="kato_console.settings",
            secret="bench-history",
            var_dir=var_dir,
        )
        env["ALLOWED_HOSTS"] = "testserver"
        # The seed's statements (an index over up to 58 million rows) outlast the bound the console
        # puts on a database's answer; a bound on the client's wait only, it changes no figure.
        env["KATO_DB_ANSWER_TIMEOUT_S"] = "3600"
        recreate_database(DB_NAME, env, "collectstatic")
        try:
            load = os.getloadavg()[0]
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    "--history-instances",
                    str(args.history_instances),
                    "--requests",
                    str(args.requests),
                ],
                env=env,
                cwd=ROOT,
                check=True,
                stdout=subprocess.PIPE,
                text=True,
            ).stdout
            figures = json.loads(out.strip().splitlines()[-1])
        finally:
            if not args.keep_database:
                drop_database(DB_NAME)
    print(f"load average (1 min) at start: {load:.2f}")
    for key, value in figures.items():
        print(f"{key:42} {value}")
    checks = [
        ("overview with its 24 h chart p95 <= 150 ms", figures["overview_24h_p95_ms"] <= 150),
        ("overview with its 1-year chart p95 <= 200 ms", figures["overview_1y_p95_ms"] <= 200),
        ('"Down now" p95 <= 150 ms', figures["down_now_p95_ms"] <= 150),
        ("history upkeep per round <= 10 % of a round's CPU", figures["upkeep_per_round_share"] <= 0.10),
    ]
    for text, ok in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
