"""A person creates an application, adds an internal component and sees the topology."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import services
from components.models import Component

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("var/screenshots")
OVERVIEW = re.compile(r"/components/[0-9a-f]{32}/$")


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_developer_creates_an_application(logged_in_page, live_server, team):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("link", name="New application").click()
    page.get_by_label("Name").fill("Shop")
    _shot(page, "test_applications-1-new-application")
    page.get_by_role("button", name="Create application").click()
    page.wait_for_url(f"{live_server.url}/apps/shop/")
    assert page.get_by_role("heading", name="Shop", exact=True).is_visible()
    assert page.get_by_text("No components yet.").first.is_visible()
    _shot(page, "test_applications-2-application")


def test_an_empty_name_is_refused_in_place(logged_in_page, team):
    page = logged_in_page
    page.get_by_role("link", name="New application").click()
    page.get_by_role("button", name="Create application").click()
    page.get_by_text("Give the application a name.").wait_for()


def test_a_developer_adds_phpmyadmin_and_sees_the_topology(
    logged_in_page, live_server, application, static_component, alice_actor
):
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    page.get_by_text("Add component", exact=True).click()
    page.get_by_role("link", name="Internal component").click()
    page.get_by_label("Component name").fill("phpmyadmin")
    page.get_by_label("Image").fill("phpmyadmin:5")
    _shot(page, "test_applications-3-internal-component")
    page.get_by_role("button", name="Create", exact=True).click()
    page.wait_for_url(OVERVIEW)
    phpmyadmin = Component.objects.get(name="phpmyadmin")
    assert page.url == f"{live_server.url}/components/{phpmyadmin.service_id}/"
    assert phpmyadmin.image == "phpmyadmin:5"

    services.dependency_add(component=phpmyadmin, target=static_component, actor=alice_actor, open_inner=True)
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    topology = page.locator("svg.topology")
    assert topology.get_by_role("link", name="phpmyadmin").is_visible()
    assert topology.get_by_role("link", name="mysql").is_visible()
    assert topology.locator("line").count() == 1
    _shot(page, "test_applications-4-topology")
    topology.get_by_role("link", name="mysql").click()
    page.wait_for_url(f"{live_server.url}/components/{static_component.service_id}/")


def test_the_add_component_menu_closes_once_an_item_is_chosen_and_after_an_error(
    logged_in_page, live_server, application
):
    page = logged_in_page
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    menu = page.locator("details.menu")
    page.get_by_text("Add component", exact=True).click()
    assert menu.get_attribute("open") is not None
    page.get_by_role("link", name="Internal component").click()
    page.get_by_label("Component name").wait_for()
    assert menu.get_attribute("open") is None
    assert not page.get_by_role("link", name="Internal component").is_visible()
    page.get_by_role("button", name="Create", exact=True).click()
    page.get_by_text("Give the component a name.").wait_for()
    assert menu.get_attribute("open") is None
    # Escape closes it too, and gives the focus back to its button.
    page.get_by_text("Add component", exact=True).click()
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert menu.get_attribute("open") is None
    assert page.evaluate("() => document.activeElement.tagName") == "SUMMARY"


def test_cancel_returns_to_the_application_the_wizard_was_opened_from(
    logged_in_page, live_server, application
):
    page = logged_in_page
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    page.get_by_text("Add component", exact=True).click()
    page.get_by_role("link", name="Third-party component").click()
    page.get_by_role("heading", name="Step 1 — Fill in third-party service information").wait_for()
    page.get_by_role("link", name="Cancel").click()
    page.wait_for_url(f"{live_server.url}/apps/{application.slug}/")
