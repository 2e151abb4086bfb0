"""Probe now: one call in flight per component and user. A second one while the first runs is refused
at once (429 in the API, a message on the page) instead of holding another web worker."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.db import connections

from instances.services import probe_now_slot
from tests.api.conftest import url

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


@contextmanager
def a_probe_now_running(component, user) -> Iterator[None]:
    """Another web process holds the user's Probe now of this component (its own connection)."""
    held, done = threading.Event(), threading.Event()

    def run() -> None:
        try:
            with probe_now_slot(component_id=component.pk, user_id=user.pk):
                held.set()
                done.wait(30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.wait(10)
    try:
        yield
    finally:
        done.set()
        thread.join(10)


def test_a_second_probe_now_by_the_same_user_is_refused_while_the_first_runs(
    postgres_database, api, alice, static_component
) -> None:
    with a_probe_now_running(static_component, alice):
        refused = api.post(url(static_component, "/probe"))
    assert refused.status_code == 429
    assert "still running" in refused.json()["detail"]

    assert api.post(url(static_component, "/probe")).status_code == 200


def test_another_user_or_another_component_is_not_held_up(
    postgres_database, api, alice, victor_the_viewer, static_component, api_component
) -> None:
    with a_probe_now_running(static_component, victor_the_viewer):
        assert api.post(url(static_component, "/probe")).status_code == 200
    with a_probe_now_running(api_component, alice):
        assert api.post(url(static_component, "/probe")).status_code == 200


def test_the_page_says_so_too(postgres_database, alice_client, alice, static_component) -> None:
    with a_probe_now_running(static_component, alice):
        answer = alice_client.post(
            f"/components/{static_component.service_id}/health-check/probe/", follow=True
        )
    assert "still running" in answer.content.decode()
