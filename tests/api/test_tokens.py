"""Personal API tokens: the create_api_token command, the /account/tokens/ page, and their use."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from core.models import ApiToken

pytestmark = pytest.mark.django_db


def _create(*args: str) -> str:
    out = StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue()


def _client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_command_prints_the_key_as_its_last_line_and_stores_only_its_digest(alice, application):
    key = _create("alice", "--name", "deploy hook").splitlines()[-1]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)  # 32 random bytes: 256 bits
    token = ApiToken.objects.get(user=alice)
    assert token.name == "deploy hook"
    assert token.digest == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    assert key not in str(ApiToken.objects.values_list().get())
    response = _client(key).get("/api/v1/applications/")
    assert response.status_code == 200 and response.json()["results"][0]["slug"] == "shop"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_every_key_is_new(alice):
    assert _create("alice").splitlines()[-1] != _create("alice").splitlines()[-1]


def test_the_command_refuses_an_unknown_user(db):
    with pytest.raises(CommandError, match="no user 'nobody'"):
        _create("nobody")


def test_a_token_of_an_inactive_user_is_refused(alice, application):
    key = _create("alice").splitlines()[-1]
    alice.is_active = False
    alice.save()
    assert _client(key).get("/api/v1/applications/").status_code == 401


@pytest.mark.parametrize("header", ["Token", "Token a b", "Token \u00e9t\u00e9", "Token " + "x" * 43])
def test_a_malformed_or_unknown_token_is_401(alice, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get("/api/v1/applications/").status_code == 401


def test_the_page_needs_a_signed_in_user(client):
    response = client.get("/account/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_page_creates_a_token_and_shows_its_key_once(alice_client, alice, application):
    posted = alice_client.post("/account/tokens/", {"name": "laptop"})
    assert posted.status_code == 302 and posted["Location"] == "/account/tokens/"
    response = alice_client.get("/account/tokens/")
    assert "no-store" in response["Cache-Control"]
    key = re.search(r'<code id="new-token">([^<]+)</code>', response.content.decode()).group(1)
    assert "it is not shown again" in response.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop" and token.digest == hashlib.sha256(key.encode()).hexdigest()
    page = alice_client.get("/account/tokens/").content.decode()
    assert key not in page
    assert "laptop" in page and f"{token.prefix}…" in page
    assert _client(key).get("/api/v1/applications/").status_code == 200


def test_the_page_revokes_a_token(alice_client, alice, application):
    key = _create("alice").splitlines()[-1]
    token = ApiToken.objects.get(user=alice)
    response = alice_client.post("/account/tokens/", {"revoke": token.pk}, follow=True)
    assert "is revoked" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert _client(key).get("/api/v1/applications/").status_code == 401


def test_nobody_revokes_someone_elses_token(client, alice, bob_from_another_team):
    _create("alice")
    token = ApiToken.objects.get(user=alice)
    client.force_login(bob_from_another_team)
    assert client.post("/account/tokens/", {"revoke": token.pk}).status_code == 404
    assert client.post("/account/tokens/", {"revoke": "x"}).status_code == 302
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_page_lists_only_the_users_own_tokens(client, alice, bob_from_another_team):
    _create("alice", "--name", "alice-laptop")
    client.force_login(bob_from_another_team)
    assert "alice-laptop" not in client.get("/account/tokens/").content.decode()


def test_the_top_bar_links_to_the_page(alice_client, application):
    page = alice_client.get("/apps/").content.decode()
    assert '<a href="/account/tokens/">API tokens</a>' in page
