"""What the benchmarks share: their environment, their database, free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("KATO_BENCH_PG", "postgres://postgres@127.0.0.1:5432")


def environment(
    *, db_name: str, settings_module: str, secret: str, var_dir: str, **extra: str
) -> dict[str, str]:
    """The console's environment for a benchmark: production mode, its own database and var dir."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=f"{PG_URL}/{db_name}",
        DEBUG="0",
        SECRET_KEY=secret + "k" * 40,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
        KATO_VAR_DIR=var_dir,
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def drop_database(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def recreate_database(db_name: str, env: dict[str, str], *commands: str) -> None:
    """A new, empty database, migrated; then the other management ``commands`` (no input)."""
    import psycopg

    drop_database(db_name)
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    for command in ("migrate", *commands):
        subprocess.run(
            [sys.executable, "manage.py", command, "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    sys.exit(f"nothing answers on 127.0.0.1:{port}")
