"""POST /api/v1/components/<id>/probe answers after KATO_PROBE_NOW_WAIT_S, whatever the targets do,
and hands what it did not wait for to a worker (how soon it answers: bench/waits.py).

A real gunicorn serves the console and a real Celery worker (on Redis) takes what the request did
not wait for. Two instances are silent listeners (they accept and never answer) behind an HTTP check
whose timeout is well beyond the wait: the request answers with the quick instance's result and the
two silent ones as pending, and their results land in the database later, recorded by the worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

from core import services as accounts
from core.audit import Actor
from instances.models import Instance
from tests.instances import probe_servers
from tests.instances.probe_servers import closed_port, http_response, never_answer
from tests.instances.sweeping import add_instance, checked_component
from tests.instances.test_celery_e2e import BROKER_DB, database_url, running_worker, wait_until
from tests.support import require_service

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 2
CHECK_TIMEOUT_S = 12

serve = probe_servers.serve


@contextmanager
def running_gunicorn(tmp_path: Path, **environment: str) -> Iterator[str]:
    """gunicorn with one sync worker on the test database; yields its base URL once it answers."""
    redis = require_service("redis")
    port = closed_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kato_console.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://{redis.host}:{redis.port}/{BROKER_DB}",
        "KATO_VAR_DIR": str(tmp_path / "web-var"),
        "ALLOWED_HOSTS": "127.0.0.1",
        **environment,
    }
    log = (tmp_path / "gunicorn.log").open("wb")
    command = [sys.executable, "-m", "gunicorn", "kato_console.wsgi:application"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "120"]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with suppress(OSError):
                urllib.request.urlopen(f"{base}/accounts/login/", timeout=2).close()
                break
            time.sleep(0.2)
        else:
            pytest.fail("gunicorn did not start:\n" + (tmp_path / "gunicorn.log").read_text(errors="replace"))
        yield base
    finally:
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        log.close()


def post(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_probe_now_answers_without_the_silent_instances_and_their_results_land_later(
    postgres_database, serve, application, alice, alice_actor: Actor, tmp_path: Path
) -> None:
    component = checked_component(
        application, alice_actor, kind="http", timeout_s=CHECK_TIMEOUT_S, interval_s=60, enabled=False
    )
    quick = add_instance(component, f"127.0.0.1:{serve(http_response(200, 'OK')).port}", alice_actor)
    silent = [add_instance(component, f"127.0.0.1:{serve(never_answer).port}", alice_actor) for _ in range(2)]
    _, token = accounts.api_token_create(user=alice, name="probe-now")

    with (
        running_worker(tmp_path) as worker_log,
        running_gunicorn(tmp_path, KATO_PROBE_NOW_WAIT_S=str(WAIT_S)) as base,
    ):
        status, body = post(f"{base}/api/v1/components/{component.service_id}/probe", token)

        assert status == 200, body
        assert [row["instance"]["id"] for row in body["results"]] == [quick.pk]
        assert body["results"][0]["ok"] is True
        assert sorted(instance["id"] for instance in body["pending"]) == sorted(i.pk for i in silent)
        assert "will appear on the instance list" in body["detail"]
        assert Instance.objects.get(pk=quick.pk).last_checked_at is not None

        def silent_ones_recorded() -> bool:
            stored = Instance.objects.filter(pk__in=[i.pk for i in silent], last_checked_at__isnull=False)
            return stored.count() == len(silent)

        wait_until(
            silent_ones_recorded, timeout=CHECK_TIMEOUT_S + 40, log=worker_log, what="the pending results"
        )
        assert "instances.tasks.probe_now" in worker_log.read_text(errors="replace")
        for instance in Instance.objects.filter(pk__in=[i.pk for i in silent]):
            assert instance.consecutive_failures == 1 and instance.last_error
