"""DESIGN.md's story, in order, as a new user walks it in Chromium, by the visible labels.

Each step saves a screenshot into var/screenshots/walkthrough-<step>.png. With
KATO_DOCS_SCREENSHOTS set to a folder (docs/make_screenshots.py does it), the wizard's two steps
are also saved there, 1280 px wide, whole, for the README; its other pictures come from
tests/browser/test_screenshots.py, whose components are healthy and have a day of history.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from components.models import Component
from tests.support import run_pasted

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
OVERVIEW = re.compile(r"/components/[0-9a-f]{32}/$")
VIEWPORT = {"width": 1280, "height": 800}


def _shot(page, step: str, doc: str = "") -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"walkthrough-{step}.png"), full_page=True)
    docs = os.environ.get("KATO_DOCS_SCREENSHOTS", "")
    if doc and docs:
        Path(docs).mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")  # the README shows each page from its top bar
        page.screenshot(path=str(Path(docs) / f"{doc}.png"), full_page=True)


def _sign_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")


def _add_component(page, live_server, kind: str) -> None:
    page.goto(f"{live_server.url}/apps/shop/")
    page.get_by_text("Add component", exact=True).click()
    page.get_by_role("link", name=kind).click()


def _tab(page, name: str) -> None:
    page.get_by_role("navigation", name="Component pages").get_by_role("link", name=name, exact=True).click()
    page.wait_for_selector(f'nav.tabs a[aria-current="page"]:text-is("{name}")')


def test_a_new_user_walks_the_whole_story(page, browser, live_server, alice, team, tcp_listener):
    host, port = tcp_listener
    page.set_viewport_size(VIEWPORT)

    # Sign in.
    page.goto(f"{live_server.url}/")
    _shot(page, "01-sign-in")
    _sign_in(page, live_server)

    # Create the application "Shop".
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Name").fill("Shop")
    page.get_by_role("button", name="Create application").click()
    page.wait_for_url(f"{live_server.url}/apps/shop/")
    _shot(page, "02-application")

    # A third-party component with the static address of a live listener, through the wizard.
    _add_component(page, live_server, "Third-party component")
    page.get_by_role("heading", name="Step 1 — Fill in third-party service information").wait_for()
    page.get_by_label("Component name").fill("orders-db")
    page.get_by_label("Component address").fill(f"{host}:{port}")
    _shot(page, "03-wizard-step-1", doc="wizard-step-1")
    page.get_by_role("button", name="Create component").click()
    page.get_by_role("heading", name="Step 2 — Test and create").wait_for()
    page.get_by_text("Reachable", exact=True).wait_for()
    _shot(page, "04-wizard-step-2", doc="wizard-step-2")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    assert page.get_by_role("heading", name="orders-db").is_visible()
    _shot(page, "05-static-overview")

    # mysql with API registration: the API URL, the secret key, revealed.
    _add_component(page, live_server, "Third-party component")
    page.get_by_label("Component name").fill("mysql")
    page.get_by_label("API registration").check()
    page.get_by_role("button", name="Create component").click()
    page.get_by_text("API URL").first.wait_for()
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    mysql = Component.objects.get(name="mysql")
    registration = page.get_by_role("region", name="API registration")
    assert (
        page.locator("#api-url").inner_text() == f"{live_server.url}/console/third_party/{mysql.service_id}"
    )
    assert mysql.secret_key not in registration.inner_text()
    registration.get_by_role("button", name="Reveal").click()
    page.wait_for_function(
        "key => document.getElementById('secret-key').textContent === key", arg=mysql.secret_key
    )
    _shot(page, "06-api-registration")

    # The curl line, as shown, registers an instance; the table shows it without a reload.
    curl = page.locator("#curl-line").inner_text()
    done = run_pasted(curl, INSTANCE_IP="10.0.0.7")
    assert '"code":200' in done.stdout.replace(" ", ""), done.stdout + done.stderr
    page.get_by_role("cell", name="10.0.0.7 API").wait_for(timeout=12_000)
    _shot(page, "07-instance-registered")
    # Reloaded, the secret key is masked again (and stays out of the README's picture).
    page.reload()
    assert mysql.secret_key not in page.content()
    _shot(page, "07b-overview")

    # On mysql: port 3306 / mysql with its internal service.
    _tab(page, "Ports")
    ports = page.get_by_role("region", name="Ports")
    ports.get_by_label("Port", exact=True).fill("3306")
    ports.get_by_label("Protocol").select_option("mysql")
    ports.get_by_role("button", name="Add port").click()
    page.get_by_role("cell", name="MYSQL", exact=True).wait_for()
    # The switch is checked at once in the page; wait for the server's answer before going on.
    with page.expect_response(lambda response: response.request.method == "POST"):
        page.get_by_role("switch", name="Internal service").check()
    page.wait_for_selector("#inner-3306:checked")
    page.locator("#component-head").get_by_text("3306/mysql").wait_for()
    _shot(page, "08-port-internal-service")

    # Its connection information: MYSQL_USER and a secret MYSQL_PASSWORD.
    _tab(page, "Connection information")
    section = page.get_by_role("region", name="Connection information")
    section.get_by_label("Name").fill("MYSQL_USER")
    section.get_by_label("Value").fill("shop")
    section.get_by_role("button", name="Add variable").click()
    page.locator("#var-MYSQL_USER").wait_for()
    section = page.get_by_role("region", name="Connection information")
    section.get_by_label("Name").fill("MYSQL_PASSWORD")
    section.get_by_label("Value").fill("walkthrough-pw")
    section.get_by_label("Secret").check()
    section.get_by_role("button", name="Add variable").click()
    page.locator("#var-MYSQL_PASSWORD").wait_for()
    assert "walkthrough-pw" not in page.locator("#var-MYSQL_PASSWORD").inner_text()
    _shot(page, "09-connection-information")

    # The internal component phpmyadmin, depending on mysql.
    _add_component(page, live_server, "Internal component")
    page.get_by_label("Component name").fill("phpmyadmin")
    page.get_by_label("Image").fill("phpmyadmin:5")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    assert page.locator("#component-head").get_by_text("No instances").is_visible()
    _tab(page, "Dependencies")
    page.get_by_label("Component", exact=True).select_option(label="mysql")
    page.get_by_role("button", name="Add dependency").click()
    page.get_by_role("region", name="Dependencies").get_by_role("link", name="mysql").wait_for()
    _shot(page, "10-dependency")

    # Its environment: MySQL's connection information, the password masked.
    _tab(page, "Environment")
    table = page.get_by_role("region", name="Effective environment")
    for name in ("MYSQL_HOST", "MYSQL_PORT", "MYSQL_USER", "MYSQL_PASSWORD"):
        assert table.get_by_text(name, exact=True).is_visible()
    assert "walkthrough-pw" not in table.inner_text()
    assert table.get_by_label("MYSQL_PASSWORD (hidden)").is_visible()
    _shot(page, "11-environment")

    # The application: both nodes joined by an arrow in the topology.
    page.get_by_role("navigation", name="Breadcrumbs").get_by_role("link", name="Shop").click()
    topology = page.locator("svg.topology")
    assert topology.get_by_role("link", name=re.compile(r"^phpmyadmin,")).is_visible()
    assert topology.get_by_role("link", name=re.compile(r"^mysql,")).is_visible()
    assert topology.locator("line").count() == 1
    page.locator("svg.topology").scroll_into_view_if_needed()
    _shot(page, "12-topology")

    # The wizard again, with JavaScript disabled.
    context = browser.new_context(java_script_enabled=False, viewport=VIEWPORT)
    plain = context.new_page()
    plain.set_default_timeout(10_000)
    try:
        _sign_in(plain, live_server)
        _add_component(plain, live_server, "Third-party component")
        plain.get_by_label("Component name").fill("cache")
        plain.get_by_label("Component address").fill(f"{host}:{port}")
        _shot(plain, "13-no-js-step-1")
        plain.get_by_role("button", name="Create component").click()
        plain.get_by_role("heading", name="Step 2 — Test and create").wait_for()
        assert plain.get_by_text("Reachable", exact=True).is_visible()
        _shot(plain, "14-no-js-step-2")
        plain.get_by_role("button", name="Create", exact=True).click()
        plain.wait_for_url(OVERVIEW)
        assert Component.objects.get(name="cache").instances.get().address == f"{host}:{port}"
        _shot(plain, "15-no-js-overview")
    finally:
        context.close()
