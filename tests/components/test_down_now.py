"""The "Down now" page: what fails across the user's applications, since when, what depends on it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import ComponentKind
from core.audit import Actor
from instances import services as instance_services
from instances.models import Instance
from instances.selectors import down_now_for_user
from tests.components.pages_support import query_count, text
from tests.instances import sweeping
from tests.instances.probe_servers import http_response
from tests.instances.sweeping import add_instance, checked_component, refused_instance, sweep_rounds

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_jitter")]
serve = sweeping.serve
no_jitter = sweeping.no_jitter

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "down-now"}


def internal(application, actor: Actor, name: str):
    return instance_services.component_create(
        application=application, name=name, actor=actor, kind=ComponentKind.INTERNAL
    )


@pytest.fixture
def shop(serve, application, alice_actor: Actor):
    """mysql (one instance answering, one refusing) ← orders ← storefront; redis answering."""
    server = serve(http_response(200, "OK"))
    mysql = checked_component(
        application, alice_actor, name="mysql", failure_threshold=1, success_threshold=1
    )
    add_instance(mysql, f"127.0.0.1:{server.port}", alice_actor)
    refused = refused_instance(mysql, alice_actor)
    redis = checked_component(application, alice_actor, name="redis", success_threshold=1)
    add_instance(redis, f"127.0.0.1:{server.port}", alice_actor)
    orders = internal(application, alice_actor, "orders")
    storefront = internal(application, alice_actor, "storefront")
    services.dependency_add(component=orders, target=mysql, actor=alice_actor)
    services.dependency_add(component=storefront, target=orders, actor=alice_actor)
    sweep_rounds(1)
    return mysql, refused


def test_it_lists_what_fails_since_when_and_what_depends_on_it(alice_client, shop) -> None:
    mysql, refused = shop
    html = text(alice_client.get(reverse("down-now")))

    listed = html[html.index('id="down-now"') :]
    assert "mysql" in listed and "redis" not in listed
    assert '<span class="status status-partial">Partial</span>' in listed
    assert f"<code>{refused.address}</code>" in listed
    assert ": connect: " in listed  # the stage the probe failed at, then what it found
    assert "1 of 2 online instances failing" in listed
    since = Instance.objects.get(pk=refused.pk).health_since
    assert since is not None
    assert f"Down since {since:%Y-%m-%d %H:%M} UTC" in listed
    assert ">orders</a>, " in listed
    assert '>storefront</a> <span class="muted">(through others)</span>' in listed
    assert 'hx-trigger="every 10s"' in listed


def test_it_says_when_nothing_is_down_and_keeps_watching(
    alice_client, application, alice_actor, serve
) -> None:
    server = serve(http_response(200, "OK"))
    redis = checked_component(application, alice_actor, name="redis", success_threshold=1)
    add_instance(redis, f"127.0.0.1:{server.port}", alice_actor)
    sweep_rounds(1)

    html = text(alice_client.get(reverse("down-now")))

    assert "Nothing is down" in html
    assert 'hx-trigger="every 10s"' in html


def test_an_instance_taken_offline_is_no_longer_down(alice_client, shop, alice_actor) -> None:
    _, refused = shop
    instance_services.instance_set_online(instance=refused, is_online=False, actor=alice_actor)

    assert "Nothing is down" in text(alice_client.get(reverse("down-now")))


def test_another_team_s_member_does_not_see_it(client, bob_from_another_team, shop) -> None:
    client.force_login(bob_from_another_team)
    assert "Nothing is down" in text(client.get(reverse("down-now")))


def test_the_poll_answers_the_list_alone_at_a_fixed_cost(
    alice_client, shop, application, alice_actor
) -> None:
    response = alice_client.get(reverse("down-now"), **POLL)
    html = text(response)
    assert html.lstrip().startswith('<section id="down-now"')
    assert 'aria-label="Teams and applications"' not in html
    before = query_count(alice_client, reverse("down-now"), **POLL)

    more = checked_component(application, alice_actor, name="postgres", failure_threshold=1)
    refused_instance(more, alice_actor)
    refused_instance(more, alice_actor)
    sweep_rounds(1)

    assert "postgres" in text(alice_client.get(reverse("down-now"), **POLL))
    assert query_count(alice_client, reverse("down-now"), **POLL) == before


def test_it_lists_the_longest_down_first_up_to_its_limit_and_counts_the_rest(
    alice, shop, application, alice_actor
) -> None:
    later = checked_component(application, alice_actor, name="postgres", failure_threshold=1)
    refused_instance(later, alice_actor)
    sweep_rounds(1)

    shown, total = down_now_for_user(alice, limit=1)

    assert [row.component.name for row in shown] == ["mysql"]
    assert total == 2


def test_it_reads_in_chinese_for_a_chinese_browser(alice_client, shop) -> None:
    mysql, refused = shop
    html = text(alice_client.get(reverse("down-now"), HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9"))

    listed = html[html.index('id="down-now"') :]
    assert "<h1>当前故障</h1>" in html and "列表每 10 秒自动刷新" in html
    assert '<span class="status status-partial">部分健康</span>' in listed
    assert "2 个在线实例中有 1 个失败。" in listed
    assert ": 连接: " in listed and ": connect: " not in listed
    assert "依赖它的组件：" in listed and ">orders</a>、" in listed
    assert '>storefront</a> <span class="muted">（间接依赖）</span>' in listed
    for english in ("Down now", "online instances failing", "Depends on it", "through others", "Read at"):
        assert english not in html
