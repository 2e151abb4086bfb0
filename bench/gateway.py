#!/usr/bin/env python
"""Benchmark of the gateway (``manage.py run_gateway``: Envoy kept in step with the database).

Measured in one run, on PostgreSQL, with real Envoy and real backends on loopback:
  1. throughput of 1 KiB HTTP GETs over kept connections, through the gateway's HTTP route and
     straight to the backend: requests/s and the ratio (target >= 0.8);
  2. throughput of MariaDB ``SELECT 1`` over kept connections (the ``mariadb`` client in batch mode,
     one connection each, several at once), through the gateway's internal listener and straight to
     127.0.0.1:3306: statements/s and the ratio (target >= 0.8);
  3. with 1,000 components and 10,000 instances registered: from a committed routing change (an
     instance taken offline, brought back) to the gateway acting on it (new connections no longer /
     again reaching it): p50, p95 (target p95 <= 1 s);
  4. failover: a backend dies; the sweep runs (interval 5 s, failure threshold 1); from the death to
     the last new connection Envoy sent to it (its per-host connection count, from the admin
     interface): target <= interval x threshold + 1 s.

Run: .venv/bin/python bench/gateway.py [--trials 20] [--seconds 5] [--rounds 5] [--only-throughput]
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import environment, recreate_database  # noqa: E402

DB_NAME = "kato_bench_gateway"
BODY = b"x" * 1024


def _free_range(size: int) -> str:
    import random

    for _ in range(500):
        # Below Linux's ephemeral ports (32768 and up by default), which any outgoing connection or
        # port-0 server may take between this check and the gateway's bind.
        first = random.randrange(10000, 32768 - size)
        ok = True
        for port in range(first, first + size):
            with socket.socket() as probe:
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return f"{first}-{first + size - 1}"
    raise RuntimeError("no free port range")


class _Http(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer, sent at once: without them the headers and the body go in two segments
    # and delayed acknowledgements cap every connection at about 25 answers a second.
    wbufsize = 65536
    disable_nagle_algorithm = True

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Named(threading.Thread):
    """A TCP server that sends its name to each connection and closes it."""

    def __init__(self, name: str, port: int = 0) -> None:
        super().__init__(daemon=True)
        self.name_ = name
        self.sock = socket.create_server(("127.0.0.1", port), reuse_port=False)
        self.port = self.sock.getsockname()[1]
        self.start()

    def run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.name_.encode() + b"\n")

    def stop(self) -> None:
        self.sock.close()


def _greeting(port: int) -> str:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as conn:
            return conn.recv(64).decode().strip()
    except OSError:
        return ""


def _http_rate(host_port: tuple[str, int], host_header: str, seconds: float, clients: int) -> float:
    def client() -> int:
        conn = http.client.HTTPConnection(*host_port, timeout=5)
        done, end = 0, time.monotonic() + seconds
        while time.monotonic() < end:
            conn.request("GET", "/", headers={"Host": host_header})
            response = conn.getresponse()
            assert len(response.read()) == len(BODY)
            done += 1
        conn.close()
        return done

    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(lambda _: client(), range(clients)))
    return total / seconds


def _mariadb_rate(port: int, statements: int, clients: int) -> float:
    script = "SELECT 1;\n" * statements
    command = ["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", "root", "--skip-ssl", "-N", "-B"]

    def client() -> None:
        result = subprocess.run(command, input=script, capture_output=True, text=True, check=True)
        assert result.stdout.count("1") == statements

    start = time.monotonic()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda _: client(), range(clients)))
    return statements * clients / (time.monotonic() - start)


def _until(check: Callable[[], bool], within: float = 10.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < within:
        if check():
            return time.monotonic() - start
    raise TimeoutError("the gateway did not act within 10 s")


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--components", type=int, default=1000)
    parser.add_argument("--instances", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5, help="alternating direct/through rounds")
    parser.add_argument("--only-throughput", action="store_true", help="skip the fleet, latency and failover")
    args = parser.parse_args()
    var_dir = tempfile.mkdtemp(prefix="kato-bench-gateway-")
    # One free block for the three, so that the HTTP port cannot fall inside the internal range (its
    # listener was then refused as a duplicate, and the HTTP figure measured another listener).
    first = int(_free_range(args.components + 21).split("-")[0])
    public = first + args.components + 10
    env = environment(
        db_name=DB_NAME,
        settings_module="kato_console.settings",
        secret="bench-gateway-",
        var_dir=var_dir,
        KATO_GATEWAY="1",
        KATO_GATEWAY_ALLOW_LOOPBACK="1",
        KATO_GATEWAY_INTERNAL_PORTS=f"{first}-{public - 1}",
        KATO_GATEWAY_PUBLIC_PORTS=f"{public}-{public + 9}",
        KATO_GATEWAY_HTTP_PORT=str(public + 10),
        KATO_SWEEP_JITTER_S="0",
    )
    recreate_database(DB_NAME, env)
    os.environ.update(env)
    import django

    django.setup()
    try:
        _run(args)
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


def _run(args: argparse.Namespace) -> None:
    from django.conf import settings

    from components import services
    from components.models import Port
    from core import services as accounts
    from core.audit import SYSTEM
    from instances import services as instance_services
    from instances.addresses import parse_address
    from instances.models import Instance
    from instances.sweep import sweep_round
    from kato_console.gateway.envoy import Envoy
    from kato_console.gateway.loop import GatewayOptions, run

    team = accounts.team_create(name="Bench")
    app = services.application_create(team=team, name="Shop", actor=SYSTEM)

    def component(name: str, *, check: bool = False, **port: object):
        made = instance_services.component_create(
            application=app, name=name, actor=SYSTEM, registration="static"
        )
        instance_services.health_check_update(component=made, enabled=check, actor=SYSTEM)
        return made, services.port_create(component=made, actor=SYSTEM, inner_service=True, **port)

    # The fleet: 1,000 components of 10 instances each (addresses nobody connects to), plus the ones
    # measured below.
    print(f"Registering {args.components} components with {args.instances} instances each…", flush=True)
    start = time.monotonic()
    for index in range(0 if args.only_throughput else args.components):
        made, _ = component(f"fleet-{index}", number=5432, protocol="postgresql")
        Instance.objects.bulk_create(
            Instance(component=made, host=f"10.{index // 250}.{index % 250}.{n + 1}", port=5432)
            for n in range(args.instances)
        )
    print(f"  done in {time.monotonic() - start:.0f} s", flush=True)

    web_port = int(_free_range(1).split("-")[0])
    site, site_port = component("site", number=web_port, protocol="http", outer_service=True)
    instance_services.instance_add(
        component=site, address=parse_address(f"127.0.0.1:{web_port}"), actor=SYSTEM
    )
    mysql, mysql_port = component("mysql", number=3306, protocol="mysql")
    instance_services.instance_add(component=mysql, address=parse_address("127.0.0.1:3306"), actor=SYSTEM)
    a, b = _Named("a"), _Named("b")
    pair, pair_port = component("pair", number=a.port, protocol="tcp")
    for server in (a, b):
        instance_services.instance_add(
            component=pair, address=parse_address(f"127.0.0.1:{server.port}"), actor=SYSTEM
        )

    stop = threading.Event()
    ready = threading.Event()
    holder: dict[str, Envoy] = {}

    def on_ready(envoy: Envoy) -> None:
        holder["envoy"] = envoy
        ready.set()

    options = GatewayOptions.from_settings()
    thread = threading.Thread(target=run, args=(options,), kwargs={"stop": stop, "on_ready": on_ready})
    thread.start()
    try:
        ready.wait(120)
        envoy = holder["envoy"]
        _until(lambda: _greeting(Port.objects.get(pk=pair_port.pk).gateway_port) in {"a", "b"}, within=60)
        assert envoy.process is not None
        results = _throughput(args, settings, site_port, mysql_port, envoy.process.pid)
        if not args.only_throughput:
            results += _routing_latency(args, pair, pair_port, b)
            results += _failover(
                settings, envoy, component, instance_services, parse_address, sweep_round, SYSTEM
            )
    finally:
        stop.set()
        thread.join(30)
    print("\n".join(results))


_BACKEND = """
import http.server, sys
BODY = b"x" * 1024
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 65536
    disable_nagle_algorithm = True
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer.request_queue_size = 1024
# wrk resets its connections when it stops: not an error worth a traceback.
http.server.ThreadingHTTPServer.handle_error = lambda self, request, address: None
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
server.daemon_threads = True
server.serve_forever()
"""


def _greeting_http(port: int) -> bool:
    try:
        return _http_rate(("127.0.0.1", port), "x", 0.05, 1) > 0
    except OSError:
        return False


def _wrk(port: int, host_header: str, seconds: float, connections: int) -> float:
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds:.0f}s",
        "-H",
        f"Host: {host_header}",
    ]
    output = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True
    )
    for line in output.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(output.stdout)


def _cpu_s(pid: int) -> float:
    """User and system CPU seconds of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _mariadbd_pid() -> int | None:
    found = subprocess.run(["pgrep", "-x", "mariadbd"], capture_output=True, text=True).stdout.split()
    return int(found[0]) if found else None


def _alternating(rounds: int, measure: Callable[[bool], float]) -> tuple[float, float, float, list[float]]:
    """``measure(through)`` straight and through the gateway in turn, ``rounds`` times each, so that
    both sides see the same load; the medians of each side and of the rounds' ratios, and the ratios."""
    direct, through, ratios = [], [], []
    for _ in range(rounds):
        d, t = measure(False), measure(True)
        direct.append(d)
        through.append(t)
        ratios.append(t / d)
    return statistics.median(direct), statistics.median(through), statistics.median(ratios), ratios


def _throughput(
    args: argparse.Namespace, settings: object, site_port: object, mysql_port: object, envoy_pid: int
) -> list[str]:
    """wrk (kept connections) against the web backend (its own process), straight and through the
    gateway's HTTP route; the mariadb client in batch mode, straight and through the internal listener.
    Each pair is measured in alternating rounds, with the same client concurrency."""
    http_port = settings.KATO_GATEWAY_HTTP_PORT  # type: ignore[attr-defined]
    host = f"site-shop.localhost:{http_port}"
    backend_port = site_port.number  # type: ignore[attr-defined]
    rounds = args.rounds
    lines = []
    if shutil.which("wrk"):
        backend = subprocess.Popen([sys.executable, "-c", _BACKEND, str(backend_port)])
        try:
            _until(lambda: _greeting_http(backend_port))
            _wrk(http_port, host, 1, args.connections)  # warm-up
            seconds = max(1.0, args.seconds / rounds)
            direct, through, ratio, ratios = _alternating(
                rounds,
                lambda via: _wrk(http_port if via else backend_port, host, seconds, args.connections),
            )
        finally:
            backend.terminate()
            backend.wait()
        lines.append(
            f"HTTP 1 KiB GET, wrk, {args.connections} kept connections, {rounds} alternating rounds: "
            f"direct {direct:,.0f}/s, through the gateway {through:,.0f}/s, median ratio {ratio:.2f} "
            f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.8)"
        )
    if shutil.which("mariadb"):
        gateway_port = mysql_port.gateway_port  # type: ignore[attr-defined]
        clients = args.connections
        _mariadb_rate(gateway_port, 1000, 1)
        mariadbd = _mariadbd_pid()
        cpu = {"envoy": 0.0, "mariadbd": 0.0, "mariadbd_direct": 0.0, "statements": 0.0}

        def measure(via: bool) -> float:
            envoy0 = _cpu_s(envoy_pid)
            server0 = _cpu_s(mariadbd) if mariadbd else 0.0
            rate = _mariadb_rate(gateway_port if via else 3306, 2000, clients)
            server = (_cpu_s(mariadbd) - server0) if mariadbd else 0.0
            if via:
                cpu["envoy"] += _cpu_s(envoy_pid) - envoy0
                cpu["mariadbd"] += server
                cpu["statements"] += 2000 * clients
            else:
                cpu["mariadbd_direct"] += server
            return rate

        direct, through, ratio, ratios = _alternating(rounds, measure)
        per = 1e6 / cpu["statements"]
        lines.append(
            f"MariaDB SELECT 1, {clients} kept connections, {rounds} alternating rounds: direct "
            f"{direct:,.0f}/s, through the gateway {through:,.0f}/s, median ratio {ratio:.2f} "
            f"(rounds {', '.join(f'{r:.2f}' for r in ratios)}; target >= 0.8); CPU per statement: "
            f"Envoy {cpu['envoy'] * per:.1f} us, mariadbd {cpu['mariadbd'] * per:.1f} us through, "
            f"{cpu['mariadbd_direct'] * per:.1f} us direct"
        )
    return lines


def _routing_latency(args: argparse.Namespace, pair: object, pair_port: object, b: _Named) -> list[str]:
    from core.audit import SYSTEM
    from instances import services as instance_services
    from instances.models import Instance

    port = pair_port.gateway_port  # type: ignore[attr-defined]
    instance = Instance.objects.get(component=pair, port=b.port)
    samples: list[float] = []
    for _ in range(args.trials):
        instance_services.instance_set_online(instance=instance, is_online=False, actor=SYSTEM)
        # Acting: ten new connections in a row, none of them to b.
        samples.append(_until(lambda: all(_greeting(port) == "a" for _ in range(10))))
        instance_services.instance_set_online(instance=instance, is_online=True, actor=SYSTEM)
        samples.append(_until(lambda: any(_greeting(port) == "b" for _ in range(10))))
    return [
        f"Routing change -> gateway acting ({args.components} components, "
        f"{Instance.objects.count()} instances, {len(samples)} changes): p50 {statistics.median(samples) * 1000:.0f} ms, "
        f"p95 {_quantile(samples, 0.95) * 1000:.0f} ms, max {max(samples) * 1000:.0f} ms (target p95 <= 1000 ms)"
    ]


def _failover(settings, envoy, component, instance_services, parse_address, sweep_round, actor) -> list[str]:  # type: ignore[no-untyped-def]
    from instances.models import Instance

    interval, threshold = 5, 1
    c, d = _Named("c"), _Named("d")
    made, port = component("failover", check=True, number=c.port, protocol="tcp")
    instance_services.health_check_update(
        component=made, actor=actor, interval_s=interval, timeout_s=1, failure_threshold=threshold
    )
    for server in (c, d):
        instance_services.instance_add(
            component=made, address=parse_address(f"127.0.0.1:{server.port}"), actor=actor
        )
    Instance.objects.filter(component=made).update(next_probe_at=None)
    sweep_round()
    _until(lambda: {_greeting(port.gateway_port) for _ in range(10)} == {"c", "d"})
    stop = threading.Event()

    def sweeping() -> None:
        from django.db import connection

        while not stop.is_set():
            sweep_round()
            time.sleep(0.1)
        connection.close()

    sweeper = threading.Thread(target=sweeping)
    sweeper.start()
    # The probe schedule is whatever it is when the backend dies: the worst case is just after a pass.
    died = time.monotonic()
    d.stop()
    last_routed = died
    last_count = _host_connections(envoy, f"port-{port.pk}", d.port)
    end = died + interval * threshold + 5
    while time.monotonic() < end:
        _greeting(port.gateway_port)
        count = _host_connections(envoy, f"port-{port.pk}", d.port)
        if count > last_count:
            last_count, last_routed = count, time.monotonic()
    stop.set()
    sweeper.join()
    bound = interval * threshold + 1
    return [
        f"Failover: last new connection routed to the dead backend {last_routed - died:.2f} s after its death "
        f"(target <= interval {interval} s x threshold {threshold} + 1 s = {bound} s)"
    ]


def _host_connections(envoy: object, cluster: str, port: int) -> int:
    """Connections Envoy opened (or tried) to 127.0.0.1:``port`` in ``cluster``; 0 once it is gone."""
    url = f"http://{envoy.admin_address}/clusters"  # type: ignore[attr-defined]
    text = urllib.request.urlopen(url, timeout=5).read().decode()  # noqa: S310 (loopback admin)
    prefix = f"{cluster}::127.0.0.1:{port}::cx_total::"
    for line in text.splitlines():
        if line.startswith(prefix):
            return int(line[len(prefix) :])
    return -1


if __name__ == "__main__":
    main()
