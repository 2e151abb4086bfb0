"""Maintenance windows and paused checks: transitions recorded but not alerted, the status reads
"Maintenance", instances out of routing during a window that asks for it, and a paused check that
probes nothing until it is resumed. Through the services, the pages and the console API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from instances import maintenance
from instances.models import Instance, MaintenanceWindow, Recurrence
from instances.sweep import claim_due
from kato_console.alerts.models import Delivery
from tests.alerts import conftest as alert_fixtures
from tests.alerts import support
from tests.api.conftest import token_client
from tests.components.pages_support import text
from tests.instances import sweeping
from tests.instances.sweeping import add_instance, checked_component, served_instance, time_passes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter
receiver = support.receiver
eager_celery = alert_fixtures.eager_celery
webhook = alert_fixtures.webhook

HOUR = timedelta(hours=1)


def window_now(actor, *, component=None, application=None, **options) -> MaintenanceWindow:
    now = timezone.now()
    return maintenance.maintenance_window_create(
        actor=actor,
        reason="Upgrade to 11.4",
        starts_at=now - HOUR,
        ends_at=now + HOUR,
        component=component,
        application=application,
        **options,
    )


@pytest.mark.usefixtures("eager_celery")
def test_a_transition_during_a_window_is_recorded_but_not_alerted(
    serve, application, alice_actor, webhook, receiver, django_capture_on_commit_callbacks
) -> None:
    server, component, instance = served_instance(serve, application, alice_actor, failure_threshold=1)
    with django_capture_on_commit_callbacks(execute=True):
        sweeping.sweep_rounds(1)
    window_now(alice_actor, application=application)

    server.close()
    time_passes()
    with django_capture_on_commit_callbacks(execute=True):
        sweeping.sweep_rounds(1)

    assert Instance.objects.get(pk=instance.pk).health == "unhealthy"
    assert AuditEvent.objects.filter(action="instance.unhealthy", component=component).exists()
    assert receiver.requests == [] and not Delivery.objects.exists()


def test_the_status_reads_maintenance_on_the_pages_and_in_the_api(
    application, alice_actor, alice_client, alice
) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    add_instance(component, "10.0.0.7:3306", alice_actor)
    window_now(alice_actor, component=component)

    page = text(alice_client.get(reverse("component", args=[component.service_id])))
    answer = token_client(alice).get(f"/api/v1/components/{component.service_id}").json()

    assert '<span id="component-status" class="status status-maintenance">Maintenance</span>' in page
    assert answer["status"] == "Maintenance"


def test_a_weekly_window_recurs_on_its_weekday_and_time() -> None:
    monday_nine = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    window = MaintenanceWindow(
        recurrence=Recurrence.WEEKLY, starts_at=monday_nine, ends_at=monday_nine + timedelta(hours=2)
    )
    assert window.is_active(monday_nine + timedelta(weeks=3, hours=1))
    assert not window.is_active(monday_nine + timedelta(weeks=3, hours=3))
    assert not window.is_active(monday_nine - timedelta(minutes=1))
    once = MaintenanceWindow(recurrence=Recurrence.ONCE, starts_at=monday_nine, ends_at=monday_nine + HOUR)
    assert not once.is_active(monday_nine + timedelta(weeks=1, minutes=5))


def test_a_window_that_asks_takes_the_instances_out_of_routing_and_puts_them_back(
    application, alice_actor
) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    online = add_instance(component, "10.0.0.7:3306", alice_actor)
    offline = add_instance(component, "10.0.0.8:3306", alice_actor, is_online=False)
    window = window_now(alice_actor, component=component, out_of_routing=True)

    assert maintenance.tick() == (1, 0)
    assert not Instance.objects.get(pk=online.pk).is_online
    assert not Instance.objects.filter(component=component).routed().exists()

    assert maintenance.tick(now=window.ends_at + timedelta(minutes=1)) == (0, 1)
    assert Instance.objects.get(pk=online.pk).is_online
    assert not Instance.objects.get(pk=offline.pk).is_online  # it was offline before: it stays
    actions = list(AuditEvent.objects.filter(component=component).values_list("action", flat=True))
    assert {"maintenance.create", "maintenance.start", "maintenance.end"} <= set(actions)


def test_a_paused_check_probes_nothing_until_it_is_resumed(application, alice_actor, alice_client) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    add_instance(component, "10.0.0.7:3306", alice_actor)
    url = reverse("component-check-pause", args=[component.service_id])

    paused = alice_client.post(url, {"pause": "1"}, follow=True)

    assert "Paused the health check" in text(paused)
    assert '<span class="status status-offline">Paused</span>' in text(paused)
    assert claim_due(everything=True) == []
    alice_client.post(url, {"pause": "0"})
    assert len(claim_due()) == 1
    actions = set(AuditEvent.objects.filter(component=component).values_list("action", flat=True))
    assert {"health_check.pause", "health_check.resume"} <= actions


def test_a_viewer_neither_pauses_nor_adds_a_window(
    application, alice_actor, client, victor_the_viewer
) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    client.force_login(victor_the_viewer)
    assert (
        client.post(reverse("component-check-pause", args=[component.service_id]), {"pause": "1"}).status_code
        == 403
    )
    assert (
        client.post(reverse("component-maintenance-add", args=[component.service_id]), {}).status_code == 403
    )


def test_the_page_adds_and_deletes_a_weekly_window_for_the_application(
    application, alice_actor, alice_client
) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    added = alice_client.post(
        reverse("component-maintenance-add", args=[component.service_id]),
        {
            "reason": "Sunday backups",
            "starts_at": "2026-01-04T02:00",
            "ends_at": "2026-01-04T03:00",
            "recurrence": "weekly",
            "whole_application": "on",
        },
        follow=True,
    )
    window = MaintenanceWindow.objects.get()
    assert (window.application_id, window.component_id, window.recurrence) == (application.pk, None, "weekly")
    assert "every Sunday 02:00–03:00, from 2026-01-04" in text(added)
    refused = alice_client.post(
        reverse("component-maintenance-add", args=[component.service_id]),
        {
            "reason": "Backwards",
            "starts_at": "2026-01-04T02:00",
            "ends_at": "2026-01-04T01:00",
            "recurrence": "once",
        },
    )
    assert "The window ends after it starts." in text(refused)

    alice_client.post(reverse("component-maintenance-delete", args=[component.service_id, window.pk]))

    assert not MaintenanceWindow.objects.exists()
    assert AuditEvent.objects.filter(action="maintenance.delete").exists()


def test_the_maintenance_windows_read_in_chinese_for_a_chinese_browser(
    application, alice_actor, alice_client
) -> None:
    component = checked_component(application, alice_actor, name="mysql")
    window_now(alice_actor, application=application, recurrence=Recurrence.WEEKLY, out_of_routing=True)
    MaintenanceWindow.objects.update(active=True)  # as the tick marks a window under way
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}

    page = text(alice_client.get(reverse("component-health-check", args=[component.service_id]), **chinese))
    refused = text(
        alice_client.post(
            reverse("component-maintenance-add", args=[component.service_id]),
            {
                "reason": "Backwards",
                "starts_at": "2026-01-04T02:00",
                "ends_at": "2026-01-04T01:00",
                "recurrence": "once",
            },
            **chinese,
        )
    )

    section = page[page.index('id="maintenance-title"') :]
    assert ">维护窗口</h2>" in section and ">原因</th>" in section and ">路由</th>" in section
    assert "应用 Shop" in section and "移出路由" in section and ">进行中</span>" in section
    assert "每星期" in section and "添加维护窗口" in section and "开始时间（UTC）" in section
    assert "维护中" in page  # the component's status in its header
    assert "窗口的结束时间必须晚于开始时间。" in refused
    for english in ("Maintenance windows", "Reason", "out of routing", "Add window", "Starts (UTC)"):
        assert english not in section
