"""The Add Third-Party Component wizard in Chromium, with JavaScript and without."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest

from components.models import Component, Registration

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("var/screenshots")
OVERVIEW = re.compile(r"/components/[0-9a-f]{32}/$")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _open_wizard(page, live_server, application) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    page.get_by_text("Add component", exact=True).click()
    page.get_by_role("link", name="Third-party component").click()
    page.get_by_role("heading", name="Step 1 — Fill in third-party service information").wait_for()


def test_a_static_address_of_a_live_listener_passes_the_test(
    logged_in_page, live_server, application, tcp_listener
):
    page = logged_in_page
    host, port = tcp_listener
    _open_wizard(page, live_server, application)
    page.get_by_label("Component name").fill("orders-db")
    page.get_by_label("Component address").fill(f"{host}:{port}")
    _shot(page, "test_wizard-1-step-1")
    page.get_by_role("button", name="Create component").click()
    page.get_by_role("heading", name="Step 2 — Test and create").wait_for()
    page.get_by_text("Reachable", exact=True).wait_for()
    _shot(page, "test_wizard-2-test-passed")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    component = Component.objects.get(name="orders-db")
    assert page.url == f"{live_server.url}/components/{component.service_id}/"
    assert component.instances.get().address == f"{host}:{port}"
    _shot(page, "test_wizard-3-overview")


def test_each_field_is_checked_when_it_is_left(logged_in_page, live_server, application):
    page = logged_in_page
    _open_wizard(page, live_server, application)
    address = page.get_by_label("Component address")
    address.fill("10.0.0.7")
    address.blur()
    page.get_by_text("10.0.0.7 has no port").wait_for()
    page.get_by_label("Port").fill("99999")
    page.get_by_label("Port").blur()
    page.get_by_text("Ensure this value is less than or equal to 65535.").wait_for()
    _shot(page, "test_wizard-4-errors-on-leaving")
    assert page.url.endswith("/components/new/third-party/")


def test_address_rows_are_added_and_removed_in_place(logged_in_page, live_server, application):
    page = logged_in_page
    _open_wizard(page, live_server, application)
    page.get_by_label("Component address").fill("10.0.0.7:3306")
    page.get_by_role("button", name="Add address").click()
    rows = page.get_by_label("Component address")
    rows.nth(1).wait_for()
    rows.nth(1).fill("db.example.com:3306")
    assert rows.count() == 2 and rows.nth(0).input_value() == "10.0.0.7:3306"
    _shot(page, "test_wizard-5-two-addresses")
    page.get_by_role("button", name="Remove").nth(0).click()
    # A function, not an expression: the Content-Security-Policy refuses the eval an expression needs.
    page.wait_for_function("() => document.querySelectorAll('input[name=address]').length === 1")
    assert page.get_by_label("Component address").input_value() == "db.example.com:3306"


def test_api_registration_shows_what_will_be_created(logged_in_page, live_server, application):
    page = logged_in_page
    _open_wizard(page, live_server, application)
    page.get_by_label("Component name").fill("mysql")
    page.get_by_label("API registration").check()
    assert not page.get_by_label("Component address").is_visible()
    page.get_by_label("Port").fill("3306")
    page.get_by_label("Protocol").select_option("mysql")
    page.get_by_role("button", name="Create component").click()
    page.get_by_text("API URL").first.wait_for()
    page.get_by_text("3306 / mysql").wait_for()
    _shot(page, "test_wizard-6-api-registration")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    component = Component.objects.get(name="mysql")
    assert page.url == f"{live_server.url}/components/{component.service_id}/"
    assert component.registration == Registration.API
    assert f"/console/third_party/{component.service_id}" in page.locator("#api-url").inner_text()
    _shot(page, "test_wizard-7-api-overview")


def test_an_unreachable_address_asks_for_confirmation(logged_in_page, live_server, application):
    page = logged_in_page
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
    _open_wizard(page, live_server, application)
    page.get_by_label("Component name").fill("legacy")
    page.get_by_label("Component address").fill(f"127.0.0.1:{port}")
    page.get_by_role("button", name="Create component").click()
    page.get_by_text("Unreachable", exact=True).wait_for()
    page.get_by_text("did not pass the test").wait_for()
    _shot(page, "test_wizard-8-unreachable")
    page.get_by_role("link", name="Back").click()
    assert page.get_by_label("Component address").input_value() == f"127.0.0.1:{port}"
    page.get_by_role("button", name="Create component").click()
    page.get_by_role("button", name="Create anyway").click()
    page.wait_for_url(OVERVIEW)
    component = Component.objects.get(name="legacy")
    assert page.url == f"{live_server.url}/components/{component.service_id}/"


def test_abandon_creates_nothing(logged_in_page, live_server, application):
    page = logged_in_page
    _open_wizard(page, live_server, application)
    page.get_by_label("Component name").fill("scratch")
    page.get_by_label("API registration").check()
    page.get_by_role("button", name="Create component").click()
    page.get_by_role("button", name="Abandon").click()
    page.wait_for_url(f"{live_server.url}/apps/{application.slug}/")
    assert not Component.objects.filter(name="scratch").exists()


def test_the_wizard_works_without_javascript(browser, live_server, alice, application, tcp_listener):
    host, port = tcp_listener
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.get_by_label("User name").fill("alice")
        page.get_by_label("Password").fill("alice-password-1")
        page.get_by_role("button", name="Log in").click()
        page.goto(f"{live_server.url}/apps/{application.slug}/")
        page.get_by_text("Add component", exact=True).click()
        page.get_by_role("link", name="Third-party component").click()
        page.get_by_label("Component name").fill("cache")
        page.get_by_label("Component address").fill(f"{host}:{port}")
        page.get_by_role("button", name="Add address").click()
        rows = page.get_by_label("Component address")
        assert rows.count() == 2 and rows.nth(0).input_value() == f"{host}:{port}"
        rows.nth(1).fill(f"localhost:{port}")
        _shot(page, "test_wizard-9-no-js-step-1")
        page.get_by_role("button", name="Create component").click()
        page.get_by_role("heading", name="Step 2 — Test and create").wait_for()
        assert page.get_by_text("Reachable", exact=True).count() >= 1
        _shot(page, "test_wizard-10-no-js-test")
        if page.get_by_role("button", name="Create anyway").count():
            page.get_by_role("button", name="Create anyway").click()
        else:
            page.get_by_role("button", name="Create", exact=True).click()
        page.wait_for_url(OVERVIEW)
        component = Component.objects.get(name="cache")
        assert page.url == f"{live_server.url}/components/{component.service_id}/"
        assert component.instances.count() == 2
    finally:
        context.close()


def test_the_service_name_is_prefilled_from_the_name_until_it_is_changed(
    logged_in_page, live_server, application
):
    page = logged_in_page
    _open_wizard(page, live_server, application)
    service_name = page.get_by_label("Service name")
    page.get_by_label("Component name").fill("Orders DB")
    service_name.focus()
    page.wait_for_function("() => document.getElementById('id_service_name').value === 'orders-db'")
    service_name.fill("orders-primary")
    page.get_by_label("Component name").fill("Orders database")
    with page.expect_response(lambda response: "/validate/" in response.url):
        page.get_by_label("Component address").focus()  # leaving the name checks it
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    assert service_name.input_value() == "orders-primary"
