"""gunicorn's access log, run with the arguments the Dockerfile and docker-compose.yml ship, records
requests without their query string: a script's ``GET …?secret_key=`` never puts the key there."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest
import yaml

from tests.instances.probe_servers import closed_port

ROOT = Path(__file__).resolve().parents[1]
SECRET = "s3cret-key-that-must-stay-out-of-logs"


def dockerfile_arguments() -> list[str]:
    cmd = next(line for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("CMD "))
    return json.loads(cmd.removeprefix("CMD "))


def compose_arguments() -> list[str]:
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["web"]["command"]
    script = command[-1] if isinstance(command, list) else command
    words = shlex.split(script)
    return words[words.index("gunicorn") :]


def served_with(arguments: list[str], tmp_path: Path, *, then: tuple[str, ...] = ()) -> list[str]:
    """gunicorn with these arguments, bound to a free loopback port instead of the container's."""
    arguments = list(arguments)
    port = closed_port()
    arguments[arguments.index("--bind") + 1] = f"127.0.0.1:{port}"
    arguments[arguments.index("--workers") + 1] = "1"  # the log's format does not depend on it
    env = {
        **os.environ,
        "KATO_VAR_DIR": str(tmp_path / "var"),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", *arguments],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 60
        url = f"http://127.0.0.1:{port}/accounts/login/?secret_key={SECRET}&next=/apps/"
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except urllib.error.HTTPError:
                break  # answered: that is all the log needs
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start:\n" + log.read_text(errors="replace"))
        for path in then:
            with suppress(urllib.error.HTTPError):
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10).close()
        time.sleep(0.5)  # the access log line is written after the answer
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return log.read_text(errors="replace").splitlines()


@pytest.mark.parametrize("shipped", [dockerfile_arguments, compose_arguments], ids=["Dockerfile", "compose"])
def test_the_access_log_has_the_request_but_not_the_secret_key(shipped, tmp_path: Path) -> None:
    arguments = shipped()
    assert arguments[0] == "gunicorn" and "--access-logfile" in arguments
    lines = served_with(arguments, tmp_path)
    requests = [line for line in lines if re.search(r'"GET /accounts/login/ HTTP/1\.1" 200', line)]
    assert requests, "\n".join(lines)
    assert not [line for line in lines if SECRET in line or "secret_key" in line], "\n".join(lines)


FORGED = '127.0.0.1 - - [01/Jan/2030:00:00:00 +0000] "GET /admin/ HTTP/1.1" 200 1'


def test_a_line_break_in_the_path_is_escaped_in_the_access_log(tmp_path: Path) -> None:
    forged_path = "/components/x%0a" + urllib.parse.quote(FORGED) + "/"
    lines = served_with(dockerfile_arguments(), tmp_path, then=(forged_path,))
    assert not [line for line in lines if line.startswith("127.0.0.1 - - [01/Jan/2030")], "\n".join(lines)
    assert [line for line in lines if "/components/x\\n127.0.0.1" in line], "\n".join(lines)


def test_gunicorn_reads_the_console_s_configuration_from_the_folder_it_starts_in() -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "gunicorn", "--print-config", "kato_console.wsgi:application"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    settings = dict(re.findall(r"^(\w+)\s*=\s*(.*)$", printed, flags=re.MULTILINE))
    assert settings["logger_class"] == "kato_console.access_log.EscapedAccessLog"
    # A restart lets the requests in hand finish: longer than the database's timeouts let one last.
    assert int(settings["graceful_timeout"]) >= 30
