"""OpenID Connect configured but the provider away: local password logins go on as before (no
request to the provider), and "Sign in with …" brings the person back to the login page with a
message instead of an error page."""

from __future__ import annotations

import socket

import pytest
from django.test import Client

from kato_console.signin_settings import OIDC_BACKEND, oidc_settings

pytestmark = pytest.mark.django_db


@pytest.fixture
def provider_away(settings) -> str:
    with socket.socket() as probe:  # a loopback port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    issuer = f"http://127.0.0.1:{port}"
    env = {
        "KATO_OIDC_ISSUER": issuer,
        "KATO_OIDC_CLIENT_ID": "kato-console",
        "KATO_OIDC_PROVIDER_NAME": "Away SSO",
    }
    for name, value in oidc_settings(env).items():
        setattr(settings, name, value)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, OIDC_BACKEND]
    return issuer


def test_a_local_login_does_not_wait_for_the_provider(provider_away, alice) -> None:
    client = Client()
    page = client.get("/accounts/login/").content.decode()
    assert "Sign in with Away SSO" in page
    response = client.post("/accounts/login/", {"username": "alice", "password": "alice-password-1"})
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(alice.pk)


def test_sign_in_with_the_provider_away_says_so_on_the_login_page(provider_away) -> None:
    client = Client()
    response = client.get("/oidc/authenticate/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?signin=failed"
    page = client.get(response["Location"]).content.decode()
    assert "The sign-in with Away SSO did not succeed." in page
