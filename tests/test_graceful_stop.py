"""A restart or a stop of the web server sheds nothing it accepted: gunicorn, run with the Dockerfile's
arguments and the shipped gunicorn.conf.py, finishes the request in hand before its worker stops.

The request is held in the database (another session locks the component's table) while gunicorn
gets SIGTERM; the lock is then released, and the request must still get its answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection

from tests.instances.probe_servers import closed_port
from tests.test_access_log import ROOT, dockerfile_arguments

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _database_url() -> str:
    settings = connection.settings_dict
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or "5432"
    return f"postgres://{settings['USER']}@{host}:{port}/{settings['NAME']}"


def _connect(*, autocommit: bool = False) -> psycopg.Connection[Any]:
    settings = connection.settings_dict
    return psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=int(settings["PORT"] or 5432),
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=autocommit,  # the watcher's: pg_stat_activity is read once per transaction
    )


def _wait_until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def test_a_request_in_hand_when_gunicorn_is_stopped_gets_its_answer(api_component, tmp_path: Path) -> None:
    arguments = dockerfile_arguments()
    port = closed_port()
    arguments[arguments.index("--bind") + 1] = f"127.0.0.1:{port}"
    arguments[arguments.index("--workers") + 1] = "1"
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(),
        "KATO_VAR_DIR": str(tmp_path / "var"),
        "ALLOWED_HOSTS": "127.0.0.1",
        "KATO_DB_STATEMENT_TIMEOUT_S": "60",  # the held request waits for the lock, not for a 503
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
    url = f"http://127.0.0.1:{port}/console/third_party/{api_component.service_id}"
    body = json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.7"}).encode()
    answers: list[tuple[int, Any]] = []

    def put() -> None:
        request = urllib.request.Request(
            url, data=body, method="PUT", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                answers.append((response.status, json.loads(response.read())))
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.read().decode(errors="replace")))
        except OSError as error:  # the worker was stopped with the request in hand
            answers.append((0, repr(error)))

    try:
        _wait_until(lambda: _answers(port), "gunicorn's start")
        with _connect() as holder, _connect(autocommit=True) as watcher:
            holder.execute("LOCK TABLE components_component IN ACCESS EXCLUSIVE MODE")
            client = threading.Thread(target=put)
            client.start()
            _wait_until(
                lambda: (
                    watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    ).fetchone()
                    == (1,)
                ),
                "the request's wait for the lock",
            )
            server.send_signal(signal.SIGTERM)  # to gunicorn's master: a stop, with one request in hand
            holder.rollback()
        client.join(60)
        server.wait(timeout=60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)

    assert answers == [(200, SUCCESS)], log.read_text(errors="replace")
    assert api_component.instances.filter(host="10.0.0.7").exists()


SUCCESS = {
    "msg": "success",
    "code": 200,
    "data": {"bean": {}, "list": []},
    "msg_show": "Successfully modified",
}


def _answers(port: int) -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2).close()
        return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
