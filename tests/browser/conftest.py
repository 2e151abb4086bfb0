"""Chromium (Debian's package) driven by Playwright against the live test server."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from components import services
from core.models import Membership, Role
from instances.addresses import parse_address
from instances.services import instance_add
from kato_console.alerts import services as alert_services
from tests.support import require_chromium

# Playwright's synchronous API runs an event loop in this thread; the ORM calls that fixtures
# make between page actions are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    executable = require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def logged_in_page(page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")
    return page


@pytest.fixture
def owned_console(alice, alice_actor, team, static_component, internal_component):
    """alice owns the team; the static component has a MySQL port, an instance and a dependent (the
    internal component), and the team an e-mail channel, which is returned: every kind of page the
    page-walking tests (axe, the tab order) look at has something on it."""
    Membership.objects.filter(user=alice).update(role=Role.OWNER)
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.dependency_add(
        component=internal_component, target=static_component, actor=alice_actor, open_inner=True
    )
    instance_add(component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor)
    return alert_services.channel_create(
        team=team, actor=alice_actor, name="On call", kind="email", target="oncall@example.com"
    )
