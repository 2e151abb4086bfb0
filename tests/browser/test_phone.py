"""A phone 390 px wide: every page fits without sideways scrolling, the navigation behind a menu button."""

from __future__ import annotations

import pytest

from components import services
from instances.addresses import parse_address
from instances.services import instance_add

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
TABS = (
    "",
    "ports/",
    "connection-info/",
    "dependencies/",
    "environment/",
    "health-check/",
    "events/",
    "settings/",
)


def _overflow(page) -> int:
    """How far the page is wider than the screen (0 when it fits)."""
    return max(0, page.evaluate("() => document.documentElement.scrollWidth") - PHONE["width"])


@pytest.fixture
def phone(page):
    page.set_viewport_size(PHONE)
    return page


def _log_in(page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")


def test_every_page_fits_a_phone(
    phone,
    live_server,
    alice,
    alice_actor,
    application,
    static_component,
    internal_component,
    api_component,
    tcp_listener,
):
    page = phone
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.dependency_add(
        component=internal_component, target=static_component, actor=alice_actor, open_inner=True
    )
    instance_add(
        component=static_component,
        address=parse_address("db-primary.example.internal:3306"),
        actor=alice_actor,
    )
    too_wide: dict[str, int] = {}

    def visit(path: str) -> None:
        page.goto(f"{live_server.url}{path}")
        if overflow := _overflow(page):
            too_wide[path] = overflow

    visit("/accounts/login/")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    _log_in(page, live_server)
    for path in ("/apps/", f"/apps/{application.slug}/", "/account/tokens/"):
        visit(path)
    for component in (static_component, internal_component, api_component):
        for tab in TABS:
            visit(f"/components/{component.service_id}/{tab}")
    visit("/apps/no-such-application/nothing-here/")  # the console's own not-found page
    team = application.team.slug
    visit(f"/teams/{team}/channels/")
    visit(f"/teams/{team}/channels/new/")

    # The wizard's two steps, reached as a person would.
    visit(f"/apps/{application.slug}/components/new/third-party/")
    host, port = tcp_listener
    page.get_by_label("Component name").fill("orders-db")
    page.get_by_label("Component address").fill(f"{host}:{port}")
    page.get_by_role("button", name="Create component").click()
    page.get_by_role("heading", name="Step 2 — Test and create").wait_for()
    page.get_by_text("Reachable", exact=True).wait_for()
    if overflow := _overflow(page):
        too_wide["wizard step 2"] = overflow

    assert too_wide == {}


def test_the_menu_button_opens_the_navigation_on_a_phone(phone, live_server, alice, application):
    page = phone
    _log_in(page, live_server)
    sidebar = page.get_by_role("complementary", name="Teams and applications")
    assert not sidebar.get_by_role("link", name="Shop").is_visible()
    page.get_by_text("Menu", exact=True).click()
    assert sidebar.get_by_role("link", name="Shop").is_visible()
    assert page.get_by_role("link", name="API tokens").is_visible()
    sidebar.get_by_role("link", name="Shop").click()
    page.get_by_role("heading", name="Shop").wait_for()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]


def test_the_navigation_stays_open_on_a_wide_screen(page, live_server, alice, application):
    page.set_viewport_size({"width": 1280, "height": 900})
    _log_in(page, live_server)
    sidebar = page.get_by_role("complementary", name="Teams and applications")
    assert sidebar.get_by_role("link", name="Shop").is_visible()
    assert not page.get_by_text("Menu", exact=True).is_visible()
