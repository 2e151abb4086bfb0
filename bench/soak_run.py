#!/usr/bin/env python
"""`make run` left running with the sweep at work: no process dies, beat ticks on time, memory stays flat.

Starts `make run` from this checkout (a var folder of its own in a temporary folder, free ports,
beat ticking every KATO_SWEEP_TICK_S=5 s), registers 20 components of 5 static instances each
through the console API (60 at three loopback listeners this script serves, 40 at two closed ports), then
every 15 s checks that every process of the run is alive and the login page answers. At the end
it prints the sweep ticks counted against the ticks expected, the probes recorded, each process's
memory at the start and at the end, stops the run with Ctrl-C and checks that nothing is left.

Run: python bench/soak_run.py [--minutes 10]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402
from bench.first_start import login_status, wait_until_stopped  # noqa: E402

TICK_S = 5
TICKED = re.compile(r"sweep_tick\[[^]]+\] succeeded")
CHECK_EVERY_S = 15


def serve_and_close(server: socket.socket) -> None:
    """A loopback listener that accepts each connection and closes it: a healthy TCP target."""
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        connection.close()


def api(base: str, token: str, path: str, body: dict[str, object]) -> dict[str, object]:
    request = urllib.request.Request(
        f"{base}/api/v1/{path}",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def register_fleet(base: str, env: dict[str, str], listener_ports: list[int]) -> None:
    made = subprocess.run(
        [sys.executable, "manage.py", "create_api_token", "admin", "--name", "soak"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    api(base, token, "applications/", {"name": "soak"})
    ports = [*listener_ports, free_port(), free_port()]  # three healthy, two refused
    for number in range(20):
        addresses = [f"127.0.0.1:{port}" for port in ports]
        body = {
            "application": "soak",
            "name": f"svc-{number}",
            "kind": "third_party",
            "registration": "static",
        }
        api(base, token, "components/", {**body, "addresses": addresses})


def run_processes(launcher: psutil.Process, var_dir: Path) -> dict[int, str]:
    """The launcher, its children and theirs (web server, worker and pool, PostgreSQL and its
    backends, Redis): pid → a short name."""
    found = {launcher.pid: "launcher"}
    for child in launcher.children(recursive=True):
        try:
            found[child.pid] = " ".join(child.cmdline()[:4])[-70:]
        except psutil.Error:
            continue
    return found


def rss_mb(pids: dict[int, str]) -> dict[int, float]:
    sizes = {}
    for pid in pids:
        try:
            sizes[pid] = psutil.Process(pid).memory_info().rss / 2**20
        except psutil.Error:
            sizes[pid] = 0.0
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    args = parser.parse_args()
    listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(3)]
    for listener in listeners:
        threading.Thread(target=serve_and_close, args=(listener,), daemon=True).start()
    var_dir = Path(tempfile.mkdtemp(prefix="kato-soak-"))
    var_dir.chmod(0o755)  # as root, PostgreSQL's system user enters it
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    env.update(
        KATO_VAR_DIR=str(var_dir),
        KATO_PORT=str(free_port()),
        KATO_EMBEDDED_PG_PORT=str(free_port()),
        KATO_EMBEDDED_REDIS_PORT=str(free_port()),
        KATO_SWEEP_TICK_S=str(TICK_S),
        KATO_ADMIN_PASSWORD="soak-password-1",
    )
    base = f"http://127.0.0.1:{env['KATO_PORT']}"
    log = var_dir / "run.log"
    with log.open("w") as out:
        make = subprocess.Popen(
            ["make", "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while login_status(f"{base}/accounts/login/") != 200:
            if make.poll() is not None or time.monotonic() > deadline:
                sys.exit(log.read_text())
            time.sleep(0.5)
        while " ready." not in log.read_text():
            time.sleep(0.5)
        (launcher,) = [
            p
            for p in psutil.Process(make.pid).children(recursive=True)
            if "kato_console.devrun" in p.cmdline()
        ]
        register_fleet(base, env, [listener.getsockname()[1] for listener in listeners])
        time.sleep(CHECK_EVERY_S)  # the pool's and PostgreSQL's backends settle
        watched = {
            pid: name for pid, name in run_processes(launcher, var_dir).items() if "postgres: " not in name
        }
        memory_before = rss_mb(watched)
        ticks_before = len(TICKED.findall(log.read_text()))
        started = time.monotonic()
        failures: list[str] = []
        while time.monotonic() - started < args.minutes * 60 and not failures:
            time.sleep(CHECK_EVERY_S)
            failures += [
                f"{name} (pid {pid}) died" for pid, name in watched.items() if not psutil.pid_exists(pid)
            ]
            if login_status(f"{base}/accounts/login/") != 200:
                failures.append("the login page did not answer")
        elapsed = time.monotonic() - started
        text = log.read_text()
        ticks = len(TICKED.findall(text)) - ticks_before
        probed = sum(int(n) for n in re.findall(r"sweep_chunk\[[^]]+\] succeeded in [0-9.]+s: (\d+)", text))
        memory_after = rss_mb(watched)
        errors = [line for line in text.splitlines() if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line)]
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=60)
        wait_until_stopped(var_dir)
        for listener in listeners:
            listener.close()
    left = [p.pid for p in psutil.process_iter() if p.pid in watched and p.status() != psutil.STATUS_ZOMBIE]
    print(f"`make run` soaked {elapsed / 60:.1f} min with beat every {TICK_S} s over 100 instances:")
    print(f"  processes watched: {len(watched)}; died: {len(failures)} {failures or ''}")
    print(
        f"  sweep ticks: {ticks} (expected about {elapsed / TICK_S:.0f}: {ticks / (elapsed / TICK_S):.2f} of it)"
    )
    print(f"  probes recorded by the sweep's chunks: {probed}")
    print(f"  ERROR / CRITICAL / Traceback lines in the log: {len(errors)} {errors[:3] or ''}")
    for pid, name in watched.items():
        print(f"  memory {memory_before[pid]:6.1f} → {memory_after[pid]:6.1f} MB  {name}")
    print(f"  processes left after Ctrl-C: {left or 'none'}")
    if failures or errors or left:
        sys.exit(1)


if __name__ == "__main__":
    main()
