"""The embedded servers of `make run`: a server left running on the data is stopped before a new one
starts on it, each listens on loopback only, and one launcher at a time holds a var folder."""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from kato_console import embedded
from tests.test_make_run import free_ports, postmasters_on


@pytest.fixture
def var_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="kato-embedded-"))
    folder.chmod(0o755)  # as root, PostgreSQL runs as its own user and must enter it
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_postgres_left_running_on_the_data_is_stopped_and_a_new_one_serves_the_same_data(var_dir):
    [port] = free_ports(1)
    leftover = embedded.start_postgres(var_dir / "postgres", port)
    try:
        with psycopg.connect(embedded.database_url(port), autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (note text)")
            conn.execute("INSERT INTO kept VALUES ('from the first start')")

        server = embedded.start_postgres(var_dir / "postgres", port)
        try:
            assert leftover.process.poll() is not None
            assert postmasters_on(var_dir / "postgres") == [server.process.pid]
            with psycopg.connect(embedded.database_url(port)) as conn:
                assert conn.execute("SELECT note FROM kept").fetchall() == [("from the first start",)]
        finally:
            server.stop()
    finally:
        leftover.stop()
    assert postmasters_on(var_dir / "postgres") == []
    assert not (var_dir / "postgres" / "postmaster.pid").exists()


def test_a_redis_left_running_on_the_data_is_stopped_before_a_new_one_starts(var_dir):
    [port] = free_ports(1)
    leftover = embedded.start_redis(var_dir / "redis", port)
    try:
        server = embedded.start_redis(var_dir / "redis", port)
        try:
            assert leftover.process.poll() is not None
            assert int((var_dir / "redis" / "redis.pid").read_text()) == server.process.pid
        finally:
            server.stop()
    finally:
        leftover.stop()
    assert not (var_dir / "redis" / "redis.pid").exists()


def test_the_servers_listen_on_loopback_only(var_dir):
    pg_port, redis_port = free_ports(2)
    postgres = embedded.start_postgres(var_dir / "postgres", pg_port)
    redis = embedded.start_redis(var_dir / "redis", redis_port)
    try:
        for server in (postgres, redis):
            addresses = {
                conn.laddr.ip
                for conn in psutil.Process(server.process.pid).net_connections("inet")
                if conn.status == psutil.CONN_LISTEN
            }
            assert addresses == {"127.0.0.1"}, server.name
        # And no Unix socket for PostgreSQL: loopback TCP is its only door.
        assert not list(Path("/tmp").glob(f".s.PGSQL.{postgres_port(var_dir)}"))
    finally:
        redis.stop()
        postgres.stop()


def test_a_second_launcher_on_the_same_var_folder_is_refused(var_dir):
    with embedded.var_dir_lock(var_dir):
        second = embedded.var_dir_lock(var_dir)
        with pytest.raises(SystemExit, match="already running"):
            second.__enter__()
    with embedded.var_dir_lock(var_dir):  # free again once the first is gone
        pass


def test_a_taken_port_stops_the_start_with_the_servers_log(var_dir):
    with socket.create_server(("127.0.0.1", 0)) as taken, pytest.raises(SystemExit, match="did not start"):
        embedded.start_redis(var_dir / "redis", taken.getsockname()[1])


def postgres_port(var_dir: Path) -> int:
    return int((var_dir / "postgres" / "postmaster.pid").read_text().splitlines()[3])
