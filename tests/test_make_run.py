"""`make run` serves the login page and the admin within 60 seconds, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(url: str) -> int | None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    try:
        return urllib.request.build_opener(NoRedirect).open(url, timeout=2).status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def test_make_run_serves_the_login_page_and_the_admin_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "DEBUG", "SECRET_KEY"}
    }
    env.update(KATO_PORT=str(port), KATO_VAR_DIR=str(tmp_path), KATO_ADMIN_PASSWORD="first-start-password")
    log = (tmp_path / "run.log").open("w")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and status_of(f"{base}/accounts/login/") != 200:
            assert process.poll() is None, (tmp_path / "run.log").read_text()
            time.sleep(0.5)
        assert status_of(f"{base}/accounts/login/") == 200, (tmp_path / "run.log").read_text()
        assert status_of(f"{base}/admin/") == 302
        output = (tmp_path / "run.log").read_text()
        assert "log in as admin" in output
        assert "first-start-password" not in output
        # Ctrl-C once the worker is up, as a person would after trying the console.
        while time.monotonic() < deadline + 30 and " ready." not in (tmp_path / "run.log").read_text():
            time.sleep(0.5)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
    # Celery's warm shutdown takes a moment; everything must be gone well within it.
    deadline = time.monotonic() + 20
    while processes_started_for(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert processes_started_for(tmp_path) == []
    assert status_of(f"{base}/accounts/login/") is None
    # The worker stops with a warm shutdown, and nothing it logs on the way out is an error.
    output = (tmp_path / "run.log").read_text()
    assert "Warm shutdown" in output
    assert [line for line in output.splitlines() if "ERROR" in line] == []


def processes_started_for(var_dir: Path) -> list[int]:
    """Processes still running with this KATO_VAR_DIR in their environment (the web server, the worker)."""
    marker = f"KATO_VAR_DIR={var_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_bytes().rsplit(b")", 1)[-1].split()[0]
            if state != b"Z" and marker in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
