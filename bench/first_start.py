#!/usr/bin/env python
"""Time of a first `make run` on a fresh clone: from `make run` to the login page answering 200.

Clones the committed HEAD of this repository into a temporary folder (no .venv, no var/), runs
`make run` there on a free port and stops it with Ctrl-C once the login page answers.

Run: python bench/first_start.py [--cold] [--pip]
--cold gives uv and pip empty caches of their own, as on a machine that never installed the
project; without it their usual caches are used (a developer's machine, CI). --pip sets the
environment up with pip only (`make run USE_UV=0`), the way it was done before uv.
"""

from __future__ import annotations

import argparse
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


def login_status(url: str) -> int | None:
    try:
        return urllib.request.urlopen(url, timeout=2).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def first_start(clone: Path, *, cold: bool, pip: bool, limit_s: float = 600) -> tuple[float, str]:
    """Seconds from `make run` to the login page, and the setup tool `make` reported."""
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    env.update(KATO_PORT=str(port), KATO_ADMIN_PASSWORD="first-start-password")
    if cold:
        env.update(UV_CACHE_DIR=str(clone / ".cold-uv"), PIP_NO_CACHE_DIR="1")
    log = clone / "run.log"
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            ["make", "run", f"USE_UV={0 if pip else 1}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while login_status(f"http://127.0.0.1:{port}/accounts/login/") != 200:
            if process.poll() is not None or time.monotonic() - started > limit_s:
                sys.exit(log.read_text())
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
    tool = "uv" if "with uv." in log.read_text() else "pip"
    return elapsed, tool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", action="store_true", help="empty uv and pip caches")
    parser.add_argument("--pip", action="store_true", help="set up with pip only (make run USE_UV=0)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kato-first-start-") as tmp:
        clone = Path(tmp) / "kato-console"
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        elapsed, tool = first_start(clone, cold=args.cold, pip=args.pip)
    caches = "empty caches" if args.cold else "warm caches"
    print(f"first `make run` on a fresh clone ({tool}, {caches}): login page after {elapsed:.1f} s")


if __name__ == "__main__":
    main()
