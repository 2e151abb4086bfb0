"""`manage.py probe_sweep [--all]`: one round in the foreground, and what it prints."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from core.audit import Actor
from instances.models import Status
from tests.instances import sweeping
from tests.instances.sweeping import (
    checked_component,
    fresh,
    offline_instance,
    refused_instance,
    served_instance,
)

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
    _, component, up = served_instance(serve, application, alice_actor, failure_threshold=1)
    down = refused_instance(component, alice_actor)
    offline_instance(component, alice_actor)

    summary = probe_sweep()

    assert summary.group(1) == "2"
    assert float(summary.group(2)) < 5
    assert summary.group(3) == "1 healthy, 1 unhealthy"
    assert fresh(up).status == Status.HEALTHY and fresh(down).status == Status.UNHEALTHY


def test_it_probes_nothing_before_the_instances_are_due_again(application, alice_actor: Actor, serve) -> None:
    server, _, _ = served_instance(serve, application, alice_actor)
    probe_sweep()

    summary = probe_sweep()

    assert summary.group(1) == "0" and summary.group(3) is None
    assert server.connection_count == 1


def test_all_probes_every_online_instance_whatever_its_schedule(
    application, alice_actor: Actor, serve
) -> None:
    server, _, _ = served_instance(serve, application, alice_actor, success_threshold=2)
    probe_sweep()

    summary = probe_sweep("--all")

    assert summary.group(1) == "1" and summary.group(3) == "1 healthy"
    assert server.wait_for_connections(2) == 2


def test_it_says_so_when_there_is_one_instance_not_ready_yet(application, alice_actor: Actor) -> None:
    component = checked_component(application, alice_actor, failure_threshold=3)
    refused_instance(component, alice_actor)

    summary = probe_sweep()

    assert summary.group(0).startswith("Probed 1 instance in ")
    assert summary.group(3) == "1 not ready"
