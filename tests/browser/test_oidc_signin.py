"""OpenID Connect sign-in through the real redirects in Chromium, against a real provider on
loopback: "Sign in with <provider>" on the login page, the user made at their first sign-in,
teams from the groups claim, PKCE and state, and sign-out ending the console's session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core.models import AuditEvent, Membership
from kato_console.signin_settings import OIDC_BACKEND, group_teams, oidc_settings, with_form_action
from tests.accounts.oidc_provider import Provider, running_provider

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MEI = {
    "preferred_username": "mei",
    "email": "mei@example.org",
    "given_name": "Mei",
    "family_name": "Chen",
    "groups": ["kato-payments-dev", "kato-search-viewers"],
}


@pytest.fixture
def provider() -> Iterator[Provider]:
    with running_provider({"mei-subject": MEI}) as running:
        yield running


@pytest.fixture
def oidc_on(settings, provider, team, other_team) -> Provider:
    env = {
        "KATO_OIDC_ISSUER": provider.issuer,
        "KATO_OIDC_CLIENT_ID": "kato-console",
        "KATO_OIDC_CLIENT_SECRET": "client-secret-for-tests",
        "KATO_OIDC_PROVIDER_NAME": "Example SSO",
        "KATO_GROUP_TEAMS": json.dumps(
            [
                {"group": "kato-payments-dev", "team": "payments", "role": "developer", "provider": "oidc"},
                {"group": "kato-search-viewers", "team": "search", "role": "viewer"},
            ]
        ),
    }
    for name, value in oidc_settings(env).items():
        setattr(settings, name, value)
    settings.KATO_GROUP_TEAMS = group_teams(env)
    settings.CONTENT_SECURITY_POLICY = with_form_action(
        settings.CONTENT_SECURITY_POLICY, settings.KATO_OIDC_ORIGINS
    )
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    return provider


def sign_in_with_the_provider(page, live_server) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Example SSO").click()
    page.get_by_role("button", name="mei-subject").click()  # the provider's form: a predefined user
    page.wait_for_url(f"{live_server.url}/apps/")


def roles_of(username: str) -> dict[str, tuple[str, str]]:
    return {
        m.team.slug: (m.role, m.source)
        for m in Membership.objects.filter(user__username=username).select_related("team")
    }


def test_a_person_signs_in_with_the_provider_gets_their_teams_and_signs_out(
    page, live_server, oidc_on
) -> None:
    sign_in_with_the_provider(page, live_server)
    assert page.locator('.topbar .user a[href="/account/"]').inner_text() == "mei"
    sidebar = page.locator("#sidebar")
    assert sidebar.get_by_role("heading", name="Payments").is_visible()
    assert sidebar.get_by_role("heading", name="Search").is_visible()

    mei = get_user_model().objects.get(username="mei")
    assert (mei.email, mei.first_name, mei.last_name) == ("mei@example.org", "Mei", "Chen")
    assert not mei.has_usable_password()
    assert roles_of("mei") == {"payments": ("developer", "oidc"), "search": ("viewer", "oidc")}
    signed_in = AuditEvent.objects.filter(action="account.sign_in", user=mei)
    assert {(e.team.slug, e.detail["provider"], e.detail["provider_name"]) for e in signed_in} == {
        ("payments", "oidc", "Example SSO"),
        ("search", "oidc", "Example SSO"),
    }

    # The authorization request carried a state and an S256 challenge, and the token request the
    # verifier that hashes to it (the provider refuses the code otherwise).
    [authorization] = oidc_on.authorization_requests
    assert authorization["code_challenge_method"] == "S256" and len(authorization["state"]) >= 32
    assert authorization["nonce"] and authorization["scope"] == "openid email profile"
    assert len(oidc_on.token_requests) == 1 and oidc_on.token_requests[0]["code_verifier"]

    # Sign-out ends the console's session, then the provider's (its end-session page), then back.
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/")
    page.goto(f"{live_server.url}/apps/")
    page.wait_for_url(f"{live_server.url}/accounts/login/?next=/apps/")

    # Out of a group at the provider: the membership goes at the next sign-in.
    oidc_on.set_user("mei-subject", {**MEI, "groups": ["kato-payments-dev"]})
    sign_in_with_the_provider(page, live_server)
    assert roles_of("mei") == {"payments": ("developer", "oidc")}
    assert AuditEvent.objects.filter(
        action="membership.delete", team__slug="search", detail__user="mei"
    ).exists()
    assert len(AuditEvent.objects.filter(action="account.sign_in", user=mei)) == 3


def test_a_callback_whose_state_the_console_did_not_send_is_refused(oidc_on, live_server) -> None:
    client = Client()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302
    sent = parse_qs(urlparse(response["Location"]).query)
    assert sent["state"] and sent["code_challenge_method"] == ["S256"]
    answer = client.get("/oidc/callback/", {"code": "any", "state": "not-the-one-sent"})
    assert answer.status_code == 400
    assert "_auth_user_id" not in client.session
    assert not get_user_model().objects.filter(username="mei").exists()


def test_a_local_account_of_the_same_name_is_not_taken_over(
    page, live_server, oidc_on, django_user_model
) -> None:
    django_user_model.objects.create_user("mei", password="the-local-password-of-mei")
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("link", name="Sign in with Example SSO").click()
    page.get_by_role("button", name="mei-subject").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/?signin=failed")
    assert "did not succeed" in page.get_by_role("alert").inner_text()
    assert roles_of("mei") == {}


def test_without_oidc_settings_the_login_page_offers_no_provider(client, db) -> None:
    assert "Sign in with" not in client.get("/accounts/login/").content.decode()
    assert client.get("/oidc/authenticate/").status_code == 404
