#!/usr/bin/env python
"""Benchmark of the Kato-compatible PUT against a bare Django view, on gunicorn and PostgreSQL.

Measured in one run, on the same server: requests per second and p50/p99 latency of
  - the bare view (a small JSON body, nothing else): the baseline,
  - a PUT that changes nothing (the instance exists, same is_online),
  - a PUT that adds a new instance each time,
in rounds (bare, no-op, add, then again, each after an unmeasured VACUUM ANALYZE), reporting the
medians; then each PUT's p50/p99 at 80 % of its own saturation throughput (a fixed request
rate). The database holds a console in use (2,000 instances in 100 components, analysed) before
the first request; the adds go to 200 more components in turn (as scripts' adds do), each under
the default instance limit.

Targets (issue 15, the plain view on the ORM): a no-op PUT >= 0.40 x the bare view, an add >= 0.20 x;
p99 <= 20 ms at 80 % of the PUT's saturation.

``--before <commit>`` serves that commit's code too (from ``git archive``, on the same database and
settings), and the two versions take turns within every round: before and after in one run, on
the same CPUs.

Run: .venv/bin/python bench/api_put.py [--seconds 10] [--rounds 3] [--workers 3] [--before <commit>]
     [--database-cpu]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and wrk (the Debian package; installed with
apt-get when missing and run as root). --database-cpu puts PostgreSQL on a CPU of its own and the
web tier and wrk on the others, as when the database has its own host (needs root).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import environment, free_port, recreate_database  # noqa: E402

DB_NAME = os.environ.get("KATO_BENCH_DATABASE", "kato_bench_api")  # one per person on a shared machine


def ensure_tools() -> None:
    if shutil.which("wrk") is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    if shutil.which("wrk") is None:
        sys.exit("Install wrk (the Debian package) to run this benchmark.")


def prepare_database(env: dict[str, str]) -> dict[str, str]:
    recreate_database(DB_NAME, env)
    seed = subprocess.run(
        [sys.executable, "-c", SEED, str(EXISTING_COMPONENTS), str(EXISTING_INSTANCES_EACH)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(seed.stdout.strip().splitlines()[-1])


SEED = """
import json, sys, django
django.setup()
from django.db import connection
from components import services
from core import services as accounts
from core.audit import Actor
from instances.addresses import parse_address
from instances.services import component_create, instance_add
actor = Actor.system()
team = accounts.team_create(name="Bench")
app = services.application_create(team=team, name="bench", actor=actor)
# A console in use: other components and their instances, and statistics on them.
components, instances_each = int(sys.argv[1]), int(sys.argv[2])
for n in range(components):
    other = component_create(application=app, name=f"other-{n}", registration="api", actor=actor)
    for m in range(instances_each):
        instance_add(component=other, address=parse_address(f"10.1.{n}.{m + 1}:3306"), actor=actor, source="api")
component = component_create(application=app, name="legacy", registration="api", actor=actor)
# The adds go to many components, as scripts' adds do, each staying under the instance limit.
targets = [component_create(application=app, name=f"new-{n}", registration="api", actor=actor) for n in range(200)]
with connection.cursor() as cursor:
    cursor.execute("ANALYZE")
print(json.dumps({
    "service_id": component.service_id,
    "secret_key": component.secret_key,
    "targets": [[t.service_id, t.secret_key] for t in targets],
}))
"""
# Other components, and instances of each, in the database before the measurements.
EXISTING_COMPONENTS, EXISTING_INSTANCES_EACH = 100, 20


def vacuum(env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")


def start_gunicorn(
    env: dict[str, str], workers: int, tree: Path = ROOT
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "kato_console.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--backlog",
            "2048",
        ],
        cwd=tree,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/bench/bare", timeout=1).read()
            return process, base
        except OSError:
            time.sleep(0.2)
    process.kill()
    sys.exit("gunicorn did not start")


def _to_ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, seconds: int, connections: int, script: str | None = None) -> dict[str, float]:
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", url]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        if script:
            lua.write(script)
            args[1:1] = ["-s", lua.name]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    p50 = re.search(r"\s50%\s+([\d.]+)(us|ms|s)", output)
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", output)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": rps,
        "p50_ms": _to_ms(*p50.groups()),
        "p99_ms": _to_ms(*p99.groups()),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def wrk_fixed_rate(
    url: str, script: str, rate: float, seconds: int, connections: int = 16
) -> dict[str, float]:
    """Send about ``rate`` requests per second: each connection waits between its requests.

    wrk has no rate option; a per-connection pause (its ``delay`` hook) paces it. The pause is
    calibrated once against the achieved rate, so the offered load lands close to the target. The
    same client as for the saturation runs, so its own CPU use on this machine is the same too.
    """
    pause_ms = connections / rate * 1000
    result: dict[str, float] = {}
    for _ in range(2):
        paced = script + f"\ndelay = function() return {pause_ms:.3f} end\n"
        result = wrk(url, seconds, connections, paced)
        achieved = result["rps"]
        # Each connection's cycle is pause + latency; shorten the pause by what latency added.
        pause_ms = max(0.0, pause_ms - (connections / achieved - connections / rate) * 1000)
        if abs(achieved - rate) / rate < 0.05:
            break
    result["target_rps"] = rate
    return result


PUT_NOOP = """
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"secret_key":"%s","ip":"10.0.0.7:3306","is_online":true}'
"""

PUT_ADD = """
wrk.method = "PUT"
wrk.headers["Content-Type"] = "application/json"
local n = %(start)d
local threads = 0
local targets = {%(targets)s}
setup = function(thread) thread:set("id", threads); threads = threads + 1 end
request = function()
  n = n + 1
  local k = n * 2 + id
  local target = targets[(k %% #targets) + 1]
  local ip = string.format("10.%%d.%%d.%%d", 16 + math.floor(k / 65025) %% 200, math.floor(k / 255) %% 255, k %% 255 + 1)
  return wrk.format(nil, target[1], nil, '{"secret_key":"' .. target[2] .. '","ip":"' .. ip .. '","is_online":true}')
end
"""


def add_script(start: int, targets: list[list[str]]) -> str:
    """Adds spread over ``targets`` (service id, secret key), each address new."""
    table = ", ".join(f'{{"/console/third_party/{sid}", "{key}"}}' for sid, key in targets)
    return PUT_ADD % {"start": start, "targets": table}


@contextlib.contextmanager
def database_on_its_own_cpu(enabled: bool) -> Iterator[None]:
    """With ``enabled``, PostgreSQL's processes on the last CPU and this process (so gunicorn and
    wrk, which inherit it) on the others, as when the database has a host of its own; restored
    afterwards. Changing PostgreSQL's affinity needs root (or the postgres user)."""
    if not enabled:
        yield
        return
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        sys.exit("--database-cpu needs at least two CPUs.")
    database_cpu, web_cpus = {cpus[-1]}, set(cpus[:-1])
    pids = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout.split()
    before = {int(pid): os.sched_getaffinity(int(pid)) for pid in pids}
    mine = os.sched_getaffinity(0)
    try:
        for pid in before:  # the postmaster too: the backends forked later inherit its affinity
            os.sched_setaffinity(pid, database_cpu)
        os.sched_setaffinity(0, web_cpus)
        yield
    finally:
        os.sched_setaffinity(0, mine)
        for pid in subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True).stdout.split():
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(pid), before.get(int(pid), mine))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument(
        "--workers", type=int, default=3, help="gunicorn sync workers (docker-compose.yml runs 3)"
    )
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of bare, no-op and add runs in turn; the figures are the medians",
    )
    parser.add_argument(
        "--before",
        action="append",
        default=[],
        help="a git commit to measure beside the working tree, in the same rounds (its code only: "
        "the same database, settings and machine); may be given more than once",
    )
    parser.add_argument(
        "--database-cpu",
        action="store_true",
        help="run PostgreSQL on a CPU of its own, the web tier and wrk on the others (needs root)",
    )
    args = parser.parse_args()
    ensure_tools()
    env = environment(
        db_name=DB_NAME,
        settings_module="bench.settings",
        secret="bench-",
        var_dir=tempfile.mkdtemp(prefix="kato-bench-"),
    )
    seeded = prepare_database(env)
    trees = {**{f"before ({commit})": checkout(commit) for commit in args.before}, "after": ROOT}
    load_before = os.getloadavg()
    with database_on_its_own_cpu(args.database_cpu):
        measured = measure(env, seeded, args, trees)
    for version, (rounds, fixed) in measured.items():
        report(version, rounds, fixed, args)
    print(
        f"load average (1, 5, 15 min): before the run {fmt_load(load_before)}, after {fmt_load(os.getloadavg())}"
    )


def fmt_load(load: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in load)


def checkout(commit: str) -> Path:
    """The code of ``commit`` in a directory of its own (``git archive``), to serve beside this one."""
    directory = Path(tempfile.mkdtemp(prefix="kato-bench-before-"))
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(directory)], input=archive, check=True)
    return directory


Rounds = list[dict[str, dict[str, float]]]


def measure(
    env: dict[str, str], seeded: dict[str, Any], args: argparse.Namespace, trees: dict[str, Path]
) -> dict[str, tuple[Rounds, dict[str, dict[str, float]]]]:
    """Each version's rounds and paced runs; the versions take turns within every round."""
    secret = seeded["secret_key"]
    servers, bases = [], {}
    try:
        for version, tree in trees.items():
            server, base = start_gunicorn({**env, "PYTHONPATH": str(tree)}, args.workers, tree)
            servers.append(server)
            bases[version] = base
        endpoints = {v: f"{base}/console/third_party/{seeded['service_id']}" for v, base in bases.items()}
        for version, base in bases.items():
            first_put(endpoints[version], secret)
            wrk(f"{base}/bench/bare", 2, args.connections)  # warm up every worker
        rounds: dict[str, Rounds] = {version: [] for version in trees}
        for number in range(args.rounds):
            for offset, (version, base) in enumerate(bases.items()):
                # The same load in turn, so that the machine's drift touches every kind alike.
                adds = add_script(number * 1_000_000 + offset * 500_000, seeded["targets"])
                measured = {}
                for kind, url, script in (
                    ("bare", f"{base}/bench/bare", None),
                    ("noop", endpoints[version], PUT_NOOP % secret),
                    ("add", endpoints[version], adds),
                ):
                    # The adds of the run before leave autovacuum work behind; do it now,
                    # unmeasured, so that it does not land on whichever run happens to follow.
                    vacuum(env)
                    measured[kind] = wrk(url, args.seconds, args.connections, script)
                rounds[version].append(measured)
        fixed: dict[str, dict[str, dict[str, float]]] = {version: {} for version in trees}
        for offset, version in enumerate(bases):
            for kind, script in (
                ("noop", PUT_NOOP % secret),
                ("add", add_script(args.rounds * 1_000_000 + offset * 500_000, seeded["targets"])),
            ):
                vacuum(env)
                saturation = median([r[kind]["rps"] for r in rounds[version]])
                fixed[version][kind] = wrk_fixed_rate(
                    endpoints[version], script, 0.8 * saturation, args.seconds
                )
    finally:
        for server in servers:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    return {version: (rounds[version], fixed[version]) for version in trees}


def first_put(endpoint: str, secret: str) -> None:
    body = json.dumps({"secret_key": secret, "ip": "10.0.0.7:3306", "is_online": True}).encode()
    request = urllib.request.Request(
        endpoint, method="PUT", data=body, headers={"Content-Type": "application/json"}
    )
    assert json.load(urllib.request.urlopen(request))["code"] == 200


TARGETS = {"noop": 0.40, "add": 0.20, "p99_ms": 20.0}


def report(
    version: str, rounds: Rounds, fixed: dict[str, dict[str, float]], args: argparse.Namespace
) -> None:
    summary = {
        kind: {field: median([r[kind][field] for r in rounds]) for field in ("rps", "p50_ms", "p99_ms")}
        for kind in ("bare", "noop", "add")
    }
    errors = {kind: sum(r[kind]["errors"] for r in rounds) for kind in ("bare", "noop", "add")}
    figures = {
        "version": version,
        "rounds": rounds,
        "median": summary,
        "put_noop_at_80pct": fixed["noop"],
        "put_add_at_80pct": fixed["add"],
        "ratio_put_noop_vs_bare": summary["noop"]["rps"] / summary["bare"]["rps"],
        "ratio_put_add_vs_bare": summary["add"]["rps"] / summary["bare"]["rps"],
    }
    print(
        f"== {version}: gunicorn {args.workers} sync workers, wrk 2 threads x {args.connections} connections, "
        f"{args.rounds} rounds of {args.seconds} s per kind, PostgreSQL"
        + (" on a CPU of its own" if args.database_cpu else " on the same CPUs")
    )
    print(f"{'':28} {'req/s by round':>24} {'median':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for kind, name in (
        ("bare", "bare Django view (baseline)"),
        ("noop", "PUT, changes nothing"),
        ("add", "PUT, adds an instance"),
    ):
        by_round = " ".join(f"{r[kind]['rps']:.0f}" for r in rounds)
        row = summary[kind]
        print(
            f"{name:28} {by_round:>24} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f} {errors[kind]:8d}"
        )
    by_round = lambda kind: " ".join(f"{r[kind]['rps'] / r['bare']['rps']:.2f}" for r in rounds)  # noqa: E731
    for kind, name in (("noop", "no-op"), ("add", "add")):
        paced = fixed[kind]
        print(
            f"PUT {name} paced at {paced['rps']:.0f} req/s (target {paced['target_rps']:.0f}, 80 % of its "
            f"saturation): p50 {paced['p50_ms']:.2f} ms, p99 {paced['p99_ms']:.2f} ms, non-2xx {paced['errors']}"
        )
    print(
        f"ratio PUT no-op / bare: {figures['ratio_put_noop_vs_bare']:.2f} (target >= {TARGETS['noop']:.2f}; by round {by_round('noop')})"
    )
    print(
        f"ratio PUT add / bare:   {figures['ratio_put_add_vs_bare']:.2f} (target >= {TARGETS['add']:.2f}; by round {by_round('add')})"
    )
    print(
        f"p99 at 80 %: no-op {fixed['noop']['p99_ms']:.1f} ms, add {fixed['add']['p99_ms']:.1f} ms (target <= {TARGETS['p99_ms']:.0f} ms)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
