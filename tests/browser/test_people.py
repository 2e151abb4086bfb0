"""In Chromium: API tokens (Copy, reload, Revoke asks first), the curl line's Copy, the team page,
the profile page behind the user name, and events in the reader's time zone."""

from __future__ import annotations

import pytest

from core.models import ApiToken, AuditEvent, Membership, Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def clipboard_page(browser, live_server, alice):
    context = browser.new_context(timezone_id="Asia/Tokyo")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")
    yield page
    context.close()


def _clipboard(page) -> str:
    return page.evaluate("() => navigator.clipboard.readText()")


def test_a_token_is_created_copied_shown_once_and_revoked_after_a_question(
    clipboard_page, live_server, alice
):
    page = clipboard_page
    page.get_by_role("link", name="alice").click()
    page.wait_for_url(f"{live_server.url}/account/")
    page.get_by_role("link", name="Create a token").click()
    assert page.get_by_label("Name").evaluate("input => input.required")  # the browser asks for one first
    page.get_by_label("Name").fill("deploy hook")
    page.get_by_role("button", name="Create token").click()
    key = page.locator("#new-token").inner_text()
    assert len(key) == 43
    page.get_by_role("button", name="Copy the new token").click()
    page.get_by_role("button", name="Copy the new token").filter(has_text="Copied").wait_for()
    assert _clipboard(page) == key
    curl = page.locator("#token-curl").inner_text()
    assert curl == f'curl -H "Authorization: Token {key}" {live_server.url}/api/v1/applications/'

    page.reload()  # no second token, and the key is gone
    assert ApiToken.objects.filter(user=alice).count() == 1
    assert key not in page.content() and page.get_by_role("cell", name="deploy hook", exact=True).is_visible()

    page.get_by_role("link", name="Revoke deploy hook").click()
    assert page.get_by_role("heading", name="Revoke the token deploy hook?").is_visible()
    assert ApiToken.objects.filter(user=alice).exists()
    page.get_by_role("button", name="Revoke token").click()
    page.get_by_text("The token deploy hook is revoked").wait_for()
    assert not ApiToken.objects.filter(user=alice).exists()


def test_the_curl_lines_copy_carries_the_real_key(clipboard_page, live_server, api_component):
    page = clipboard_page
    page.goto(f"{live_server.url}/components/{api_component.service_id}/")
    assert api_component.secret_key not in page.locator("#curl-line").inner_text()
    button = page.get_by_role("button", name="Copy the curl line with the secret key")
    button.click()
    button.filter(has_text="Copied").wait_for()
    copied = _clipboard(page)
    assert f'"secret_key":"{api_component.secret_key}"' in copied and "${INSTANCE_IP:?" in copied
    assert AuditEvent.objects.filter(action="secret_key.reveal", detail__via="page:copy").count() == 1


def test_an_owner_manages_the_team(page, live_server, alice, team, django_user_model):
    Membership.objects.filter(user=alice).update(role=Role.OWNER)
    django_user_model.objects.create_user(username="pablo")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Members").click()
    page.wait_for_url(f"{live_server.url}/teams/{team.slug}/")

    page.get_by_label("User name").fill("pablo")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    page.get_by_text("pablo is now a member of Payments.").wait_for()
    pablo = django_user_model.objects.get(username="pablo")

    page.get_by_label("Role of pablo").select_option("developer")
    page.get_by_role("row", name="pablo").get_by_role("button", name="Change role").click()
    page.get_by_text("pablo is now a developer of Payments.").wait_for()
    assert Membership.objects.get(user=pablo).role == Role.DEVELOPER

    page.get_by_label("Role of alice").select_option("viewer")
    page.get_by_role("row", name="alice").get_by_role("button", name="Change role").click()
    page.get_by_text("alice is the last owner of Payments").wait_for()

    page.get_by_role("link", name="Remove pablo").click()
    page.get_by_role("button", name="Remove member").click()
    page.get_by_text("pablo is no longer a member of Payments.").wait_for()
    assert not Membership.objects.filter(user=pablo).exists()
    assert list(
        AuditEvent.objects.filter(team=team, action__startswith="membership.").values_list(
            "action", flat=True
        )
    )[:3] == [
        "membership.delete",
        "membership.set",
        "membership.set",
    ]


def test_the_events_are_in_the_browsers_time_zone(clipboard_page, live_server, static_component):
    page = clipboard_page
    page.goto(f"{live_server.url}/components/{static_component.service_id}/events/")
    page.reload()  # the first page told the console the zone
    assert page.get_by_text("Times are in Asia/Tokyo").is_visible()
    assert "JST" in page.locator("#events time").first.inner_text()
    assert page.get_by_text("alice created the component mysql in shop").is_visible()
    assert page.get_by_text("(just now)").first.is_visible()


def test_the_new_pages_fit_a_phone_and_the_password_changes(page, live_server, alice, team, api_component):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("User name").fill("alice")
    page.get_by_label("Password").fill("alice-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/apps/")
    for path in (
        "/account/",
        "/account/tokens/",
        f"/teams/{team.slug}/",
        f"/components/{api_component.service_id}/",
        f"/components/{api_component.service_id}/events/",
        "/no/such/page/",
    ):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390, path

    page.goto(f"{live_server.url}/account/")
    page.get_by_label("Old password").fill("alice-password-1")
    page.get_by_label("New password", exact=True).fill("a-new-secret-9x")
    page.get_by_label("New password confirmation").fill("a-new-secret-9x")
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password is changed").wait_for()
    alice.refresh_from_db()
    assert alice.check_password("a-new-secret-9x")
    page.get_by_role("button", name="Sign out other sessions").click()
    page.get_by_text("You had no other session open.").wait_for()
