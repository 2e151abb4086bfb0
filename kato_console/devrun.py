"""`make run`: the whole console on one machine, on the production stack.

In order, the launcher holds the var folder (one launcher per folder), makes what the run keeps
there (the folder, the development secret key), starts the embedded PostgreSQL and Redis
(kato_console/embedded.py) unless DATABASE_URL / CELERY_BROKER_URL point elsewhere, migrates,
creates the first administrator, and starts PROCESSES, each in a process group of its own.

Ctrl-C (or SIGTERM) stops the processes in the reverse order, waiting a few seconds for each to
shut down cleanly before killing what is left, then the embedded servers; when one process stops
by itself, the others are stopped the same way. Should the launcher itself be killed, the kernel
signals every child (embedded.die_with_parent), and the next start stops any server still running.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import django
from django.core.management import call_command
from django.db import connections

from kato_console import embedded
from kato_console.env import dev_secret_key_file, keep_dev_secret_key

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
MANAGE = [PYTHON, "manage.py"]
CELERY = [PYTHON, "-m", "celery", "-A", "kato_console"]
GRACE_S = 8.0


@dataclass(frozen=True)
class Process:
    name: str
    command: list[str]


def processes(host: str, port: str) -> list[Process]:
    """The processes `make run` supervises, started in this order and stopped in the reverse one.

    Adding a process is one line in this list: its name and its command, which runs in the
    checkout with the launcher's environment (DATABASE_URL and CELERY_BROKER_URL included) and is
    stopped with SIGTERM.
    """
    return [
        # The system checks ran in this process, with the migration.
        Process("web server", [*MANAGE, "runserver", f"{host}:{port}", "--noreload", "--skip-checks"]),
        Process("worker", [*CELERY, "worker", "--beat", "--loglevel", "INFO", "--concurrency", "2"]),
        # The gateway (README, "The gateway"): Envoy in step with the database.
        Process("gateway", [*MANAGE, "run_gateway"]),
    ]


def served_at(host: str, port: str) -> str:
    """The URL `make run` serves the console at (an IPv6 host in brackets, as in a URL)."""
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _public_url_for_children(host: str, port: str) -> None:
    # The worker has no request to take the address from, and an operator's own setting wins.
    if not os.environ.get("KATO_PUBLIC_URL", "").strip():
        os.environ["KATO_PUBLIC_URL"] = served_at(host, port)


def _start_servers(var_dir: Path, stack: contextlib.ExitStack) -> None:
    """The embedded servers, for the URLs that are not set; each is stopped when the stack closes."""
    if not os.environ.get("DATABASE_URL", "").strip():
        stack.callback(embedded.start_postgres(var_dir / "postgres", embedded.pg_port()).stop)
        os.environ["DATABASE_URL"] = embedded.database_url()
    if not os.environ.get("CELERY_BROKER_URL", "").strip():
        stack.callback(embedded.start_redis(var_dir / "redis", embedded.redis_port()).stop)
        os.environ["CELERY_BROKER_URL"] = embedded.broker_url()


def _prepare(admin_user: str) -> None:
    """Migrate, and make the first administrator (bootstrap_admin prints a generated password once).

    Both run in the launcher, once the URLs are set: one start of Django instead of two, a second
    or two of every start. The launcher's connections are closed before the processes start.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kato_console.settings")
    django.setup()
    call_command("migrate", interactive=False)
    call_command(
        "bootstrap_admin", username=admin_user, password=os.environ.get("KATO_ADMIN_PASSWORD") or None
    )
    connections.close_all()


def _start(process: Process) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        process.command, cwd=ROOT, start_new_session=True, preexec_fn=embedded.die_with_parent(signal.SIGTERM)
    )


def _stop(children: dict[str, subprocess.Popen[bytes]]) -> None:
    # SIGTERM goes to each child's main process only, the last started first. Celery's main
    # process then makes a warm shutdown of its pool; signalling the whole group would kill the
    # pool's processes under it, and it would log each as an ERROR ("exited with 'signal 15 (SIGTERM)'").
    for child in reversed(children.values()):
        if child.poll() is None:
            child.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=GRACE_S)
        # Whatever is left of a group after the grace period (a hung pool process, say) is killed.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def _watch(running: dict[str, subprocess.Popen[bytes]]) -> int:
    """Wait until a process stops by itself (or Ctrl-C); say which one."""
    while True:
        for name, child in running.items():
            if child.poll() is not None:
                print(
                    f"Kato Console: the {name} stopped (exit code {child.returncode}); stopping the rest.",
                    file=sys.stderr,
                )
                return 1
        time.sleep(0.5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", default="8000")
    parser.add_argument("--admin-user", default="admin")
    args = parser.parse_args()
    var_dir = Path(os.environ.get("KATO_VAR_DIR", "").strip() or ROOT / "var")
    # Both stop the run, even when the shell that started us in the background ignores SIGINT.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    with embedded.var_dir_lock(var_dir), contextlib.ExitStack() as stack:
        try:
            keep_dev_secret_key(dev_secret_key_file(var_dir))
            _start_servers(var_dir, stack)
            _public_url_for_children(args.host, args.port)
            _prepare(args.admin_user)
            children: dict[str, subprocess.Popen[bytes]] = {}
            stack.callback(_stop, children)
            for process in processes(args.host, args.port):
                children[process.name] = _start(process)
            url = served_at(args.host, args.port)
            print(
                f"Kato Console: {url}/ (log in as {args.admin_user}; the admin is at /admin/). Ctrl-C stops it.",
                flush=True,
            )
            return _watch(children)
        except KeyboardInterrupt:
            print("\nKato Console: stopping the processes and the embedded servers…", file=sys.stderr)
            return 0
        finally:
            # A second Ctrl-C must not cut the shutdown short and leave a server running.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


if __name__ == "__main__":
    sys.exit(main())
