"""The audit trail's lists at any size: a fixed number of queries, and no count of the whole table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.models import AUDIT_ACTIONS, AuditEvent
from tests.components.pages_support import text

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def operator_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="operator", password="pw-1-op"))
    return client


def _add_events(component, n: int, action: str = "instance.healthy") -> None:
    AuditEvent.objects.bulk_create(
        AuditEvent(
            team_id=component.team_id,
            component=component,
            component_label=component.name,
            actor="system",
            action=action,
        )
        for _ in range(n)
    )


def _queries(client, url: str) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return text(response), [q["sql"] for q in captured.captured_queries]


def _unbounded_counts(queries: list[str]) -> list[str]:
    """Counts over the trail that are neither limited to one component nor capped by a LIMIT."""
    return [
        sql
        for sql in queries
        if "COUNT(" in sql
        and '"core_auditevent"' in sql
        and "LIMIT" not in sql
        and '"core_auditevent"."component_id" =' not in sql
    ]


def _distincts(queries: list[str]) -> list[str]:
    return [sql for sql in queries if "DISTINCT" in sql and '"core_auditevent"' in sql]


ADMIN_URLS = [
    "",
    "?q=instance.unhealthy",
    "?q=oper",
    "?action=port.create",
    "?created_at__gte=2020-01-01+00:00:00%2B00:00",
    "?actor__exact=system",
]


@pytest.mark.parametrize("query", ADMIN_URLS)
def test_the_admin_changelist_makes_as_many_queries_for_300_events_as_for_3(
    operator_client, static_component, query
):
    url = reverse("admin:core_auditevent_changelist") + query
    _add_events(static_component, 3)
    _, few = _queries(operator_client, url)
    _add_events(static_component, 300)

    _, many = _queries(operator_client, url)

    assert len(many) == len(few)
    assert _unbounded_counts(many) == [] and _distincts(many) == []


def test_the_admin_changelist_offers_the_known_actions_without_reading_them(
    operator_client, static_component
):
    page, queries = _queries(operator_client, reverse("admin:core_auditevent_changelist"))

    assert "?action=instance.unhealthy" in page
    assert _distincts(queries) == []


def test_the_admin_search_finds_an_action_a_component_and_a_user_by_the_start_of_the_name(
    operator_client, static_component, alice_actor
):
    _add_events(static_component, 2, action="instance.unhealthy")
    # alice's own events: the component's creation.
    label_page, _ = _queries(operator_client, reverse("admin:core_auditevent_changelist") + "?q=mysql")
    action_page, _ = _queries(
        operator_client, reverse("admin:core_auditevent_changelist") + "?q=instance.unhealthy"
    )
    user_page, _ = _queries(operator_client, reverse("admin:core_auditevent_changelist") + "?q=ali")
    nothing, _ = _queries(operator_client, reverse("admin:core_auditevent_changelist") + "?q=unhealthy")

    assert static_component.name == "mysql"
    assert label_page.count("instance.unhealthy") >= 2 and "component.create" in label_page
    assert action_page.count('<td class="field-action">instance.unhealthy') == 2
    assert "component.create" in user_page and '<td class="field-action">instance.unhealthy' not in user_page
    assert "0 audit events" in nothing


def test_the_admin_changelist_counts_at_most_the_cap(operator_client, static_component, monkeypatch):
    monkeypatch.setattr("kato_console.admin.core.AUDIT_LIST_CAP", 150)
    _add_events(static_component, 300)

    page, queries = _queries(operator_client, reverse("admin:core_auditevent_changelist"))

    assert "150 audit events" in page
    assert any("COUNT(" in sql and "LIMIT 150" in sql for sql in queries)


def test_the_events_page_makes_as_many_queries_for_300_events_as_for_3(alice_client, static_component):
    url = reverse("component-events", args=[static_component.service_id])
    _add_events(static_component, 3)
    _, few = _queries(alice_client, url)
    _add_events(static_component, 300)

    page, many = _queries(alice_client, url)

    assert len(many) == len(few)
    assert _unbounded_counts(many) == [] and _distincts(many) == []
    assert '<option value="instance.unhealthy">instance.unhealthy</option>' in page


_ACTION = r"""["']([a-z_]+\.[a-z_]+)["']"""


def _written_actions() -> set[str]:
    """Every action the code writes: ``action="…"`` (or ``"…" if … else "…"``) and the sweep's
    health transitions (``instance.<health>``)."""
    found = {f"instance.{health}" for health in ("healthy", "unhealthy", "unknown")}
    sources = [
        *ROOT.glob("components/**/*.py"),
        *ROOT.glob("instances/**/*.py"),
        *ROOT.glob("kato_console/**/*.py"),
    ]
    for path in sources:
        for line in re.findall(r"action=(.*)", path.read_text()):
            found |= set(re.findall(_ACTION, line))
    return found


def test_every_action_the_console_writes_is_a_known_one() -> None:
    written = _written_actions()
    assert len(written) > 20
    assert written <= set(AUDIT_ACTIONS)
