#!/usr/bin/env python
"""Time of `make run` on a fresh clone to the login page, then of a second start (targets: ≤ 30 s, ≤ 10 s).

Clones the committed HEAD of this repository into a temporary folder (no .venv, no var/), runs
`make run` there on free ports (the console's and the embedded PostgreSQL's and Redis's) until the
login page answers 200, stops it with Ctrl-C, and does the same again: the second start reuses the
environment and the embedded servers' data.

Run: python bench/first_start.py [--cold] [--pip]
--cold gives uv and pip empty caches of their own, as on a machine that never installed the
project; without it their usual caches are used (a developer's machine, CI). --pip sets the
environment up with pip only (`make run USE_UV=0`), the way it was done before uv.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import free_port  # noqa: E402

FIRST_TARGET_S, SECOND_TARGET_S = 30.0, 10.0


def login_status(url: str) -> int | None:
    try:
        return urllib.request.urlopen(url, timeout=2).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def run_environment(clone: Path, *, cold: bool) -> dict[str, str]:
    """The console's port and the embedded servers' ports, free; no URL that would skip them."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "KATO_VAR_DIR"}
    }
    env.update(
        KATO_PORT=str(free_port()),
        KATO_EMBEDDED_PG_PORT=str(free_port()),
        KATO_EMBEDDED_REDIS_PORT=str(free_port()),
        KATO_ADMIN_PASSWORD="first-start-password",
    )
    if cold:
        env.update(UV_CACHE_DIR=str(clone / ".cold-uv"), PIP_NO_CACHE_DIR="1")
    return env


def timed_start(clone: Path, env: dict[str, str], *, pip: bool, limit_s: float = 600) -> float:
    """Seconds from `make run` to the login page; then Ctrl-C, and wait until the launcher is gone."""
    log = clone / "run.log"
    started = time.monotonic()
    with log.open("a") as out:
        process = subprocess.Popen(
            ["make", "run", f"USE_UV={0 if pip else 1}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while login_status(f"http://127.0.0.1:{env['KATO_PORT']}/accounts/login/") != 200:
            if process.poll() is not None or time.monotonic() - started > limit_s:
                sys.exit(log.read_text())
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        wait_until_stopped(clone / "var")


def wait_until_stopped(var_dir: Path, timeout_s: float = 60) -> None:
    """The launcher holds var/run.lock until it has stopped everything it started."""
    deadline = time.monotonic() + timeout_s
    with (var_dir / "run.lock").open("a") as lock:
        while time.monotonic() < deadline:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(0.1)
                continue
            fcntl.flock(lock, fcntl.LOCK_UN)
            return
    sys.exit(f"`make run` did not stop within {timeout_s:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="empty uv and pip caches")
    parser.add_argument("--pip", action="store_true", help="set up with pip only (make run USE_UV=0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kato-first-start-") as tmp:
        clone = Path(tmp) / "kato-console"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        env = run_environment(clone, cold=args.cold)
        first = timed_start(clone, env, pip=args.pip)
        second = timed_start(clone, env, pip=args.pip)
        tool = "uv" if "with uv." in (clone / "run.log").read_text() else "pip"
    caches = "empty caches" if args.cold else "warm caches"
    print(f"`make run` on a fresh clone ({tool}, {caches}), to the login page:")
    print(
        f"  first start  {first:5.1f} s  (target ≤ {FIRST_TARGET_S:.0f} s: {first / FIRST_TARGET_S:.2f} of it)"
    )
    print(
        f"  second start {second:5.1f} s  (target ≤ {SECOND_TARGET_S:.0f} s: {second / SECOND_TARGET_S:.2f} of it)"
    )


if __name__ == "__main__":
    main()
