"""The component's header follows a change made in place, without a reload."""

from __future__ import annotations

import pytest

from instances.addresses import parse_address
from instances.services import instance_add
from tests.browser.test_component_pages import _shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_header_shows_a_new_port_and_a_new_status_at_once(
    static_component, alice_actor, logged_in_page, live_server
):
    test = "component_head"
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/components/{static_component.service_id}/ports/")
    head = page.locator("#component-head")
    assert "no port" in head.inner_text()
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))

    page.get_by_role("spinbutton", name="Port").fill("3306")
    page.get_by_label("Protocol").select_option("mysql")
    page.get_by_role("button", name="Add port").click()
    head.get_by_text("3306/mysql").wait_for()
    _shot(page, test, "1-port-added")

    page.get_by_role("link", name="Overview", exact=True).click()
    page.get_by_role("button", name="Take offline").click()
    head.get_by_text("Offline", exact=True).wait_for()
    _shot(page, test, "2-taken-offline")
    # One navigation: the click on Overview; the port and the switch were swapped in place.
    assert len(navigations) == 1


def test_deleting_an_instance_asks_and_removes_the_row_in_place(
    static_component, alice_actor, logged_in_page, live_server
):
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    page = logged_in_page
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/components/{static_component.service_id}/")
    questions = []
    page.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.locator("#instance-table").get_by_role("button", name="Delete").click()
    page.locator("#instance-table").get_by_text("No instances yet.").wait_for()
    page.locator("#component-head").get_by_text("No instances", exact=True).wait_for()
    assert questions == ["Delete the instance 10.0.0.7:3306? It is no longer routed or probed."]
    assert static_component.instances.count() == 0
    _shot(page, "component_head", "3-instance-deleted")
