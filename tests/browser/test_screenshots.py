"""The pages the README shows, with the story of DESIGN.md §1 behind them and healthy components.

mysql is a real MariaDB (127.0.0.1:3306, a throwaway account its check logs in with), cache the
Redis of the tests, search a loopback HTTP server that is stopped halfway, so that "Down now" and
the events have something true to say. Every probe is real: the sweep probes the instances, and
the chart's earlier points are real probes of the same servers, recorded at the past minutes they
stand for (``history.record_round``, the sweep's own writer), as a day of sweeping would have.

The test asserts what each page shows; with KATO_DOCS_SCREENSHOTS set to a folder
(docs/make_screenshots.py does it), it also saves the README's pictures there.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from components import services
from components.models import ComponentKind, Registration
from core import services as accounts
from core.audit import Actor
from core.models import Role
from instances import history
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Instance, Status
from instances.probes import ProbeTarget, probe_sync
from instances.services import health_check_update
from instances.sweep import sweep_round
from tests.instances import probe_servers
from tests.instances.probe_servers import http_response
from tests.support import mariadb_account, require_service

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
serve = probe_servers.serve

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SLOT = timedelta(minutes=10)  # one point of the 24-hour chart


def _shot(page, name: str, *, full_page: bool = True, docs: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"readme-{name}.png"), full_page=full_page)
    folder = os.environ.get("KATO_DOCS_SCREENSHOTS", "") if docs else ""
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def _signed_in(browser, live_server, *, viewport: dict[str, int], locale: str = "en-US"):
    context = browser.new_context(viewport=viewport, locale=locale, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("#id_username").fill("alice")
    page.locator("#id_password").fill("alice-password-1")
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/apps/")
    return context, page


def _off_the_loop(function, *args):
    """Run this in a thread of its own: Playwright's event loop holds this one, and probes run their own."""

    def run():
        try:
            return function(*args)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def _a_past_day(targets: dict[int, ProbeTarget]) -> None:
    """Probe each target once for every ten minutes of the last day, recorded at that minute."""
    now = timezone.now()
    for slot in range(144, 0, -1):
        results = []
        for instance_id, target in targets.items():
            result = _off_the_loop(probe_sync, target)
            results.append((instance_id, result.ok, result.latency_ms))
        history.record_round(results, now - slot * SLOT)
    history.upkeep(now=now)


def test_the_readme_pages_of_a_healthy_shop(
    browser, live_server, alice, team, django_user_model, settings, serve
):
    settings.KATO_GATEWAY = True  # dependents reach mysql through the gateway's address
    settings.KATO_SWEEP_JITTER_S = 0
    mariadb = require_service("mariadb")
    redis = require_service("redis")
    accounts.membership_set(team=team, user=alice, role=Role.OWNER)
    for name, role in (("bob", Role.DEVELOPER), ("chen", Role.VIEWER)):
        user = django_user_model.objects.create_user(username=name, password=f"{name}-password-1")
        accounts.membership_set(team=team, user=user, role=role)
    actor = Actor.for_user(alice, "127.0.0.1")
    shop = services.application_create(team=team, name="Shop", actor=actor)

    with mariadb_account("shop") as (user, password):
        # mysql: API registration, port 3306/mysql with its internal service, its connection
        # information, and a check that logs in with it.
        mysql = instance_services.component_create(
            application=shop, name="mysql", actor=actor, registration=Registration.API
        )
        services.port_create(component=mysql, number=3306, protocol="mysql", inner_service=True, actor=actor)
        services.env_var_set(component=mysql, name="MYSQL_USER", value=user, actor=actor)
        services.env_var_set(component=mysql, name="MYSQL_PASSWORD", value=password, actor=actor, secret=True)
        health_check_update(
            component=mysql,
            actor=actor,
            kind="mysql",
            use_credentials=True,
            credential_networks=["127.0.0.0/8"],
        )
        # A deploy hook registers the MariaDB through the instance API, as the curl line does.
        response = Client().put(
            f"/console/third_party/{mysql.service_id}",
            data=json.dumps({"secret_key": mysql.secret_key, "ip": f"{mariadb.host}:{mariadb.port}"}),
            content_type="application/json",
        )
        assert response.status_code == 200, response.content
        mysql_instance = Instance.objects.get(component=mysql)

        # cache: the Redis, a static address; search: an HTTP server that answers, for now.
        cache = instance_services.component_create(
            application=shop,
            name="cache",
            actor=actor,
            registration=Registration.STATIC,
            addresses=[parse_address(f"{redis.host}:{redis.port}")],
        )
        services.port_create(
            component=cache, number=redis.port, protocol="redis", inner_service=True, actor=actor
        )
        health_check_update(component=cache, actor=actor, kind="redis")
        search_server = serve(http_response(200, "OK"))
        search = instance_services.component_create(
            application=shop,
            name="search",
            actor=actor,
            registration=Registration.STATIC,
            addresses=[parse_address(f"127.0.0.1:{search_server.port}")],
        )
        services.port_create(
            component=search, number=search_server.port, protocol="http", inner_service=True, actor=actor
        )
        health_check_update(component=search, actor=actor, kind="http", path="/", failure_threshold=1)

        # phpmyadmin depends on mysql; the storefront on cache and search.
        phpmyadmin = instance_services.component_create(
            application=shop,
            name="phpmyadmin",
            actor=actor,
            kind=ComponentKind.INTERNAL,
            image="phpmyadmin:5",
        )
        services.dependency_add(component=phpmyadmin, target=mysql, actor=actor)
        storefront = instance_services.component_create(
            application=shop,
            name="storefront",
            actor=actor,
            kind=ComponentKind.INTERNAL,
            image="shop/storefront:2",
        )
        services.dependency_add(component=storefront, target=cache, actor=actor)
        services.dependency_add(component=storefront, target=search, actor=actor)

        # A day of probes, then the sweep's own rounds; then search stops answering.
        cache_instance = cache.instances.get()
        search_instance = search.instances.get()
        _a_past_day(
            {
                mysql_instance.pk: ProbeTarget(
                    kind="mysql", host=mariadb.host, port=mariadb.port, username=user, password=password
                ),
                cache_instance.pk: ProbeTarget(kind="redis", host=redis.host, port=redis.port),
                search_instance.pk: ProbeTarget(kind="http", host="127.0.0.1", port=search_server.port),
            }
        )
        for _ in range(3):
            _off_the_loop(lambda: sweep_round(everything=True))
        assert Instance.objects.get(pk=mysql_instance.pk).status == Status.HEALTHY
        assert Instance.objects.get(pk=cache_instance.pk).status == Status.HEALTHY
        search_server.close()
        _off_the_loop(lambda: sweep_round(everything=True))
        assert Instance.objects.get(pk=search_instance.pk).status == Status.UNHEALTHY

        context, page = _signed_in(browser, live_server, viewport=DESKTOP)
        try:
            url = live_server.url
            page.goto(f"{url}/components/{mysql.service_id}/")
            page.locator("svg").first.wait_for()
            assert page.get_by_text("Healthy").first.is_visible()
            _shot(page, "overview")

            page.goto(f"{url}/components/{mysql.service_id}/ports/")
            assert page.get_by_text("Reach it at").first.is_visible()
            _shot(page, "ports")

            page.goto(f"{url}/components/{phpmyadmin.service_id}/environment/")
            assert page.get_by_text("MYSQL_HOST", exact=True).first.is_visible()
            _shot(page, "environment")

            page.goto(f"{url}/apps/shop/")
            page.locator("svg.topology").wait_for()
            _shot(page, "topology")

            page.goto(f"{url}/components/{mysql.service_id}/events/")
            _shot(page, "events")

            page.goto(f"{url}/down/")
            assert page.get_by_text("search").first.is_visible()
            _shot(page, "down-now")

            page.goto(f"{url}/teams/{team.slug}/")
            assert page.get_by_text("chen").first.is_visible()
            _shot(page, "team")

            page.goto(f"{url}/account/")
            _shot(page, "profile")
        finally:
            context.close()

        context, page = _signed_in(browser, live_server, viewport=PHONE)
        try:
            page.goto(f"{live_server.url}/components/{mysql.service_id}/")
            assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
            _shot(page, "phone", full_page=False)
        finally:
            context.close()

        # The console in Simplified Chinese (the browser asks for it): the README's "中文" pictures,
        # wholly Chinese but for the names people gave and the brand.
        context, page = _signed_in(browser, live_server, viewport=DESKTOP, locale="zh-CN")
        try:
            url = live_server.url
            page.goto(f"{url}/apps/shop/")
            page.get_by_role("heading", name="组件").wait_for()
            page.locator("svg.topology").wait_for()
            _shot(page, "chinese")

            page.goto(f"{url}/components/{mysql.service_id}/")
            page.locator("svg.chart").wait_for()
            for heading in ("总览", "实例", "历史"):
                assert page.get_by_role("heading", name=heading, exact=True).is_visible()
            assert page.get_by_role("columnheader", name="最近检测").is_visible()
            _shot(page, "zh-overview")

            page.goto(f"{url}/components/{mysql.service_id}/connection-info/")
            assert page.get_by_text("MYSQL_USER", exact=True).first.is_visible()
            _shot(page, "zh-connection-info")

            page.goto(f"{url}/down/")
            page.get_by_role("heading", name="当前故障").wait_for()
            assert page.get_by_text("依赖它的组件：").first.is_visible()
            _shot(page, "zh-down-now")

            page.goto(f"{url}/components/{mysql.service_id}/events/")
            _shot(page, "chinese-events", docs=False)
        finally:
            context.close()
