"""The embedded run behind `make run`: the web server and a Celery worker with embedded beat.

Both run as children in their own process groups; Ctrl-C (or SIGTERM) stops both, waiting a few
seconds for a clean shutdown before killing what is left, so nothing outlives the command.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GRACE_S = 8.0


def _start(command: list[str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)


def served_at(host: str, port: str) -> str:
    """The URL `make run` serves the console at (an IPv6 host in brackets, as in a URL)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _public_url_for_children(host: str, port: str) -> None:
    # The worker has no request to take the address from, and an operator's own setting wins.
    if not os.environ.get("KATO_PUBLIC_URL", "").strip():
        os.environ["KATO_PUBLIC_URL"] = served_at(host, port)


def _stop(children: list[subprocess.Popen[bytes]]) -> None:
    # SIGTERM goes to each child's main process only. Celery's main process then makes a warm
    # shutdown of its pool; signalling the whole group would kill the pool's processes under it,
    # and it would log each as an ERROR ("exited with 'signal 15 (SIGTERM)'").
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = time.monotonic() + GRACE_S
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
    # Whatever is left of a group after the grace period (a hung pool process, say) is killed.
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    args = parser.parse_args()
    python = sys.executable
    _public_url_for_children(args.host, args.port)
    children = [
        _start(
            [
                python,
                "-m",
                "celery",
                "-A",
                "kato_console",
                "worker",
                "--beat",
                "--loglevel",
                "INFO",
                "--concurrency",
                "2",
            ]
        ),
        _start([python, "manage.py", "runserver", f"{args.host}:{args.port}", "--noreload"]),
        # The gateway (README, "The gateway"): Envoy in step with the database.
        _start([python, "manage.py", "run_gateway"]),
    ]

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("Kato Console: a process stopped unexpectedly; stopping the other.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nKato Console: stopping the web server, the worker and the gateway…", file=sys.stderr)
        return 0
    finally:
        _stop(children)


if __name__ == "__main__":
    sys.exit(main())
