"""axe-core (the copy vendored in the axe-playwright-python package, installed with the tests) finds
no critical or serious accessibility problem on any of the console's pages, in Chromium.

Django's admin and Swagger UI are other projects' pages and are not walked; the login page is."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TABS = (
    "",
    "ports/",
    "connection-info/",
    "dependencies/",
    "environment/",
    "health-check/",
    "events/",
    "settings/",
    "delete/",
)
SERIOUS = {"critical", "serious"}


def _problems(page, axe: Axe) -> list[str]:
    results = axe.run(page, options={"resultTypes": ["violations"]})
    return [
        f"{page.url}: {violation['id']} ({violation['impact']}): {violation['help']} at "
        + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
        for violation in results.response["violations"]
        if violation["impact"] in SERIOUS
    ]


def test_no_page_has_a_critical_or_serious_problem(
    page,
    live_server,
    alice,
    alice_actor,
    team,
    application,
    static_component,
    internal_component,
    api_component,
    owned_console,
):
    channel = owned_console
    axe = Axe()
    problems: list[str] = []

    page.goto(f"{live_server.url}/accounts/login/")
    problems += _problems(page, axe)
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    problems += _problems(page, axe)  # the login page with its error
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")

    paths = [
        "/apps/",
        f"/apps/{application.slug}/",
        f"/apps/{application.slug}/components/new/internal/",
        f"/apps/{application.slug}/components/new/third-party/",
        "/account/",
        "/account/tokens/",
        f"/teams/{team.slug}/",
        f"/teams/{team.slug}/members/{alice.pk}/remove/",
        f"/teams/{team.slug}/channels/",
        f"/teams/{team.slug}/channels/new/",
        f"/teams/{team.slug}/channels/{channel.pk}/",
        f"/teams/{team.slug}/channels/{channel.pk}/edit/",
        "/no/such/page/",
    ]
    for component in (static_component, internal_component, api_component):
        paths += [f"/components/{component.service_id}/{tab}" for tab in TABS]
    for path in paths:
        page.goto(f"{live_server.url}{path}")
        problems += _problems(page, axe)

    # States that only a click shows: a new token with its curl example, a form with errors.
    page.goto(f"{live_server.url}/account/tokens/")
    page.get_by_label("Name").fill("deploy hook")
    page.get_by_role("button", name="Create token").click()
    page.locator("#new-token").wait_for()
    problems += _problems(page, axe)
    page.goto(f"{live_server.url}/account/")
    page.get_by_label("Old password").fill("wrong")
    page.get_by_label("New password", exact=True).fill("x")
    page.get_by_label("New password confirmation").fill("y")
    page.get_by_role("button", name="Change password").click()
    problems += _problems(page, axe)
    page.goto(f"{live_server.url}/components/{api_component.service_id}/")
    page.get_by_role("region", name="API registration").get_by_role("button", name="Reveal").click()
    page.locator("#secret-key").filter(has_text=api_component.secret_key).wait_for()
    problems += _problems(page, axe)

    assert problems == [], "\n".join(problems)
