"""A reload never repeats a post: every plain (non-htmx) form that changes or reveals something
answers with a redirect, and what it reveals is shown on the next display only."""

from __future__ import annotations

import pytest

from components import services
from core.models import AuditEvent
from instances.addresses import parse_address
from instances.services import instance_add

pytestmark = pytest.mark.django_db


@pytest.fixture
def mysql(static_component, alice_actor):
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cret-pw", secret=True, actor=alice_actor
    )
    return static_component


def test_a_revealed_variable_is_shown_once_after_a_redirect(alice_client, mysql):
    page = f"/components/{mysql.service_id}/connection-info/"
    response = alice_client.post(f"{page}MYSQL_PASSWORD/reveal/")
    assert response.status_code == 302 and response["Location"] == page
    shown = alice_client.get(page)
    assert "s3cret-pw" in shown.content.decode() and "no-store" in shown["Cache-Control"]
    assert "s3cret-pw" not in alice_client.get(page).content.decode()  # the reload
    assert AuditEvent.objects.filter(action="env.reveal").count() == 1


def test_the_revealed_environment_is_shown_once_after_a_redirect(
    alice_client, internal_component, mysql, alice_actor
):
    services.dependency_add(component=internal_component, target=mysql, actor=alice_actor)
    page = f"/components/{internal_component.service_id}/environment/"
    response = alice_client.post(f"{page}reveal/")
    assert response.status_code == 302 and response["Location"] == page
    shown = alice_client.get(page)
    assert "s3cret-pw" in shown.content.decode() and "no-store" in shown["Cache-Control"]
    assert "s3cret-pw" not in alice_client.get(page).content.decode()
    assert AuditEvent.objects.filter(action="env.reveal").count() == 1


def test_a_viewer_is_shown_nothing_kept(client, victor_the_viewer, alice_client, mysql):
    alice_client.post(f"/components/{mysql.service_id}/connection-info/MYSQL_PASSWORD/reveal/")
    client.force_login(victor_the_viewer)
    assert "s3cret-pw" not in client.get(f"/components/{mysql.service_id}/connection-info/").content.decode()


def test_probe_now_shows_its_results_once_after_a_redirect(
    alice_client, static_component, alice_actor, tcp_listener
):
    host, port = tcp_listener
    instance_add(component=static_component, address=parse_address(f"{host}:{port}"), actor=alice_actor)
    page = f"/components/{static_component.service_id}/health-check/"
    response = alice_client.post(f"{page}probe/")
    assert response.status_code == 302 and response["Location"] == page
    shown = alice_client.get(page).content.decode()
    assert f"<code>{host}:{port}</code>" in shown and "reachable" in shown
    assert f"<code>{host}:{port}</code>" not in alice_client.get(page).content.decode()  # the reload
    assert AuditEvent.objects.filter(action="component.probe").count() == 1
