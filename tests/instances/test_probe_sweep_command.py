"""`manage.py probe_sweep [--all]`: one round in the foreground, and what it prints."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from components.audit import Actor
from instances.models import Status
from tests.instances import sweeping
from tests.instances.probe_servers import close_at_once
from tests.instances.sweeping import add_instance, checked_component, closed_port, fresh

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter

SUMMARY = re.compile(r"^Probed (\d+) instances? in (\d+\.\d\d) s(?:: (.*))?\.$")


def probe_sweep(*args: str) -> re.Match[str]:
    out = StringIO()
    call_command("probe_sweep", *args, stdout=out)
    match = SUMMARY.match(out.getvalue().strip())
    assert match, out.getvalue()
    return match


def test_it_probes_the_due_instances_and_prints_the_count_per_status(
    application, alice_actor: Actor, serve
) -> None:
    server = serve(close_at_once)
    component = checked_component(application, alice_actor, failure_threshold=1)
    up = add_instance(component, f"127.0.0.1:{server.port}", alice_actor)
    down = add_instance(component, f"127.0.0.1:{closed_port()}", alice_actor)
    add_instance(component, "127.0.0.1:5999", alice_actor, is_online=False)

    summary = probe_sweep()

    assert summary.group(1) == "2"
    assert float(summary.group(2)) < 5
    assert summary.group(3) == "1 healthy, 1 unhealthy"
    assert fresh(up).status == Status.HEALTHY and fresh(down).status == Status.UNHEALTHY


def test_it_probes_nothing_before_the_instances_are_due_again(application, alice_actor: Actor, serve) -> None:
    server = serve(close_at_once)
    component = checked_component(application, alice_actor)
    add_instance(component, f"127.0.0.1:{server.port}", alice_actor)
    probe_sweep()

    summary = probe_sweep()

    assert summary.group(1) == "0" and summary.group(3) is None
    assert server.connection_count == 1


def test_all_probes_every_online_instance_whatever_its_schedule(
    application, alice_actor: Actor, serve
) -> None:
    server = serve(close_at_once)
    component = checked_component(application, alice_actor, success_threshold=2)
    add_instance(component, f"127.0.0.1:{server.port}", alice_actor)
    probe_sweep()

    summary = probe_sweep("--all")

    assert summary.group(1) == "1" and summary.group(3) == "1 healthy"
    assert server.wait_for_connections(2) == 2


def test_it_says_so_when_there_is_one_instance_not_ready_yet(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor, failure_threshold=3)
    add_instance(component, f"127.0.0.1:{closed_port()}", alice_actor)

    summary = probe_sweep()

    assert summary.group(0).startswith("Probed 1 instance in ")
    assert summary.group(3) == "1 not ready"
