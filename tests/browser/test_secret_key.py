"""A developer reveals and regenerates a component's secret key on its overview."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_developer_reveals_then_regenerates_the_secret_key(api_component, logged_in_page, live_server):
    page = logged_in_page
    page.goto(f"{live_server.url}/components/{api_component.service_id}/")
    section = page.get_by_role("region", name="API registration")
    assert api_component.secret_key not in section.inner_text()
    section.get_by_role("button", name="Reveal").click()
    page.wait_for_function(
        "key => document.getElementById('secret-key').textContent === key", arg=api_component.secret_key
    )
    assert api_component.secret_key in page.locator("#curl-line").inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("region", name="API registration").get_by_role("button", name="Regenerate").click()
    page.wait_for_function(
        "old => document.getElementById('secret-key').textContent.length > 20 && "
        "document.getElementById('secret-key').textContent !== old",
        arg=api_component.secret_key,
    )
    api_component.refresh_from_db()
    assert page.locator("#secret-key").inner_text() == api_component.secret_key
