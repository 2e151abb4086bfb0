"""The history on the pages: the component's chart and uptime on its overview, each instance's uptime
in the instance table, and each instance's own chart page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urljoin

import pytest
from django.urls import reverse
from django.utils import timezone

from instances import history
from instances.addresses import parse_address
from instances.models import InstanceHistory, Period
from instances.services import instance_add
from tests.components.pages_support import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def probed(static_component, alice_actor):
    """Two instances probed for the last half hour, every minute: the first always passed (10 then
    30 ms), the second failed one probe in three."""
    first = instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    second = instance_add(
        component=static_component, address=parse_address("10.0.0.8:3306"), actor=alice_actor
    )
    now = timezone.now()
    for minute in range(30):
        at = now - timedelta(minutes=minute)
        history.record_round(
            [(first.pk, True, 10.0 if minute % 2 else 30.0), (second.pk, minute % 3 != 0, 50.0)], at
        )
    history.upkeep(now=now)
    return first, second


def test_the_overview_shows_the_component_s_chart_and_uptime(alice_client, static_component, probed) -> None:
    html = text(alice_client.get(reverse("component", args=[static_component.service_id])))

    history_card = html[html.index('id="history-title"') :]
    # 60 probes, 10 failed: 83.33 % over each window, never rounded up.
    assert re.search(r"24h</span> 83\.33 %", history_card)
    assert '<svg class="chart"' in history_card
    assert (
        'aria-label="Latency and probes of the component: 60 probes in the last 24 hours, 10 failed;' in html
    )
    # Ten-minute bars over the last half hour: the failures show in each.
    assert history_card.count('class="chart-some"') in (3, 4)
    assert 'class="chart-avg" d="M' in history_card
    assert 'aria-current="true">24h<' in history_card


def test_the_instance_table_shows_each_instance_s_uptime_and_links_its_history(
    alice_client, static_component, probed
) -> None:
    first, second = probed
    html = text(alice_client.get(reverse("component", args=[static_component.service_id])))

    rows = html[html.index("<tbody>") : html.index("</tbody>")]
    assert "100 % · 100 % · 100 %" in rows
    assert "66.66 % · 66.66 % · 66.66 %" in rows
    # The link is relative to the overview, the one page that shows the table (50 rows stay small).
    links = [
        urljoin(reverse("component", args=[static_component.service_id]), href)
        for href in re.findall(r'href="([^"]+)"', rows)
    ]
    assert reverse("component-instance-history", args=[static_component.service_id, second.pk]) in links


def test_an_instance_s_history_page_draws_its_chart_over_the_asked_window(
    alice_client, static_component, probed
) -> None:
    first, _ = probed
    url = reverse("component-instance-history", args=[static_component.service_id, first.pk])
    InstanceHistory.objects.create(
        instance=first,
        period=Period.DAY,
        start=timezone.now() - timedelta(days=200),
        probes=1440,
        failures=1440,
    )

    day = text(alice_client.get(url))
    year = text(alice_client.get(url + "?window=1y"))

    assert "Latency and probes of 10.0.0.7:3306: 30 probes in the last 24 hours, 0 failed;" in day
    assert "chart-down" not in day
    # The year reads the day rows: the failed day long ago, and today.
    assert "1470 probes in the last 1 year, 1440 failed" in year
    assert year.count('class="chart-down"') == 1
    assert 'aria-current="true">1y<' in year


def test_another_team_s_member_does_not_see_an_instance_s_history(
    client, bob_from_another_team, static_component, probed
) -> None:
    client.force_login(bob_from_another_team)
    url = reverse("component-instance-history", args=[static_component.service_id, probed[0].pk])
    assert client.get(url).status_code == 404


def test_the_charts_and_the_instance_table_read_in_chinese_for_a_chinese_browser(
    alice_client, static_component, probed
) -> None:
    first, _ = probed
    chinese = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}
    overview = text(alice_client.get(reverse("component", args=[static_component.service_id]), **chinese))
    page = text(
        alice_client.get(
            reverse("component-instance-history", args=[static_component.service_id, first.pk]), **chinese
        )
    )

    table = overview[overview.index('id="instance-table"') : overview.index("</thead>")]
    assert all(f">{heading}<" in table for heading in ("地址", "状态", "延迟", "最近检测", "最近错误"))
    assert "可用率 <span" in table and "24 小时 · 7 天 · 30 天" in table
    assert 'aria-label="组件的延迟与检测：最近 24 小时 内检测 60 次，失败 10 次' in overview
    assert ">历史</h2>" in page and 'aria-current="true">24 小时<' in page
    assert "10.0.0.7:3306 的延迟与检测：最近 24 小时 内检测 30 次，失败 0 次" in page
    assert "通过的检测的" in page and "全部失败" in page
    for english in ("History", "Uptime", "Last checked", "probes in the last", "all passed", ">24h<"):
        assert english not in overview[overview.index('id="instance-table"') :] and english not in page
