"""The pages work in Chromium under the Content-Security-Policy, with nothing from outside."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def watch(page, live_server) -> tuple[list[str], list[str]]:
    """Record CSP violations and refuse (and record) every request that leaves the console."""
    violations: list[str] = []
    outside: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    own = urlsplit(live_server.url).netloc

    def route(route) -> None:
        if urlsplit(route.request.url).netloc == own or route.request.url.startswith("data:"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", route)
    return violations, outside


def test_swagger_ui_shows_the_operations_offline_under_the_policy(logged_in_page, live_server):
    page = logged_in_page
    violations, outside = watch(page, live_server)
    page.goto(f"{live_server.url}/api/docs/")
    page.locator(".opblock-summary-path", has_text="/api/v1/applications/").first.wait_for()
    assert page.locator(".opblock").count() > 10
    assert violations == [] and outside == []


def test_the_copy_button_copies_the_revealed_key_under_the_policy(api_component, logged_in_page, live_server):
    page = logged_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    violations, outside = watch(page, live_server)
    page.goto(f"{live_server.url}/components/{api_component.service_id}/")
    page.get_by_role("region", name="API registration").get_by_role("button", name="Reveal").click()
    page.get_by_role("button", name="Copy the secret key").click()
    copied = ""
    for _ in range(50):
        copied = page.evaluate("() => navigator.clipboard.readText()")
        if copied:
            break
        page.wait_for_timeout(100)
    assert copied == api_component.secret_key
    assert violations == [] and outside == []
