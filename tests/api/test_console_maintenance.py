"""/api/v1/components/<service_id>/maintenance/…: maintenance windows, and pausing the health check
through …/health-check (docs/monitoring.md, "Maintenance and pause")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.models import AuditEvent
from instances import maintenance
from instances.addresses import parse_address
from instances.models import HealthCheck, Instance, MaintenanceWindow
from instances.services import instance_add
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


def _window(component, actor, **changes):
    now = timezone.now()
    data = {"reason": "Upgrade", "starts_at": now + timedelta(hours=1), "ends_at": now + timedelta(hours=2)}
    return maintenance.maintenance_window_create(actor=actor, component=component, **{**data, **changes})


def test_it_adds_lists_and_deletes_a_window(api, static_component):
    starts = timezone.now() + timedelta(days=1)
    body = {
        "reason": "MySQL 8.4 upgrade",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=2)).isoformat(),
        "recurrence": "weekly",
        "out_of_routing": True,
    }
    response = api.post(url(static_component, "/maintenance/"), body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["reason"], created["recurrence"], created["out_of_routing"]) == (
        "MySQL 8.4 upgrade",
        "weekly",
        True,
    )
    assert (created["whole_application"], created["active"]) == (False, False)
    window = MaintenanceWindow.objects.get(pk=created["id"])
    assert (window.component, window.application, window.starts_at) == (static_component, None, starts)
    assert AuditEvent.objects.filter(component=static_component, action="maintenance.create").exists()

    listed = api.get(url(static_component, "/maintenance/")).json()
    assert listed["count"] == 1
    assert [row["id"] for row in listed["results"]] == [window.pk]
    assert (
        api.get(url(static_component, f"/maintenance/{window.pk}/")).json()["reason"] == "MySQL 8.4 upgrade"
    )

    assert api.delete(url(static_component, f"/maintenance/{window.pk}/")).status_code == 204
    assert not MaintenanceWindow.objects.filter(pk=window.pk).exists()
    assert AuditEvent.objects.filter(component=static_component, action="maintenance.delete").exists()
    assert api.get(url(static_component, f"/maintenance/{window.pk}/")).status_code == 404


def test_a_window_for_the_whole_application_shows_on_each_of_its_components(
    api, static_component, internal_component
):
    now = timezone.now()
    body = {
        "reason": "Network work",
        "starts_at": (now - timedelta(minutes=5)).isoformat(),
        "ends_at": (now + timedelta(hours=1)).isoformat(),
        "whole_application": True,
    }
    response = api.post(url(static_component, "/maintenance/"), body, format="json")
    assert response.status_code == 201
    assert response.json()["whole_application"] is True
    window = MaintenanceWindow.objects.get()
    assert (window.component, window.application) == (None, static_component.application)
    listed = api.get(url(internal_component, "/maintenance/")).json()["results"]
    assert [row["reason"] for row in listed] == ["Network work"]
    # The component object reads "Maintenance" while the window is under way.
    assert api.get(url(internal_component)).json()["status"] == "Maintenance"


def test_deleting_a_window_under_way_puts_its_instances_back(api, static_component, alice_actor):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.5"), actor=alice_actor)
    now = timezone.now()
    window = _window(
        static_component,
        alice_actor,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1),
        out_of_routing=True,
    )
    maintenance.tick()
    assert Instance.objects.get(pk=instance.pk).is_online is False
    assert api.delete(url(static_component, f"/maintenance/{window.pk}")).status_code == 204
    assert Instance.objects.get(pk=instance.pk).is_online is True


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"ends_at": "2026-01-01T09:00:00Z"}, "ends_at", "The window ends after it starts."),
        ({"recurrence": "daily"}, "recurrence", '"daily" is not a valid choice.'),
        ({"reason": ""}, "reason", "This field may not be blank."),
        ({"starts_at": "tomorrow"}, "starts_at", "Datetime has wrong format."),
        (
            {"recurrence": "weekly", "ends_at": "2026-01-09T10:00:00Z"},
            "ends_at",
            "A weekly window lasts less than a week.",
        ),
    ],
)
def test_a_bad_window_is_a_400_naming_the_field(api, static_component, changes, field, message):
    body = {"reason": "Upgrade", "starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T12:00:00Z"}
    response = api.post(url(static_component, "/maintenance/"), {**body, **changes}, format="json")
    assert response.status_code == 400
    assert any(message in text for text in response.json()[field]), response.json()
    assert not MaintenanceWindow.objects.exists()


def test_a_viewer_reads_the_windows_but_cannot_change_them(viewer_api, static_component, alice_actor):
    window = _window(static_component, alice_actor)
    assert viewer_api.get(url(static_component, "/maintenance/")).json()["count"] == 1
    body = {"reason": "x", "starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T12:00:00Z"}
    refused = viewer_api.post(url(static_component, "/maintenance/"), body, format="json")
    assert refused.status_code == 403
    assert "Viewers can read" in refused.json()["detail"]
    assert viewer_api.delete(url(static_component, f"/maintenance/{window.pk}/")).status_code == 403
    assert MaintenanceWindow.objects.count() == 1


def test_another_team_gets_404(bob_api, static_component, alice_actor):
    window = _window(static_component, alice_actor)
    assert bob_api.get(url(static_component, "/maintenance/")).status_code == 404
    body = {"reason": "x", "starts_at": "2026-01-01T10:00:00Z", "ends_at": "2026-01-01T12:00:00Z"}
    assert bob_api.post(url(static_component, "/maintenance/"), body, format="json").status_code == 404
    assert bob_api.delete(url(static_component, f"/maintenance/{window.pk}/")).status_code == 404
    assert MaintenanceWindow.objects.count() == 1


def test_a_window_of_another_component_is_not_found_through_this_one(
    api, static_component, internal_component, alice_actor
):
    window = _window(internal_component, alice_actor)
    assert api.delete(url(static_component, f"/maintenance/{window.pk}/")).status_code == 404
    assert api.get(url(static_component, "/maintenance/abc/")).json() == {
        "detail": "No such maintenance window."
    }
    assert MaintenanceWindow.objects.filter(pk=window.pk).exists()


# Pausing the health check


def test_it_pauses_and_resumes_the_check(api, static_component, alice_actor):
    response = api.put(url(static_component, "/health-check"), {"paused": True}, format="json")
    assert response.status_code == 200
    assert response.json()["paused"] is True
    assert HealthCheck.objects.get(component=static_component).paused is True
    assert AuditEvent.objects.filter(component=static_component, action="health_check.pause").exists()
    assert not AuditEvent.objects.filter(component=static_component, action="health_check.update").exists()
    assert api.get(url(static_component, "/health-check")).json()["paused"] is True

    instance = instance_add(component=static_component, address=parse_address("10.0.0.5"), actor=alice_actor)
    Instance.objects.filter(pk=instance.pk).update(next_probe_at=timezone.now() + timedelta(hours=1))
    response = api.put(
        url(static_component, "/health-check"), {"paused": False, "interval_s": 30}, format="json"
    )
    assert (response.json()["paused"], response.json()["interval_s"]) == (False, 30)
    check = HealthCheck.objects.get(component=static_component)
    assert (check.paused, check.interval_s) == (False, 30)
    assert AuditEvent.objects.filter(component=static_component, action="health_check.resume").exists()
    # Resumed: the online instances are due at once.
    assert Instance.objects.get(pk=instance.pk).next_probe_at <= timezone.now()


def test_pausing_is_refused_to_a_viewer_and_another_team(viewer_api, bob_api, static_component):
    refused = viewer_api.put(url(static_component, "/health-check"), {"paused": True}, format="json")
    assert refused.status_code == 403
    assert (
        bob_api.put(url(static_component, "/health-check"), {"paused": True}, format="json").status_code
        == 404
    )
    assert not HealthCheck.objects.filter(component=static_component, paused=True).exists()
    assert not AuditEvent.objects.filter(action="health_check.pause").exists()


def test_a_paused_value_that_is_not_a_boolean_is_a_400(api, static_component):
    response = api.put(url(static_component, "/health-check"), {"paused": "sometimes"}, format="json")
    assert response.status_code == 400
    assert response.json()["paused"] == ["Must be a valid boolean."]
