"""Status pages and badges: opt-in, at an unguessable address, names, status and uptime only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.models import AuditEvent
from instances import history, maintenance
from instances.models import Instance, StatusPage
from tests.components.pages_support import text
from tests.instances.sweeping import add_instance, checked_component

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(application, alice_actor):
    mysql = checked_component(application, alice_actor, name="mysql")
    instance = add_instance(mysql, "10.0.0.7:3306", alice_actor)
    Instance.objects.filter(pk=instance.pk).update(health="healthy")
    now = timezone.now()
    for minute in range(10):
        history.record_round([(instance.pk, minute != 0, 3.0)], now - timedelta(minutes=minute))
    history.upkeep(now=now)
    return mysql


def publish(client, application) -> StatusPage:
    client.post(reverse("application-status-page", args=[application.slug]), {"publish": "1"})
    return StatusPage.objects.get(application=application)


def test_a_published_page_shows_names_status_and_uptime_to_anyone_and_nothing_else(
    alice_client, application, shop
) -> None:
    page = publish(alice_client, application)
    assert len(page.token) >= 32

    html = text(Client().get(f"/status/{page.token}/"))

    assert "<h1>Shop</h1>" in html
    assert "<td>mysql</td>" in html
    assert '<span class="status status-healthy">Healthy</span>' in html
    assert '<td class="num">90.00 %</td>' in html
    assert "10.0.0.7" not in html and "3306" not in html and shop.service_id not in html
    assert AuditEvent.objects.filter(action="status_page.publish").exists()


def test_badges_are_svg_of_the_status_and_the_uptime(alice_client, application, shop) -> None:
    page = publish(alice_client, application)

    status = Client().get(f"/status/{page.token}/badge/status.svg")
    uptime = Client().get(f"/status/{page.token}/badge/uptime.svg?component=mysql")

    assert status["Content-Type"].startswith("image/svg+xml")
    assert 'aria-label="status: Healthy"' in text(status)
    assert 'aria-label="uptime 30d: 90.00 %"' in text(uptime)
    assert Client().get(f"/status/{page.token}/badge/uptime.svg?component=nothing").status_code == 404


def test_an_unpublished_or_guessed_address_is_404(alice_client, application, shop) -> None:
    page = publish(alice_client, application)
    assert Client().get("/status/not-the-token/").status_code == 404

    alice_client.post(reverse("application-status-page", args=[application.slug]), {"publish": "0"})

    assert Client().get(f"/status/{page.token}/").status_code == 404
    assert Client().get(f"/status/{page.token}/badge/status.svg").status_code == 404
    assert AuditEvent.objects.filter(action="status_page.unpublish").exists()


def test_a_viewer_cannot_publish(client, victor_the_viewer, application) -> None:
    client.force_login(victor_the_viewer)
    response = client.post(reverse("application-status-page", args=[application.slug]), {"publish": "1"})
    assert response.status_code == 403
    assert not StatusPage.objects.exists()


def test_the_status_reads_maintenance_during_a_window(alice_client, application, alice_actor, shop) -> None:
    page = publish(alice_client, application)
    now = timezone.now()
    maintenance.maintenance_window_create(
        actor=alice_actor,
        reason="Upgrade",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
        component=shop,
    )
    assert 'Now: <span class="status status-maintenance">Maintenance</span>' in text(
        Client().get(f"/status/{page.token}/")
    )


def test_the_status_page_and_badges_read_in_chinese_for_a_chinese_browser(
    alice_client, application, shop
) -> None:
    page = publish(alice_client, application)
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}

    html = text(Client().get(f"/status/{page.token}/", **chinese))
    status = text(Client().get(f"/status/{page.token}/badge/status.svg", **chinese))
    uptime = text(Client().get(f"/status/{page.token}/badge/uptime.svg", **chinese))

    assert '<html lang="zh-hans">' in html and "<title>Shop 状态</title>" in html
    assert '<span class="status status-healthy">健康</span>' in html
    assert ">组件</th>" in html and ">可用率 24 小时</th>" in html and "可用率：健康检测通过的比例" in html
    assert "Uptime" not in html and "Component" not in html
    assert 'aria-label="状态: 健康"' in status and 'aria-label="30 天可用率: 90.00 %"' in uptime
    # Wide characters are measured wider: the text fits its box.
    assert 'width="' + str(12 + 2 * 12 + 12 + 2 * 12) + '"' in status
