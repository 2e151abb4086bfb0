#!/usr/bin/env python
"""The sweep's own CPU per probe, before and after a change, in one run: 10,000 instances whose
addresses refuse connections (the probes cost next to nothing and need no fleet, so what is
measured is the claim, the plan, the record and the audit events), on PostgreSQL.

Each version (the working tree, and ``--before <commit>`` from ``git archive``) runs in a process of
its own on the same database; the versions take turns, ``--rounds`` times. A round: every instance
back to unknown health and due, then ``sweep_round()`` (claim, probe, record: each instance turns
unhealthy, so 10,000 health transitions are audited). Printed: wall seconds, CPU ms per probe of
the sweeping process (``time.process_time``) and the statements it sent.

Targets (issue 15): the sweep's CPU per probe <= 0.3 ms; the 10,000 round with answering and silent
targets (bench/sweep.py --scale) is the wall-time figure.

Run: .venv/bin/python bench/sweep_cpu.py [--instances 10000] [--rounds 2] [--before <commit>] [--host localhost]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres; KATO_BENCH_PG to change).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import environment, recreate_database  # noqa: E402

# Its own database, unless told otherwise: two checkouts on one server must not share one.
DB_NAME = os.environ.get("KATO_BENCH_SWEEP_CPU_DB", "kato_bench_sweep_cpu")

SEED = """
import socket, sys, django
django.setup()
from components import services
from core import services as accounts
from instances.models import Instance
from instances.services import component_create, health_check_update
from core.audit import Actor
actor = Actor.system()
team = accounts.team_create(name="Bench")
app = services.application_create(team=team, name="bench", actor=actor)
count, host = int(sys.argv[1]), sys.argv[2]
# Ports that refuse: bound and closed again, so nothing listens there (all bound before any is
# closed, or the system may hand out one port twice).
sockets = [socket.socket() for _ in range(100)]
for sock in sockets:
    sock.bind(("127.0.0.1", 0))
ports = [sock.getsockname()[1] for sock in sockets]
for sock in sockets:
    sock.close()
for n in range(count // 100):
    component = component_create(application=app, name=f"svc-{n}", registration="static", actor=actor)
    health_check_update(component=component, timeout_s=2, failure_threshold=1, actor=actor)
    Instance.objects.bulk_create(
        Instance(component=component, host=host, port=port) for port in ports
    )
"""

ROUND = """
import json, time, django
django.setup()
from django.db import connection
from django.db.models import F
from instances.models import Instance
from instances.sweep import sweep_round
Instance.objects.update(health="unknown", consecutive_failures=0, consecutive_successes=0, next_probe_at=None)
statements = []
connection.execute_wrappers.append(lambda execute, sql, params, many, context: (statements.append(sql), execute(sql, params, many, context))[1])
wall, cpu = time.perf_counter(), time.process_time()
report = sweep_round()
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
print(json.dumps({"probed": report.probed, "wall_s": wall, "cpu_ms_per_probe": cpu * 1000 / max(report.probed, 1), "statements": len(statements), "statuses": report.statuses}))
"""


def checkout(commit: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="kato-bench-before-"))
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


def run(code: str, env: dict[str, str], tree: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=tree,
        env={**env, "PYTHONPATH": str(tree)},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--before", action="append", default=[])
    # A DNS name (localhost) measures name instances: a lookup each, and their addresses recorded.
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    env = environment(
        db_name=DB_NAME,
        settings_module="kato_console.settings",
        secret="bench-",
        var_dir=tempfile.mkdtemp(prefix="kato-bench-"),
        KATO_SWEEP_JITTER_S="0",
    )
    recreate_database(DB_NAME, env)
    run(SEED, env, ROOT, str(args.instances), args.host)
    trees = {**{f"before ({commit})": checkout(commit) for commit in args.before}, "after": ROOT}
    load = [os.getloadavg()[0]]
    results: dict[str, list[dict]] = {version: [] for version in trees}
    for _ in range(args.rounds):
        for version, tree in trees.items():
            results[version].append(json.loads(run(ROUND, env, tree)))
    load.append(os.getloadavg()[0])
    print(
        f"{args.instances} instances at refusing addresses ({args.host}); load average (1 min) {load[0]:.2f} -> {load[1]:.2f}"
    )
    print(f"{'version':24} {'wall s by round':>20} {'CPU ms/probe by round':>24} {'statements':>10}")
    for version, rounds in results.items():
        walls = " ".join(f"{r['wall_s']:.2f}" for r in rounds)
        cpus = " ".join(f"{r['cpu_ms_per_probe']:.3f}" for r in rounds)
        print(f"{version:24} {walls:>20} {cpus:>24} {median(r['statements'] for r in rounds):>10.0f}")
        assert all(r["probed"] == args.instances for r in rounds), rounds
    after = median(r["cpu_ms_per_probe"] for r in results["after"])
    print(f"{'PASS' if after <= 0.3 else 'MISS'}  CPU <= 0.3 ms per probe: {after:.3f}")


if __name__ == "__main__":
    main()
