"""A Chinese-speaking operator walks the Add Third-Party Component wizard in Chromium, the browser
asking for Chinese (Accept-Language: zh-CN), and then switches the console to English in the footer."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from components.models import Component

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERVIEW = re.compile(r"/components/[0-9a-f]{32}/$")
SHOTS = Path("var/screenshots")


def _shot(page, name: str, doc: str = "") -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    docs = os.environ.get("KATO_DOCS_SCREENSHOTS", "")  # docs/make_screenshots.py: the README's pictures
    if doc and docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(docs) / f"{doc}.png"), full_page=True)


@pytest.fixture
def chinese_page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800}, timezone_id="UTC")
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_wizard_in_chinese_from_the_login_page_to_the_new_component(
    chinese_page, live_server, alice, application, tcp_listener
) -> None:
    page = chinese_page
    host, port = tcp_listener
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("heading", name="登录 Kato 控制台").wait_for()
    page.get_by_label("用户名").fill("alice")
    page.get_by_label("密码").fill("alice-password-1")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{live_server.url}/apps/")
    assert page.get_by_role("heading", name="应用").is_visible()

    page.get_by_role("link", name="添加第三方组件").click()
    page.get_by_role("heading", name="第 1 步 — 填写第三方服务信息").wait_for()
    assert page.get_by_role("group", name="注册方式").get_by_label("静态注册").is_checked()
    page.get_by_label("组件名称").fill("订单库")
    address = page.get_by_label("组件地址")
    address.fill("10.0.0.7")
    address.blur()
    page.get_by_text("10.0.0.7 没有端口").wait_for()  # a field's error, checked as it is left
    # The row was swapped in with its error; htmx listens on the new field once it has settled.
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    address.fill(f"{host}:{port}")
    with page.expect_response(lambda response: "/validate/" in response.url):
        address.blur()
    page.get_by_text("10.0.0.7 没有端口").wait_for(state="detached")  # checked again as it is left
    _shot(page, "test_wizard_chinese-1-step-1", doc="zh-wizard-step-1")
    page.get_by_role("button", name="创建组件").click()

    page.get_by_role("heading", name="第 2 步 — 测试并创建").wait_for()
    page.get_by_text("可连通", exact=True).wait_for()
    _shot(page, "test_wizard_chinese-2-step-2", doc="zh-wizard-step-2")
    page.get_by_role("button", name="创建", exact=True).click()
    page.wait_for_url(OVERVIEW)
    component = Component.objects.get(name="订单库")
    assert component.instances.get().address == f"{host}:{port}"
    tabs = page.get_by_role("navigation", name="组件页面")
    for tab in ("总览", "端口", "连接信息", "依赖", "健康检测"):
        assert tabs.get_by_role("link", name=tab, exact=True).is_visible()
    assert page.get_by_role("heading", name="实例").is_visible()
    _shot(page, "test_wizard_chinese-3-overview")

    page.get_by_label("语言").select_option("en")
    page.get_by_role("button", name="切换").click()
    page.get_by_role("heading", name="Instances").wait_for()
    page.goto(f"{live_server.url}/apps/")
    assert page.get_by_role("heading", name="Applications").is_visible()  # the choice is kept
