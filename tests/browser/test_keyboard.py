"""The keyboard alone: a skip link first, and the wizard walked with Tab and Enter."""

from __future__ import annotations

import re

import pytest

from components.models import Component

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERVIEW = re.compile(r"/components/[0-9a-f]{32}/$")
FOCUSED = "() => { const e = document.activeElement; return (e.id || '') + '|' + e.textContent.trim().slice(0, 80); }"


def _focused(page) -> str:
    return page.evaluate(FOCUSED)


def _tab_to(page, wanted: str, limit: int = 40) -> None:
    """Press Tab until the focused element's id or text is ``wanted`` (an id prefix when it ends with
    "-"); fail if it never comes."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        element_id, _, text = _focused(page).partition("|")
        if wanted in (element_id, text) or (wanted.endswith("-") and element_id.startswith(wanted)):
            return
        seen.append(element_id or text)
    raise AssertionError(f"{wanted!r} is not reachable with Tab; focus went through {seen}")


def test_the_first_tab_stop_skips_to_the_content(logged_in_page, live_server, application):
    page = logged_in_page
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    assert _focused(page) == "|Skip to content"
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert _focused(page).startswith("content|")
    # The next stop is inside the content, not the top bar or the side bar.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('content').contains(document.activeElement)")


def test_the_wizard_with_the_keyboard_only(logged_in_page, live_server, application, tcp_listener):
    page = logged_in_page
    host, port = tcp_listener
    page.goto(f"{live_server.url}/apps/{application.slug}/")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Skip to content
    _tab_to(page, "Add component")
    page.keyboard.press("Enter")
    _tab_to(page, "Third-party component")
    page.keyboard.press("Enter")

    # Step 1: the focus is on the step's heading, and the name is the next stop.
    page.get_by_role("heading", name="Step 1 — Fill in third-party service information").wait_for()
    assert _focused(page) == "wizard-title|Step 1 — Fill in third-party service information"
    page.keyboard.press("Tab")
    assert _focused(page).startswith("id_name|")
    page.keyboard.type("orders-db")
    _tab_to(page, "address-")
    page.keyboard.type(f"{host}:{port}")
    _tab_to(page, "Create component")
    page.keyboard.press("Enter")

    # Step 2: the focus moved to the new step's heading.
    page.get_by_role("heading", name="Step 2 — Test and create").wait_for()
    page.wait_for_function("() => document.activeElement.id === 'wizard-title'")
    assert _focused(page) == "wizard-title|Step 2 — Test and create"
    page.get_by_text("Reachable", exact=True).wait_for()
    _tab_to(page, "Create")
    page.keyboard.press("Enter")
    page.wait_for_url(OVERVIEW)
    assert Component.objects.get(name="orders-db").instances.get().address == f"{host}:{port}"
