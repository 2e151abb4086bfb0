"""Fragments do only their work: the instance table's 5-second poll reads what the table shows and
nothing else (not the frame, not the sidebar), while every full page keeps its sidebar."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import services as accounts
from instances.addresses import parse_address
from instances.services import instance_add
from tests.components.pages_support import text

pytestmark = pytest.mark.django_db

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "instance-table"}
SIDEBAR = 'aria-label="Teams and applications"'


@pytest.fixture
def component_with_instances(static_component, alice_actor):
    for address in ("10.0.0.7:3306", "10.0.0.8:3306"):
        instance_add(component=static_component, address=parse_address(address), actor=alice_actor)
    return static_component


def _poll(client, component) -> tuple[str, list[str]]:
    url = reverse("component", args=[component.service_id])
    client.get(url, **POLL)  # Warm caches (the session, content types) before counting.
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **POLL)
    assert response.status_code == 200
    return text(response), [query["sql"] for query in queries.captured_queries]


def test_the_instance_table_poll_reads_only_what_the_table_shows(alice_client, component_with_instances):
    html, queries = _poll(alice_client, component_with_instances)
    assert "10.0.0.7:3306" in html and "Take offline" in html
    # The session, the user, the component with the user's right to change it, the counts per
    # status (which also give the total), whether a maintenance window is under way, the rows of
    # the page and their uptimes.
    assert len(queries) == 7, "\n".join(queries)


def test_the_instance_table_poll_reads_neither_the_navigation_nor_the_ports(
    alice_client, component_with_instances
):
    html, queries = _poll(alice_client, component_with_instances)
    assert SIDEBAR not in html
    read = [sql.split(" FROM ", 1)[1].split(" ", 1)[0] for sql in queries]
    assert '"components_application"' not in read
    assert '"core_team"' not in read
    assert '"components_port"' not in read


def test_a_viewer_polls_the_instance_table_without_its_buttons(
    client, victor_the_viewer, component_with_instances
):
    client.force_login(victor_the_viewer)
    html, _ = _poll(client, component_with_instances)
    assert "10.0.0.7:3306" in html and "Take offline" not in html


def test_a_full_page_still_has_its_sidebar(alice_client, static_component):
    html = text(alice_client.get(reverse("component", args=[static_component.service_id])))
    assert SIDEBAR in html
    assert "<h2>Payments</h2>" in html and ">Shop</a>" in html


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_BOOSTED": "true"},  # a boosted link
        {"HTTP_HX_REQUEST": "true"},  # HX-Location (after the wizard's Create): the whole body
        {"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"},  # Back, not in the cache
    ],
)
def test_an_htmx_request_for_a_whole_page_keeps_the_sidebar(alice_client, static_component, headers):
    html = text(alice_client.get(reverse("component", args=[static_component.service_id]), **headers))
    assert SIDEBAR in html
    assert "<h2>Payments</h2>" in html and ">Shop</a>" in html


def test_the_sidebar_says_when_a_team_has_no_application_yet(client, alice, application, django_user_model):
    from core.models import Role

    empty = accounts.team_create(name="Billing")
    accounts.membership_set(team=empty, user=alice, role=Role.DEVELOPER)
    client.force_login(alice)
    html = client.get("/apps/").content.decode()
    sidebar = html[html.index('aria-label="Teams and applications"') :]
    billing = sidebar[sidebar.index("Billing") :]
    assert "No applications yet" in billing.split("</ul>")[0]
    assert application.name in sidebar
