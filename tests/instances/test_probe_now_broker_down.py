"""Probe now with the broker out of reach: the answer still comes, and the sweep takes over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.audit import Actor
from instances.models import Instance
from tests.instances import probe_servers
from tests.instances.probe_servers import closed_port, never_answer
from tests.instances.sweeping import add_instance, checked_component
from tests.instances.test_celery_e2e import database_url

ROOT = Path(__file__).resolve().parents[2]

serve = probe_servers.serve

# Runs in a process of its own, whose Celery app is configured with the unreachable broker.
PROBE_NOW = """
import json, sys
import django
django.setup()
from core.audit import Actor
from components.models import Component
from instances.sweep import probe_component_now
component = Component.objects.get(service_id=sys.argv[1])
probed = probe_component_now(component=component, actor=Actor.system(), wait_s=0.5)
print(json.dumps({"results": len(probed), "pending": [i.pk for i in probed.pending]}))
"""


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_probe_now_answers_when_the_broker_is_down_and_leaves_the_rest_to_the_sweep(
    postgres_database, serve, application, alice_actor: Actor, tmp_path: Path
) -> None:
    component = checked_component(application, alice_actor, kind="http", timeout_s=5, interval_s=60)
    silent = add_instance(component, f"127.0.0.1:{serve(never_answer).port}", alice_actor)
    Instance.objects.filter(pk=silent.pk).update(next_probe_at=None)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kato_console.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{closed_port()}/0",
        "KATO_VAR_DIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE_NOW, component.service_id],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"results": 0, "pending": [silent.pk]}
    assert "not handed to a worker" in done.stderr
    assert Instance.objects.get(pk=silent.pk).next_probe_at is not None
