#!/usr/bin/env python
"""Benchmark of the connectivity sweep: 2,000 instances on loopback listeners, on PostgreSQL.

The fleet (started by this script in a separate process, asyncio servers in one event loop):
  70 % answering: TCP listeners (accept and close), HTTP servers (200), MySQL greeting servers
      (a MariaDB greeting, then wait for the probe to hang up);
  30 % accepting and never answering, behind HTTP and MySQL checks (they time out).
Probe timeout 2 s; failure and success thresholds 1, so one round tells every instance's health.

Measured in one run:
  - the project's sweep (``instances.sweep.sweep_round``: claim, concurrent probes, bulk record)
    over the 2,000 instances, several rounds: wall time, CPU of this process alone (start-up and
    set-up excluded), SQL statements, instances reported unhealthy although they answer;
  - the web process (gunicorn, same database) answering a component page during the rounds: p95;
  - the sweep over the HTTP fleet alone, and Prometheus blackbox_exporter probing the same HTTP
    fleet through its /probe endpoint, all targets at once: wall time, CPU per probe, ratios;
  - a plain serial loop (``probe_sync`` one target after the other) over a sample, extrapolated.

Targets (issue "Connectivity tests"): wall <= jitter window + 1.2 x timeout and <= blackbox's wall;
CPU <= 0.5 ms per probe; no answering instance unhealthy; <= 30 SQL statements per round; web
p95 < 500 ms while a sweep runs.

Run: .venv/bin/python bench/sweep.py [--instances 2000] [--rounds 3] [--serial-sample 100]

``--scale`` measures instead, in one run and on the shipped defaults (no KATO_ setting changed):
  - a round of 10,000 instances (30 % silent, timeout 2 s) in one process (``sweep_round``, what
    ``manage.py probe_sweep --all`` runs): target <= jitter window + 2 x timeout, CPU <= 0.3 ms/probe;
  - the sweep probing 10,000 HTTP targets at once (jitter 0, as "probe now" does) and
    blackbox_exporter probing the same 10,000 through /probe: wall and CPU per probe, ours below;
  - a round of 50,000 instances shared by two Celery worker processes (solo pool) on Redis:
    wall time, chunks per worker, CPU per probe of the workers.
  Addresses repeat across components (100 listener ports per kind), so the fleet needs few
  listening sockets. The fleet must cost almost nothing, or it is what gets measured: four
  processes listen on every port (SO_REUSEPORT, the kernel spreads connections over them), each
  connection is answered by a uvloop protocol callback with a pre-built answer (about 0.05 ms of
  the fleet's CPU per connection), and before the rounds every port is checked (the answering
  answer, the silent accept and never answer) and 7,000 HTTP probes next to 3,000 silent ones must
  all be answered within the timeout, or the run stops. The fleet and blackbox_exporter get a raised
  open-files limit (run as root, or with a hard limit of 65,536 or more).
Needs PostgreSQL on 127.0.0.1:5432 (user postgres; KATO_BENCH_PG to change) and
/usr/bin/prometheus-blackbox-exporter (Debian package prometheus-blackbox-exporter).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import common  # noqa: E402
from bench.common import drop_database, free_port, recreate_database, wait_for_port  # noqa: E402

DB_NAME = "kato_bench_sweep"
BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"
TIMEOUT_S = 2
JITTER_S = 0.0
SPREAD_JITTER_S = 0.5  # one more round with start times spread, for comparison
CONCURRENCY = 2000
INSTANCES_PER_COMPONENT = 10
KINDS = ("tcp", "http", "mysql", "hung_http", "hung_mysql")


def environment(var_dir: str) -> dict[str, str]:
    return common.environment(
        db_name=DB_NAME,
        settings_module="kato_console.settings",
        secret="bench-sweep-",
        var_dir=var_dir,
        # Plain http on loopback: the login cookies must not be marked Secure.
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        KATO_PROBE_CONCURRENCY=str(CONCURRENCY),
    )


def fleet_sizes(total: int) -> dict[str, int]:
    """70 % answering (tcp, http, mysql), 30 % never answering (behind http and mysql checks), in
    whole components of ten instances."""
    return _split(total, INSTANCES_PER_COMPONENT)


def _split(total: int, unit: int) -> dict[str, int]:
    """``total`` in whole units: 70 % answering (tcp, http, mysql in thirds), 30 % never answering
    (behind http and mysql checks)."""
    units = total // unit
    hung = round(units * 0.3)
    answering = units - hung
    sizes = {
        "tcp": answering - 2 * (answering // 3),
        "http": answering // 3,
        "mysql": answering // 3,
        "hung_http": hung // 2,
        "hung_mysql": hung - hung // 2,
    }
    return {kind: count * unit for kind, count in sizes.items()}


def _mysql_greeting() -> bytes:
    version = b"5.5.5-10.11.19-MariaDB-bench"
    capabilities = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000
    payload = (
        b"\x0a"
        + version
        + b"\0"
        + (7).to_bytes(4, "little")
        + b"abcdefgh\0"
        + (capabilities & 0xFFFF).to_bytes(2, "little")
        + bytes([33])
        + (2).to_bytes(2, "little")
        + (capabilities >> 16).to_bytes(2, "little")
        + bytes([21])
        + bytes(10)
        + b"ijklmnopqrst\0"
        + b"mysql_native_password\0"
    )
    return len(payload).to_bytes(3, "little") + b"\0" + payload


_GREETING = _mysql_greeting()
_HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


async def _tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.transport.abort()


async def _http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(Exception):
        await reader.readuntil(b"\r\n\r\n")
        writer.write(_HTTP_OK)
        await writer.drain()
    writer.close()


async def _mysql(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(Exception):
        writer.write(_GREETING)
        await reader.read()  # the greeting-only probe hangs up
    writer.close()


async def _hung(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with suppress(Exception):
        while await reader.read(65536):
            pass
    writer.close()


_HANDLERS = {"tcp": _tcp, "http": _http, "mysql": _mysql, "hung_http": _hung, "hung_mysql": _hung}


async def _serve(total: int) -> None:
    ports: dict[str, list[int]] = {}
    servers = []
    for kind, count in fleet_sizes(total).items():
        ports[kind] = []
        for _ in range(count):
            server = await asyncio.start_server(_HANDLERS[kind], "127.0.0.1", 0, backlog=64)
            servers.append(server)
            ports[kind].append(server.sockets[0].getsockname()[1])
    print(json.dumps(ports), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), stop.set)  # the benchmark closes our stdin when it is done
    await stop.wait()
    os._exit(0)  # no orderly shutdown of 2,000 servers and their connections: nothing to keep


# --------------------------------------------------------------------------------------------
# Helpers: child processes, the database
# --------------------------------------------------------------------------------------------


@contextmanager
def child(command: list[str], env: dict[str, str], **options: Any):
    process = subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, **options)
    try:
        yield process
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------------------------
# The console's data: 200 components of ten instances
# --------------------------------------------------------------------------------------------


def populate(ports: dict[str, list[int]]) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from components import services
    from core import services as accounts
    from core.audit import Actor
    from core.models import Role
    from instances import services as instance_services
    from instances.models import HealthCheck, Instance
    from instances.services import health_check_update

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1")
    team = accounts.team_create(name="Bench", owner=user)
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    actor = Actor.for_user(user)
    application = services.application_create(team=team, name="Fleet", actor=actor)
    check_kind = {"tcp": "tcp", "http": "http", "mysql": "mysql", "hung_http": "http", "hung_mysql": "mysql"}
    now = timezone.now()
    instances = []
    answering: set[tuple[str, int]] = set()
    first_component = None
    for kind, kind_ports in ports.items():
        for start in range(0, len(kind_ports), INSTANCES_PER_COMPONENT):
            name = f"{kind.replace('_', '-')}-{start // INSTANCES_PER_COMPONENT:03d}"
            component = instance_services.component_create(application=application, name=name, actor=actor)
            first_component = first_component or component
            health_check_update(
                component=component,
                actor=actor,
                kind=check_kind[kind],
                path="/healthz",
                timeout_s=TIMEOUT_S,
                interval_s=10,
                success_threshold=1,
                failure_threshold=1,
            )
            for port in kind_ports[start : start + INSTANCES_PER_COMPONENT]:
                instances.append(
                    Instance(component=component, host="127.0.0.1", port=port, next_probe_at=now)
                )
                if not kind.startswith("hung"):
                    answering.add(("127.0.0.1", port))
    Instance.objects.bulk_create(instances)
    assert HealthCheck.objects.filter(enabled=True).count() == len(instances) // INSTANCES_PER_COMPONENT
    return {"answering": answering, "service_id": first_component.service_id, "slug": application.slug}


# --------------------------------------------------------------------------------------------
# Measuring a sweep round
# --------------------------------------------------------------------------------------------


@dataclass
class Round:
    probed: int
    wall_s: float
    cpu_s: float
    statements: int
    started: float  # time.time(), to match the web load's timestamps
    ended: float
    statuses: dict[str, int] = field(default_factory=dict)
    answering_unhealthy: int = 0
    jitter_s: float = 0.0
    latency_p50_ms: float = 0.0  # of the answering instances, as recorded
    latency_max_ms: float = 0.0

    @property
    def cpu_ms_per_probe(self) -> float:
        return self.cpu_s * 1000 / max(1, self.probed)


def sweep_once(answering: set[tuple[str, int]], *, jitter_s: float = JITTER_S) -> Round:
    """One round of ``sweep_round(everything=True)``, measured: wall, CPU of this process, SQL
    statements on every connection it uses (the early record runs on a thread's own)."""
    from django.conf import settings
    from django.db import connection
    from django.db.backends.signals import connection_created

    from instances.models import Instance
    from instances.sweep import sweep_round

    statements = 0

    def count(execute, sql, params, many, context):  # noqa: ANN001
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    def count_on_new_connection(sender, connection, **kwargs):  # noqa: ANN001
        connection.execute_wrappers.append(count)

    # The setting takes whole seconds; the benchmark sets fractions directly.
    settings.KATO_SWEEP_JITTER_S = jitter_s
    connection_created.connect(count_on_new_connection)
    started_at = time.time()
    cpu, wall = time.process_time(), time.perf_counter()
    try:
        with connection.execute_wrapper(count):
            report = sweep_round(everything=True)
    finally:
        connection_created.disconnect(count_on_new_connection)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    ended_at = time.time()
    stored = Instance.objects.filter(component__health_check__enabled=True).values_list(
        "host", "port", "health", "latency_ms"
    )
    answering_unhealthy = 0
    latencies = []
    for host, port, health, latency in stored:
        if (host, port) in answering:
            answering_unhealthy += health == "unhealthy"
            latencies.append(latency)
    return Round(
        report.probed,
        wall,
        cpu,
        statements,
        started_at,
        ended_at,
        report.statuses,
        answering_unhealthy,
        jitter_s,
        statistics.median(latencies),
        max(latencies),
    )


# --------------------------------------------------------------------------------------------
# The web process under a sweep
# --------------------------------------------------------------------------------------------


def warm_up(base: str) -> None:
    """Let gunicorn's workers finish loading the application before anything is measured."""
    for _ in range(8):
        with urllib.request.urlopen(f"{base}/accounts/login/", timeout=30) as response:
            response.read()
    time.sleep(2.0)


def log_in(base: str) -> str:
    """Log in through the login form; returns the Cookie header of the session."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/accounts/login/", timeout=10).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode(
        {"username": "bench", "password": "bench-password-1", "csrfmiddlewaretoken": token}
    ).encode()
    request = urllib.request.Request(f"{base}/accounts/login/", data=form, headers={"Referer": f"{base}/"})
    opener.open(request, timeout=10).read()
    cookies = {cookie.name: cookie.value for cookie in jar}
    if "sessionid" not in cookies:
        sys.exit("could not log in to the web process")
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def web_load(url: str, cookie: str) -> None:
    """`--load URL COOKIE`: GET the page one request after the other until stdin closes; print
    (start time, latency) pairs as JSON."""
    import select

    samples = []
    while not select.select([sys.stdin], [], [], 0)[0]:
        started, clock = time.time(), time.perf_counter()
        try:
            with urllib.request.urlopen(
                urllib.request.Request(url, headers={"Cookie": cookie}), timeout=10
            ) as r:
                r.read()
                ok = r.status == 200
        except OSError:
            ok = False
        samples.append((started, (time.perf_counter() - clock) * 1000, ok))
    print(json.dumps(samples))


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=20)[18]


# --------------------------------------------------------------------------------------------
# Prometheus blackbox_exporter on the HTTP fleet
# --------------------------------------------------------------------------------------------


def blackbox_config(directory: str) -> str:
    path = os.path.join(directory, "blackbox.yml")
    with open(path, "w") as config:
        config.write(
            "modules:\n"
            "  http_2xx:\n"
            "    prober: http\n"
            f"    timeout: {TIMEOUT_S}s\n"
            "    http:\n"
            "      method: GET\n"
            "      preferred_ip_protocol: ip4\n"
            "      ip_protocol_fallback: false\n"
            "      follow_redirects: false\n"
        )
    return path


def process_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _blackbox_probe(port: int, target: str) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    query = urllib.parse.urlencode({"module": "http_2xx", "target": target})
    writer.write(
        f"GET /probe?{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "X-Prometheus-Scrape-Timeout-Seconds: 10\r\nConnection: close\r\n\r\n".encode()
    )
    body = await reader.read()
    writer.close()
    return b"\nprobe_success 1" in body


async def _blackbox_round(port: int, targets: list[str]) -> list[bool]:
    return await asyncio.gather(*(_blackbox_probe(port, target) for target in targets))


def run_blackbox(
    env: dict[str, str], directory: str, http_ports: list[int], answering: set
) -> dict[str, Any]:
    port = free_port()
    command = [
        BLACKBOX,
        f"--config.file={blackbox_config(directory)}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    targets = [f"http://127.0.0.1:{p}/healthz" for p in http_ports]
    with child(command, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as exporter:
        wait_for_port(port)
        asyncio.run(_blackbox_round(port, targets[:20]))  # warm up (start-up excluded)
        rounds = []
        for _ in range(3):
            cpu = process_cpu_s(exporter.pid)
            wall = time.perf_counter()
            successes = asyncio.run(_blackbox_round(port, targets))
            wall = time.perf_counter() - wall
            cpu = process_cpu_s(exporter.pid) - cpu
            wrong = sum(
                1
                for p, ok in zip(http_ports, successes, strict=True)
                if ok != (("127.0.0.1", p) in answering)
            )
            rounds.append({"wall_s": wall, "cpu_ms_per_probe": cpu * 1000 / len(targets), "wrong": wrong})
            time.sleep(0.5)
    return {"probes": len(targets), "rounds": rounds}


# --------------------------------------------------------------------------------------------
# A plain serial loop over a sample of the same probes
# --------------------------------------------------------------------------------------------


def serial_sample(sample_size: int, ports: dict[str, list[int]]) -> dict[str, Any]:
    from django.conf import settings

    from instances.health import Claim, probe_plan
    from instances.models import Instance
    from instances.probes import ProbeTarget, probe_sync

    sizes = fleet_sizes(sum(len(p) for p in ports.values()))
    total = sum(sizes.values())
    chosen: list[int] = []
    for kind, kind_ports in ports.items():
        share = max(1, round(sample_size * sizes[kind] / total))
        chosen += kind_ports[:share]
    ids = Instance.objects.filter(port__in=chosen).values_list("id", "generation")
    plan = [target for _, target in probe_plan([Claim(pk, generation) for pk, generation in ids])]
    targets = [target for target in plan if isinstance(target, ProbeTarget)]
    cpu, wall = time.process_time(), time.perf_counter()
    for target in targets:
        probe_sync(target, denied_networks=settings.KATO_DENIED_NETWORKS)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"probes": len(targets), "wall_s": wall, "cpu_ms_per_probe": cpu * 1000 / len(targets)}


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serial-sample", type=int, default=100)
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--scale", action="store_true", help="the 10,000 / 50,000 rounds (see above)")
    parser.add_argument(
        "--ten-only",
        action="store_true",
        help="with --scale: only the two 10,000 rounds on the defaults (no probe-now, blackbox_exporter "
        "or 50,000 round), for a quick check of the sweep's own figures",
    )
    parser.add_argument("--serve-scale", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-scale-ports", type=json.loads, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(_serve(args.serve))
        return
    if args.serve_scale or args.serve_scale_ports:
        import uvloop

        uvloop.run(_serve_scale(args.serve_scale_ports, args.serve_scale or 0))
        return
    if args.load:
        web_load(*args.load)
        return
    if not os.path.exists(BLACKBOX) and not args.ten_only:
        sys.exit(f"{BLACKBOX} is missing: apt-get install prometheus-blackbox-exporter")

    directory = tempfile.mkdtemp(prefix="kato-bench-sweep-")
    env = scale_environment(directory) if args.scale else environment(directory)
    os.environ.update(env)
    recreate_database(DB_NAME, env, "collectstatic")
    try:
        run_scale(env, directory, ten_only=args.ten_only) if args.scale else run(args, env, directory)
    finally:
        if not args.keep_database:
            from django.db import connections

            connections.close_all()
            drop_database(DB_NAME)


def run(args: argparse.Namespace, env: dict[str, str], directory: str) -> None:
    import django

    django.setup()
    fleet_command = [sys.executable, __file__, "--serve", str(args.instances)]
    with child(fleet_command, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as fleet:
        ports = json.loads(fleet.stdout.readline())
        data = populate(ports)
        web_port = free_port()
        gunicorn = [sys.executable, "-m", "gunicorn", "kato_console.wsgi:application"]
        gunicorn += ["--bind", f"127.0.0.1:{web_port}", "--workers", "2", "--log-level", "warning"]
        with child(gunicorn, env):
            wait_for_port(web_port)
            warm_up(f"http://127.0.0.1:{web_port}")
            rounds = []
            cpu_before = time.process_time()
            for _ in range(args.rounds):
                rounds.append(sweep_once(data["answering"]))
                time.sleep(1.0)
            # Including whatever the process does between rounds (the garbage collector's deferred work).
            cpu_overall_ms = (time.process_time() - cpu_before) * 1000 / sum(r.probed for r in rounds)
            spread = sweep_once(data["answering"], jitter_s=SPREAD_JITTER_S)
            time.sleep(1.0)
            http_only = sweep_http_fleet(data["answering"])
            blackbox = run_blackbox(env, directory, ports["http"] + ports["hung_http"], data["answering"])
            loaded, samples = sweeps_under_web_load(f"http://127.0.0.1:{web_port}", data)
        serial = serial_sample(args.serial_sample, ports)
        fleet.stdin.close()
    report(args, rounds, cpu_overall_ms, loaded, spread, samples, http_only, blackbox, serial)


def sweeps_under_web_load(base: str, data: dict[str, Any]) -> tuple[list[Round], list[list[Any]]]:
    """Two rounds while a client GETs a component page one request after the other."""
    page = f"{base}/components/{data['service_id']}/"
    load_command = [sys.executable, __file__, "--load", page, log_in(base)]
    with child(load_command, os.environ.copy(), stdin=subprocess.PIPE, stdout=subprocess.PIPE) as load:
        time.sleep(2.0)  # the page alone, before the sweeps
        loaded = []
        for _ in range(2):
            loaded.append(sweep_once(data["answering"]))
            time.sleep(1.0)
        load.stdin.close()
        samples = json.loads(load.stdout.read())
    return loaded, samples


def sweep_http_fleet(answering: set[tuple[str, int]]) -> Round:
    from instances.models import HealthCheck

    HealthCheck.objects.exclude(kind="http").update(enabled=False)
    try:
        return sweep_once(answering)
    finally:
        HealthCheck.objects.exclude(kind="http").update(enabled=True)


def report(
    args: argparse.Namespace,
    rounds: list[Round],
    cpu_overall_ms: float,
    loaded: list[Round],
    spread: Round,
    samples: list[list[Any]],
    http_only: Round,
    blackbox: dict[str, Any],
    serial: dict[str, Any],
) -> None:
    target_wall = JITTER_S + 1.2 * TIMEOUT_S
    bb_wall = statistics.median(r["wall_s"] for r in blackbox["rounds"])
    bb_cpu = statistics.median(r["cpu_ms_per_probe"] for r in blackbox["rounds"])
    during = [
        latency for started, latency, _ in samples if any(r.started <= started <= r.ended for r in loaded)
    ]
    idle = [latency for started, latency, _ in samples if started < loaded[0].started]
    failed_requests = sum(1 for _, _, ok in samples if not ok)
    print(
        f"\nFleet: {args.instances} instances {fleet_sizes(args.instances)}; probe timeout {TIMEOUT_S} s, "
        f"jitter window {JITTER_S} s, KATO_PROBE_CONCURRENCY={CONCURRENCY}, "
        f"event loop {'uvloop' if _has_uvloop() else 'asyncio'}; {os.cpu_count()} CPUs\n"
    )
    print(
        "| round | jitter s | probed | wall s | CPU ms/probe | SQL statements | answering but unhealthy "
        "| latency of the answering p50 / max ms | statuses |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    labelled = [(f"{n}", r) for n, r in enumerate(rounds, 1)]
    labelled += [(f"{n} (web load)", r) for n, r in enumerate(loaded, len(rounds) + 1)]
    labelled += [("spread start times", spread), ("HTTP fleet only", http_only)]
    for label, r in labelled:
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(r.statuses.items()))
        print(
            f"| {label} | {r.jitter_s:g} | {r.probed} | {r.wall_s:.2f} | {r.cpu_ms_per_probe:.3f} | "
            f"{r.statements} | {r.answering_unhealthy} | {r.latency_p50_ms:.0f} / {r.latency_max_ms:.0f} | "
            f"{statuses} |"
        )
    print()
    print(
        f"blackbox_exporter, HTTP fleet ({blackbox['probes']} probes, 3 rounds): "
        + "; ".join(
            f"wall {r['wall_s']:.2f} s, CPU {r['cpu_ms_per_probe']:.3f} ms/probe, wrong {r['wrong']}"
            for r in blackbox["rounds"]
        )
    )
    per_probe_s = serial["wall_s"] / serial["probes"]
    print(
        f"serial loop, sample of {serial['probes']}: {serial['wall_s']:.1f} s "
        f"({per_probe_s * 1000:.0f} ms/probe, CPU {serial['cpu_ms_per_probe']:.3f} ms/probe); "
        f"extrapolated to {args.instances}: {per_probe_s * args.instances:.0f} s"
    )
    print(
        f"CPU per probe over rounds 1-{len(rounds)} and the pauses between them: {cpu_overall_ms:.3f} ms "
        "(the rounds leave the garbage collector's work until after them)"
    )
    print(
        f"web p95: {p95(idle):.1f} ms idle ({len(idle)} requests), {p95(during):.1f} ms during sweeps "
        f"({len(during)} requests), {failed_requests} failed"
    )
    measured = rounds + loaded + [spread, http_only]
    worst_wall = max(r.wall_s for r in rounds)
    worst_cpu = max(r.cpu_ms_per_probe for r in measured)
    print(
        "\nRatios: sweep wall / blackbox wall = "
        f"{http_only.wall_s / bb_wall:.2f} (same HTTP fleet), {worst_wall / bb_wall:.2f} (all {args.instances}); "
        f"sweep CPU per probe / blackbox = {http_only.cpu_ms_per_probe / bb_cpu:.2f} (HTTP fleet), "
        f"{worst_cpu / bb_cpu:.2f} (all); "
        f"serial (extrapolated) / sweep wall = {per_probe_s * args.instances / worst_wall:.0f}"
    )
    over = max(measured, key=lambda r: r.wall_s - (r.jitter_s + 1.2 * TIMEOUT_S))
    checks = [
        (
            "wall <= jitter window + 1.2 x timeout, every round",
            all(r.wall_s <= r.jitter_s + 1.2 * TIMEOUT_S for r in measured),
            f"closest: {over.wall_s:.2f} s against {over.jitter_s + 1.2 * TIMEOUT_S:.2f} s "
            f"(jitter {over.jitter_s:g} s); all {args.instances} at jitter {JITTER_S:g}: "
            f"worst {worst_wall:.2f} s against {target_wall:.2f} s",
        ),
        (
            f"wall <= blackbox's wall ({bb_wall:.2f} s), same HTTP fleet",
            http_only.wall_s <= bb_wall,
            f"{http_only.wall_s:.2f} s",
        ),
        ("CPU <= 0.5 ms/probe", worst_cpu <= 0.5, f"{worst_cpu:.3f} ms"),
        (
            "no answering instance unhealthy",
            all(r.answering_unhealthy == 0 for r in measured),
            str(max(r.answering_unhealthy for r in measured)),
        ),
        (
            "<= 30 SQL statements per round",
            all(r.statements <= 30 for r in measured),
            str(max(r.statements for r in measured)),
        ),
        ("web p95 < 500 ms during sweeps", p95(during) < 500, f"{p95(during):.1f} ms"),
    ]
    print()
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}: {value}")
    counts = Counter(ok for _, ok, _ in checks)
    print(f"\n{counts[True]} of {len(checks)} targets met.")


# --------------------------------------------------------------------------------------------
# --scale: 10,000 at the defaults, blackbox_exporter on 10,000 HTTP targets, 50,000 on two workers
# --------------------------------------------------------------------------------------------

SCALE_PORTS_PER_KIND = 100  # addresses repeat across components: few listening sockets
SCALE_BROKER_DB = 9
# Processes serving the --scale fleet, every one on every port (SO_REUSEPORT: the kernel spreads
# the connections over them). More than the CPUs: on a shared machine each process gets its share.
SCALE_FLEET_PROCESSES = 4
SCALE_KINDS = {"tcp": "tcp", "http": "http", "mysql": "mysql", "hung_http": "http", "hung_mysql": "mysql"}
BIG_NOFILE = 200_000  # for the fleet and blackbox_exporter: tens of thousands of connections at once
# Before anything is measured the fleet must answer this many HTTP probes at once (the probe-now
# round's answering share), next to 3,000 silent ones, every one within the probe timeout, from
# FLEET_CLIENTS probing processes; FLEET_READY_TRIES bursts at most (the machine is shared).
FLEET_READY_HTTP = 7_000
FLEET_CLIENTS = 4
FLEET_READY_TRIES = 3


def scale_environment(var_dir: str) -> dict[str, str]:
    env = common.environment(
        db_name=DB_NAME, settings_module="kato_console.settings", secret="bench-sweep-", var_dir=var_dir
    )
    # The shipped defaults: nothing of the sweep is set.
    for name in ("KATO_PROBE_CONCURRENCY", "KATO_SWEEP_JITTER_S", "KATO_SWEEP_CHUNK"):
        env.pop(name, None)
    return env


def _big_nofile() -> None:
    """In a child before exec (run as root): a limit that tens of thousands of connections fit in;
    where the hard limit cannot be raised (a container), at least the soft limit up to it."""
    import resource

    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (BIG_NOFILE, BIG_NOFILE))
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _ScaleTarget(asyncio.Protocol):
    """One connection accepted by the --scale fleet, answered by a protocol callback: no streams,
    no task, a few microseconds of the fleet's CPU, so that 10,000 probes at once measure the
    prober and not the fleet. The answers are pre-built; the client always hangs up first (the
    fleet never closes with an unread request, which would reset the connection under the answer).

    tcp: the handshake is the answer, the connection is dropped at once; http: a 200 once the
    request's headers are in; mysql: the greeting on accept, then nothing; hung_*: nothing, ever.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.transport: asyncio.Transport | None = None
        self.request = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self.kind == "tcp":
            transport.abort()
            return
        self.transport = transport  # type: ignore[assignment]
        if self.kind == "mysql":
            self.transport.write(_GREETING)

    def data_received(self, data: bytes) -> None:
        if self.kind != "http" or self.transport is None:
            return  # the silent ones read and forget; mysql's COM_QUIT needs no answer
        self.request += data
        if b"\r\n\r\n" in self.request:
            self.transport.write(_HTTP_OK)
            self.transport = None  # answered: anything more from this client is ignored

    def eof_received(self) -> bool:
        return False  # the client hung up: close our side too


async def _serve_scale(ports: dict[str, list[int]] | None, per_kind: int) -> None:
    """Listen on the given ports (joining the processes already there), or on ``per_kind`` new ports
    per kind; print the ports once every socket listens, then serve until stdin closes."""
    import resource

    _big_nofile()
    loop = asyncio.get_running_loop()
    listening: dict[str, list[int]] = {}
    for kind in SCALE_KINDS:
        wanted = ports[kind] if ports else [0] * per_kind
        listening[kind] = []
        for port in wanted:
            server = await loop.create_server(
                functools.partial(_ScaleTarget, kind), "127.0.0.1", port, backlog=4096, reuse_port=True
            )
            listening[kind].append(server.sockets[0].getsockname()[1])
    nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    print(json.dumps({"ports": listening, "nofile": nofile}), flush=True)
    stop = asyncio.Event()
    loop.add_reader(sys.stdin.fileno(), stop.set)
    await stop.wait()
    os._exit(0)


def start_scale_fleet(stack: ExitStack, env: dict[str, str]) -> tuple[dict[str, list[int]], int]:
    """SCALE_FLEET_PROCESSES processes on the same ports: the first picks them, the others join.
    Returns the ports and the fleet processes' open-files limit, once every process listens."""
    options = {"stdin": subprocess.PIPE, "stdout": subprocess.PIPE, "preexec_fn": _big_nofile}
    command = [sys.executable, __file__, "--serve-scale", str(SCALE_PORTS_PER_KIND)]
    first = json.loads(stack.enter_context(child(command, env, **options)).stdout.readline())
    ports = first["ports"]
    command = [sys.executable, __file__, "--serve-scale-ports", json.dumps(ports)]
    for _ in range(SCALE_FLEET_PROCESSES - 1):
        joined = json.loads(stack.enter_context(child(command, env, **options)).stdout.readline())
        assert joined["ports"] == ports, "a fleet process could not join the ports"
    return ports, first["nofile"]


def wait_for_scale_fleet(ports: dict[str, list[int]]) -> dict[str, Any]:
    """The fleet's check, tried again while the answering ones do not all answer in time; exits
    when they never do: a starved fleet would be measured instead of the sweep."""
    for _ in range(FLEET_READY_TRIES):
        check = check_scale_fleet(ports)
        if check["ready"]:
            return check
        time.sleep(2.0)
    sys.exit("the fleet cannot answer the rounds in time on this machine now: nothing measured")


def check_scale_fleet(ports: dict[str, list[int]]) -> dict[str, Any]:
    """Before anything is measured: every port of every kind does what it should (the answering
    ones answer the project's probes, the silent ones accept and never answer), and the fleet
    answers FLEET_READY_HTTP HTTP probes at once, next to 3,000 silent ones, within the timeout
    ("ready"); its CPU per connection. The probing side of this burst runs in FLEET_CLIENTS processes: one
    process needs about as long as the timeout to get through 10,000 exchanges (the sweep's own
    figure, measured in the rounds), and this check is of the fleet. Exits when a port
    misbehaves."""
    silent = set(ports["hung_http"] + ports["hung_mysql"])
    each = [(SCALE_KINDS[kind], port, 0.5) for kind in SCALE_KINDS for port in ports[kind]]
    wrong = sum(1 for (_, port, _), ok in zip(each, _probe_oks(each), strict=True) if ok == (port in silent))
    if wrong:
        sys.exit(f"the fleet is not ready: {wrong} of {len(each)} ports did not behave")
    http, hung = ports["http"], ports["hung_http"]
    burst = [("http", http[n % len(http)], TIMEOUT_S) for n in range(FLEET_READY_HTTP)]
    burst += [("http", hung[n % len(hung)], TIMEOUT_S) for n in range(3_000)]
    shares = [burst[n::FLEET_CLIENTS] for n in range(FLEET_CLIENTS)]
    burst = [spec for share in shares for spec in share]  # in the order of the answers
    fleet_cpu = _fleet_cpu_s()
    started = time.perf_counter()
    with ProcessPoolExecutor(FLEET_CLIENTS, mp_context=multiprocessing.get_context("fork")) as pool:
        answers = [answer for share in pool.map(_probe_latencies, shares) for answer in share]
    wall, fleet_cpu = time.perf_counter() - started, _fleet_cpu_s() - fleet_cpu
    answered = [
        latency for (_, port, _), latency in zip(burst, answers, strict=True) if port in http and latency
    ]
    slowest = max(answered, default=float("inf"))
    silent_answered = sum(
        1 for (_, port, _), latency in zip(burst, answers, strict=True) if port in hung and latency
    )
    check = {
        "answered": len(answered),
        "slowest_s": slowest,
        "wall_s": wall,
        "silent_answered": silent_answered,
        "fleet_cpu_ms_per_connection": fleet_cpu * 1000 / len(burst),
    }
    print(
        f"fleet: {len(answered)} of {FLEET_READY_HTTP} HTTP probes answered at once, the slowest in "
        f"{slowest:.2f} s, next to 3,000 silent ones ({silent_answered} answered); fleet CPU "
        f"{check['fleet_cpu_ms_per_connection']:.3f} ms per connection",
        flush=True,
    )
    check["ready"] = len(answered) == FLEET_READY_HTTP and not silent_answered
    return check


def _fleet_cpu_s() -> float:
    """CPU of this process's children that serve the fleet (the only children at that point)."""
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read_text().split()
    return sum(process_cpu_s(int(pid)) for pid in children)


def _probe_oks(specs: list[tuple[str, int, float]]) -> list[bool]:
    return [latency is not None for latency in _probe_latencies(specs)]


def _probe_latencies(specs: list[tuple[str, int, float]]) -> list[float | None]:
    """The project's probes (kind, port, timeout) on 127.0.0.1, all at once, on the event loop the
    sweep uses: each one's latency in seconds, None when it failed."""
    import uvloop

    from instances.probes import ProbeTarget, probe_many

    targets = [ProbeTarget(kind, "127.0.0.1", port, timeout, "/healthz") for kind, port, timeout in specs]
    results = uvloop.run(probe_many(targets, concurrency=len(targets)))
    return [result.latency_ms / 1000 if result.ok else None for result in results]


def scale_populate(ports: dict[str, list[int]], groups: dict[str, dict[str, int]]) -> None:
    """For each group (a name prefix), components of 100 instances per kind, as many as asked; the
    instances of one component are the kind's 100 listeners. Every check: timeout 2 s, thresholds 1,
    interval 60 s (one round each); all disabled, the measurement enables a group at a time."""
    from django.contrib.auth import get_user_model

    from components import services
    from core import services as accounts
    from core.audit import Actor
    from core.models import Role
    from instances import services as instance_services
    from instances.models import HealthCheck, Instance

    user = get_user_model().objects.create_user(username="bench", password="bench-password-1")
    team = accounts.team_create(name="Bench", owner=user)
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    actor = Actor.for_user(user)
    application = services.application_create(team=team, name="Fleet", actor=actor)
    rows = []
    for group, sizes in groups.items():
        for kind, count in sizes.items():
            for n in range(count // SCALE_PORTS_PER_KIND):
                component = instance_services.component_create(
                    application=application, name=f"{group}-{kind.replace('_', '-')}-{n:03d}", actor=actor
                )
                instance_services.health_check_update(
                    component=component,
                    actor=actor,
                    kind=SCALE_KINDS[kind],
                    path="/healthz",
                    timeout_s=TIMEOUT_S,
                    interval_s=60,
                    success_threshold=1,
                    failure_threshold=1,
                )
                rows += [Instance(component=component, host="127.0.0.1", port=p) for p in ports[kind]]
    Instance.objects.bulk_create(rows, batch_size=5000)
    HealthCheck.objects.update(enabled=False)


def scale_sizes(total: int, *, http_only: bool = False) -> dict[str, int]:
    if http_only:
        return {"http": round(total * 0.7), "hung_http": round(total * 0.3)}
    return _split(total, SCALE_PORTS_PER_KIND)


def enable_group(group: str) -> int:
    """Turn on the checks of one group only; every instance due. Returns the group's instances."""
    from instances.models import HealthCheck, Instance

    HealthCheck.objects.update(enabled=False)
    HealthCheck.objects.filter(component__name__startswith=f"{group}-").update(enabled=True)
    Instance.objects.update(next_probe_at=None)
    return Instance.objects.filter(component__name__startswith=f"{group}-").count()


def scale_round(group: str, *, jitter_s: float | None = None) -> dict[str, Any]:
    """One sweep_round of the group in this process: wall, CPU, statuses; silent answering wrong."""
    from django.conf import settings

    from instances.models import Instance
    from instances.sweep import probe_concurrency, sweep_round

    enable_group(group)
    shipped_jitter = settings.KATO_SWEEP_JITTER_S
    if jitter_s is not None:
        settings.KATO_SWEEP_JITTER_S = jitter_s
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        report = sweep_round()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        settings.KATO_SWEEP_JITTER_S = shipped_jitter
    group_rows = Instance.objects.filter(component__name__startswith=f"{group}-")
    wrong = group_rows.filter(component__name__contains="-hung-").exclude(health="unhealthy").count()
    failed = group_rows.exclude(component__name__contains="-hung-").exclude(health="healthy")
    wrong += failed.count()
    # Why the answering ones failed, the commonest first: the fleet's doing or the prober's.
    why = Counter(failed.values_list("last_error", flat=True)).most_common(2)
    return {
        "probed": report.probed,
        "wall_s": wall,
        "cpu_ms_per_probe": cpu * 1000 / max(1, report.probed),
        "jitter_s": settings.KATO_SWEEP_JITTER_S if jitter_s is None else jitter_s,
        "concurrency": probe_concurrency(),
        "statuses": report.statuses,
        "wrong": wrong,
        "why": why,
    }


def blackbox_scale(env: dict[str, str], directory: str, ports: dict[str, list[int]]) -> dict[str, Any]:
    """blackbox_exporter probing the HTTP group's 10,000 targets (the same addresses, repeated as in
    the console's components) through /probe, all at once, three rounds."""
    sizes = scale_sizes(10_000, http_only=True)
    targets, expected = [], []
    for kind, count in sizes.items():
        for n in range(count):
            targets.append(f"http://127.0.0.1:{ports[kind][n % SCALE_PORTS_PER_KIND]}/healthz")
            expected.append(kind == "http")
    port = free_port()
    command = [
        BLACKBOX,
        f"--config.file={blackbox_config(directory)}",
        f"--web.listen-address=127.0.0.1:{port}",
    ]
    with child(
        command, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=_big_nofile
    ) as bb:
        wait_for_port(port)
        asyncio.run(_blackbox_round(port, targets[:20]))
        rounds = []
        for _ in range(3):
            cpu, wall = process_cpu_s(bb.pid), time.perf_counter()
            successes = asyncio.run(_blackbox_round(port, targets))
            wall, cpu = time.perf_counter() - wall, process_cpu_s(bb.pid) - cpu
            wrong = sum(1 for ok, want in zip(successes, expected, strict=True) if ok != want)
            rounds.append({"wall_s": wall, "cpu_ms_per_probe": cpu * 1000 / len(targets), "wrong": wrong})
            time.sleep(1.0)
    return {"probes": len(targets), "rounds": rounds}


def two_workers_round(env: dict[str, str], directory: str) -> dict[str, Any]:
    """The 50,000 group's round, dispatched as the tick does, shared by two Celery worker processes
    (solo pool, shipped defaults) on Redis: wall until every instance is recorded, chunks each."""
    from celery import Celery
    from django.utils import timezone

    from instances.models import Instance
    from instances.sweep import dispatch_round

    broker_url = f"redis://127.0.0.1:6379/{SCALE_BROKER_DB}"
    subprocess.run(["redis-cli", "-n", str(SCALE_BROKER_DB), "FLUSHDB"], check=True, capture_output=True)
    total = enable_group("big")
    worker_env = {**env, "CELERY_BROKER_URL": broker_url, "LOG_LEVEL": "INFO"}
    logs = [Path(directory) / f"worker-{n}.log" for n in (1, 2)]
    with ExitStack() as stack:
        workers = []
        for n, log in enumerate(logs, 1):
            command = [sys.executable, "-m", "celery", "-A", "kato_console", "worker", "--pool", "solo"]
            command += [
                "--hostname",
                f"bench{n}@%h",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
            ]
            output = stack.enter_context(log.open("wb"))
            workers.append(
                stack.enter_context(child(command, worker_env, stdout=output, stderr=subprocess.STDOUT))
            )
        deadline = time.monotonic() + 120
        while not all("ready." in log.read_text(errors="replace") for log in logs):
            if time.monotonic() > deadline:
                sys.exit("the Celery workers did not start")
            time.sleep(0.5)
        broker = Celery(broker=broker_url)
        cpu_before = [process_cpu_s(w.pid) for w in workers]
        started_at, wall = timezone.now(), time.perf_counter()
        claimed = dispatch_round(
            enqueue=lambda claims: broker.send_task("instances.tasks.sweep_chunk", args=[claims])
        )
        done = Instance.objects.filter(component__name__startswith="big-", last_checked_at__gte=started_at)
        while done.count() < claimed and time.perf_counter() - wall < 600:
            time.sleep(0.25)
        wall = time.perf_counter() - wall
        cpu = sum(process_cpu_s(w.pid) - before for w, before in zip(workers, cpu_before, strict=True))
        broker.close()
    chunks = [
        re.findall(r"sweep_chunk\[[^\]]+\] succeeded in [^:]+: (\d+)", log.read_text(errors="replace"))
        for log in logs
    ]
    limit_lines = [
        next(
            (line for line in log.read_text(errors="replace").splitlines() if "Open files limit" in line), ""
        )
        for log in logs
    ]
    return {
        "instances": total,
        "claimed": claimed,
        "recorded": done.count(),
        "wall_s": wall,
        "cpu_ms_per_probe": cpu * 1000 / max(1, claimed),
        "chunks": [[int(c) for c in cs] for cs in chunks],
        "limit_log": limit_lines[0].split("] ", 1)[-1].strip(),
    }


def run_scale(env: dict[str, str], directory: str, *, ten_only: bool = False) -> None:
    import resource

    import django

    django.setup()
    from django.conf import settings

    from instances.sweep import raise_open_files_limit

    raise_open_files_limit()  # this process drives 10,000 connections to blackbox_exporter
    with ExitStack() as fleets:
        ports, fleet_nofile = start_scale_fleet(fleets, env)
        fleet = wait_for_scale_fleet(ports)
        fleet["nofile"] = fleet_nofile
        set_up = time.perf_counter()
        groups = {"ten": scale_sizes(10_000)}
        if not ten_only:
            groups.update(http=scale_sizes(10_000, http_only=True), big=scale_sizes(50_000))
        scale_populate(ports, groups)
        print(f"set-up: {time.perf_counter() - set_up:.0f} s", flush=True)
        load = [os.getloadavg()[0]]
        rounds = {"10,000 at the defaults (first)": scale_round("ten")}
        time.sleep(2.0)
        rounds["10,000 at the defaults (again)"] = scale_round("ten")
        blackbox: dict[str, Any] | None = None
        shared: dict[str, Any] | None = None
        if not ten_only:
            time.sleep(2.0)
            rounds["10,000 HTTP, all at once (probe-now)"] = scale_round("http", jitter_s=0)
            load.append(os.getloadavg()[0])
            time.sleep(2.0)
            blackbox = blackbox_scale(env, directory, ports)
            time.sleep(2.0)
            shared = two_workers_round(env, directory)
        load.append(os.getloadavg()[0])
    fleet["load"] = load
    report_scale(rounds, blackbox, shared, settings, resource.getrlimit(resource.RLIMIT_NOFILE), fleet)


def report_scale(
    rounds: dict[str, dict[str, Any]],
    blackbox: dict[str, Any] | None,
    shared: dict[str, Any] | None,
    settings: Any,
    nofile: Any,
    fleet: dict[str, Any],
) -> None:
    print(
        f"\nFleet: {SCALE_FLEET_PROCESSES} processes on every port (SO_REUSEPORT, uvloop, open files "
        f"{fleet['nofile']}); before the rounds it answered {fleet['answered']} HTTP probes at once "
        f"(next to 3,000 silent ones, {fleet['silent_answered']} answered), the slowest in "
        f"{fleet['slowest_s']:.2f} s, at {fleet['fleet_cpu_ms_per_connection']:.3f} ms of its CPU per "
        f"connection. Load average (1 min) before the rounds, after probe-now, at the end: "
        + " / ".join(f"{value:.2f}" for value in fleet["load"])
    )
    print(
        f"\nDefaults: KATO_PROBE_CONCURRENCY={settings.KATO_PROBE_CONCURRENCY}, KATO_SWEEP_JITTER_S="
        f"{settings.KATO_SWEEP_JITTER_S}, KATO_SWEEP_CHUNK={settings.KATO_SWEEP_CHUNK}; open files {nofile}; "
        f"probe timeout {TIMEOUT_S} s; event loop {'uvloop' if _has_uvloop() else 'asyncio'}; {os.cpu_count()} CPUs\n"
    )
    print("| round | jitter s | concurrency | probed | wall s | CPU ms/probe | wrong health | statuses |")
    print("|---|---|---|---|---|---|---|---|")
    for label, r in rounds.items():
        statuses = ", ".join(f"{count} {status}" for status, count in sorted(r["statuses"].items()))
        print(
            f"| {label} | {r['jitter_s']:g} | {r['concurrency']} | {r['probed']} | {r['wall_s']:.2f} | "
            f"{r['cpu_ms_per_probe']:.3f} | {r['wrong']} | {statuses} |"
        )
    for label, r in rounds.items():
        if r["why"]:
            print(f"{label}: answering but failed: " + "; ".join(f"{n} × {e!r}" for e, n in r["why"]))
    ten = [r for label, r in rounds.items() if label.startswith("10,000 at")]
    target = settings.KATO_SWEEP_JITTER_S + 2 * TIMEOUT_S
    checks = [
        (
            f"10,000 round <= jitter + 2 x timeout ({target} s)",
            all(r["wall_s"] <= target for r in ten),
            " / ".join(f"{r['wall_s']:.2f} s" for r in ten),
        ),
        (
            "CPU <= 0.3 ms per probe (10,000 rounds)",
            all(r["cpu_ms_per_probe"] <= 0.3 for r in ten),
            " / ".join(f"{r['cpu_ms_per_probe']:.3f}" for r in ten),
        ),
        (
            "no wrong health",
            all(r["wrong"] == 0 for r in rounds.values()),
            str(max(r["wrong"] for r in rounds.values())),
        ),
    ]
    if blackbox is not None and shared is not None:
        checks += _report_probe_now_and_workers(rounds, blackbox, shared)
    print()
    for name, ok, value in checks:
        print(f"{'PASS' if ok else 'MISS'}  {name}: {value}")


def _report_probe_now_and_workers(
    rounds: dict[str, dict[str, Any]], blackbox: dict[str, Any], shared: dict[str, Any]
) -> list[tuple[str, bool, str]]:
    print(
        f"\nblackbox_exporter, the same 10,000 HTTP targets ({blackbox['probes']} probes at once, 3 rounds): "
        + "; ".join(
            f"wall {r['wall_s']:.2f} s, CPU {r['cpu_ms_per_probe']:.3f} ms/probe, wrong {r['wrong']}"
            for r in blackbox["rounds"]
        )
    )
    per_worker = [f"{len(c)} chunks / {sum(c)} instances" for c in shared["chunks"]]
    print(
        f"\n50,000 on two Celery workers (solo pool): claimed {shared['claimed']}, recorded {shared['recorded']} "
        f"in {shared['wall_s']:.2f} s, workers' CPU {shared['cpu_ms_per_probe']:.3f} ms/probe; "
        f"worker 1: {per_worker[0]}, worker 2: {per_worker[1]}\nworker log: {shared['limit_log']}"
    )
    bb_wall = statistics.median(r["wall_s"] for r in blackbox["rounds"])
    bb_cpu = statistics.median(r["cpu_ms_per_probe"] for r in blackbox["rounds"])
    http = rounds["10,000 HTTP, all at once (probe-now)"]
    return [
        (
            f"probe-now wall < blackbox's ({bb_wall:.2f} s)",
            http["wall_s"] < bb_wall,
            f"{http['wall_s']:.2f} s",
        ),
        (
            f"probe-now CPU/probe < blackbox's ({bb_cpu:.3f} ms)",
            http["cpu_ms_per_probe"] < bb_cpu,
            f"{http['cpu_ms_per_probe']:.3f} ms",
        ),
        (
            "two workers share the 50,000 round, every instance once",
            all(shared["chunks"])
            and sum(map(sum, shared["chunks"])) == shared["claimed"] == shared["recorded"],
            f"{shared['recorded']} recorded",
        ),
    ]


def _has_uvloop() -> bool:
    from instances import sweep

    return sweep.uvloop is not None


if __name__ == "__main__":
    main()
