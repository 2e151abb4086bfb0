"""`make run` serves the login page and the admin on its embedded PostgreSQL and Redis; Ctrl-C stops
everything it started, and a killed `make run` leaves no second server on its data."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parent.parent
START_S = 90


def free_ports(count: int) -> list[int]:
    """``count`` different free ports: each socket stays bound until all are chosen, so the kernel
    cannot hand the same port out twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def status_of(url: str) -> int | None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=2).status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, http.client.HTTPException):  # not listening yet, or not answering HTTP yet
        return None


def page_of(url: str) -> str:
    """The body of the answer, whatever its status."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.read().decode(errors="replace")


@pytest.fixture
def var_dir() -> Iterator[Path]:
    """A var folder of its own; others may enter it (as root, PostgreSQL runs as its own user)."""
    folder = Path(tempfile.mkdtemp(prefix="kato-make-run-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class MakeRun:
    """One `make run` in its own process group, on free ports, its output in var_dir/run.log."""

    def __init__(self, var_dir: Path) -> None:
        self.var_dir = var_dir
        self.port, pg_port, redis_port, gateway_http, gateway_admin = free_ports(5)
        self.env = {
            k: v
            for k, v in os.environ.items()
            if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY", "KATO_PUBLIC_URL"}
        }
        self.env.update(
            KATO_PORT=str(self.port),
            KATO_VAR_DIR=str(var_dir),
            KATO_EMBEDDED_PG_PORT=str(pg_port),
            KATO_EMBEDDED_REDIS_PORT=str(redis_port),
            KATO_GATEWAY_HTTP_PORT=str(gateway_http),
            KATO_GATEWAY_ADMIN_PORT=str(gateway_admin),
            KATO_ADMIN_PASSWORD="first-start-password",
        )
        self.log = var_dir / "run.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                ["make", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_the_login_page(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and status_of(f"{self.base}/accounts/login/") != 200:
            assert self.process is not None and self.process.poll() is None, self.output()
            time.sleep(0.5)
        assert status_of(f"{self.base}/accounts/login/") == 200, self.output()

    def wait_for_the_worker(self) -> None:
        deadline = time.monotonic() + START_S
        while time.monotonic() < deadline and " ready." not in self.output():
            time.sleep(0.5)

    def launcher(self) -> psutil.Process:
        assert self.process is not None
        (launcher,) = [
            p
            for p in psutil.Process(self.process.pid).children(recursive=True)
            if "kato_console.devrun" in p.cmdline()
        ]
        return launcher

    def ctrl_c(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=60)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def test_make_run_serves_the_login_page_and_the_admin_and_stops_everything_on_ctrl_c(var_dir):
    run = MakeRun(var_dir)
    run.start()
    try:
        run.wait_for_the_login_page()
        assert status_of(f"{run.base}/admin/") == 302
        # DEBUG is on, and a missing page is still the console's own, not Django's list of URLs.
        missing = page_of(f"{run.base}/apps/components/new/third-party/nope/")
        assert "This page does not exist" in missing and "URLconf" not in missing
        assert "log in as admin" in run.output()
        assert "first-start-password" not in run.output()
        assert postmasters_on(var_dir / "postgres") != []
        assert redis_pid(var_dir) is not None
        # Ctrl-C once the worker is up, as a person would after trying the console.
        run.wait_for_the_worker()
    finally:
        run.ctrl_c()

    assert_nothing_left(var_dir)
    assert status_of(f"{run.base}/accounts/login/") is None
    # The worker stops with a warm shutdown, and nothing it logs on the way out is an error.
    assert "Warm shutdown" in run.output()
    assert [line for line in run.output().splitlines() if "ERROR" in line] == []


def test_a_killed_make_run_leaves_no_second_postgres_on_its_data_at_the_next_start(var_dir):
    run = MakeRun(var_dir)
    run.start()
    try:
        run.wait_for_the_login_page()
        (first,) = postmasters_on(var_dir / "postgres")
        run.launcher().kill()
        run.process.wait(timeout=30)

        run.start()
        run.wait_for_the_login_page()
        assert not psutil.pid_exists(first) or psutil.Process(first).status() == psutil.STATUS_ZOMBIE
        assert len(postmasters_on(var_dir / "postgres")) == 1
        assert status_of(f"{run.base}/admin/") == 302  # the data of the first start is there
    finally:
        run.ctrl_c()
    assert_nothing_left(var_dir)


def postmasters_on(data_dir: Path) -> list[int]:
    """The PostgreSQL servers (postmasters, not their backends) running on this data folder."""
    return [
        p.pid
        for p in psutil.process_iter(["name", "cmdline", "status"])
        if p.info["name"] == "postgres"
        and p.info["status"] != psutil.STATUS_ZOMBIE
        and str(data_dir) in (p.info["cmdline"] or [])
    ]


def redis_pid(var_dir: Path) -> int | None:
    pid_file = var_dir / "redis" / "redis.pid"
    return int(pid_file.read_text()) if pid_file.exists() else None


def assert_nothing_left(var_dir: Path) -> None:
    """No process of this run is left (the launcher, the web server, the worker and its pool,
    PostgreSQL and its backends, Redis), and both servers removed their pid files."""
    deadline = time.monotonic() + 30
    while processes_started_for(var_dir) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert processes_started_for(var_dir) == []
    assert not (var_dir / "postgres" / "postmaster.pid").exists()
    assert redis_pid(var_dir) is None


def processes_started_for(var_dir: Path) -> list[str]:
    """Processes still running with this KATO_VAR_DIR in their environment, or this folder in their
    command line (every process `make run` starts has one or the other)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if process.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            command = " ".join(process.info["cmdline"] or [])
            if process.environ().get("KATO_VAR_DIR") == str(var_dir) or str(var_dir) in command:
                found.append(f"{process.pid} {command}")
        except psutil.Error:
            continue
    return found
