"""The admin's "Probe now" says which instances were still being probed when it stopped waiting."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.audit import Actor
from tests.instances import sweeping
from tests.instances.probe_servers import never_answer
from tests.instances.sweeping import add_instance, checked_component
from tests.instances.test_sweep_admin import messages_of, operator_client  # noqa: F401 (a fixture)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter


def test_probe_now_tells_the_operator_what_is_still_being_probed(
    operator_client,  # noqa: F811
    application,
    alice_actor: Actor,
    serve,
    settings,
) -> None:
    settings.KATO_PROBE_NOW_WAIT_S = 0.5
    component = checked_component(
        application, alice_actor, name="legacy", kind="http", timeout_s=5, interval_s=60
    )
    add_instance(component, f"127.0.0.1:{serve(never_answer).port}", alice_actor)

    response = operator_client.post(
        reverse("admin:components_component_changelist"),
        {"action": "probe_now", "_selected_action": [component.pk]},
        follow=True,
    )

    assert messages_of(response) == [
        "legacy: 1 instance(s) did not answer within 0.5 s; they are still being probed, "
        "and their results will appear on the instance list."
    ]
