"""Personal API tokens: the create_api_token command, the /account/tokens/ page, and their use."""

from __future__ import annotations

import hashlib
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from core import services as accounts
from core.errors import ComponentError
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
    response = alice_client.post("/account/tokens/", {"name": "laptop"})
    assert response.status_code == 302 and response["Location"] == "/account/tokens/"  # post/redirect/get
    shown = alice_client.get("/account/tokens/")
    assert "no-store" in shown["Cache-Control"]
    page = shown.content.decode()
    key = re.search(r'<code id="new-token">([^<]+)</code>', page).group(1)
    assert "it is not shown again" in page
    assert f'curl -H "Authorization: Token {key}" http://testserver/api/v1/applications/' in page
    token = ApiToken.objects.get(user=alice)
    assert token.name == "laptop" and token.digest == hashlib.sha256(key.encode()).hexdigest()
    again = alice_client.get("/account/tokens/").content.decode()  # the reload
    assert key not in again
    assert "laptop" in again and f"{token.prefix}…" in again
    assert ApiToken.objects.count() == 1
    assert _client(key).get("/api/v1/applications/").status_code == 200


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "Give the token a name"),
        ("   ", "Give the token a name"),
        ("laptop", "You already have a token called &#x27;laptop&#x27;"),
        ("a\nb", "no line breaks"),
    ],
)
def test_a_token_needs_a_name_of_its_own(alice_client, alice, name, says):
    accounts.api_token_create(user=alice, name="laptop")
    response = alice_client.post("/account/tokens/", {"name": name})
    assert response.status_code == 200 and says in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_two_users_may_give_their_tokens_the_same_name(alice, bob_from_another_team):
    accounts.api_token_create(user=alice, name="laptop")
    accounts.api_token_create(user=bob_from_another_team, name="laptop")
    with pytest.raises(ComponentError, match="already have a token called 'laptop'"):
        accounts.api_token_create(user=alice, name=" laptop ")


def test_the_database_refuses_a_second_name_too(alice):
    ApiToken.objects.create(user=alice, name="laptop", prefix="a", digest="a" * 64)
    with pytest.raises(IntegrityError), transaction.atomic():
        ApiToken.objects.create(user=alice, name="laptop", prefix="b", digest="b" * 64)
    ApiToken.objects.create(
        user=alice, name="", prefix="c", digest="c" * 64
    )  # from before names were required
    ApiToken.objects.create(user=alice, name="", prefix="d", digest="d" * 64)


def test_revoking_asks_first_then_revokes(alice_client, alice, application):
    key = _create("alice", "--name", "ci").splitlines()[-1]
    token = ApiToken.objects.get(user=alice)
    assert (
        f'href="/account/tokens/{token.pk}/revoke/"' in alice_client.get("/account/tokens/").content.decode()
    )
    question = alice_client.get(f"/account/tokens/{token.pk}/revoke/").content.decode()
    assert "Revoke the token ci?" in question and ApiToken.objects.filter(pk=token.pk).exists()
    response = alice_client.post(f"/account/tokens/{token.pk}/revoke/", follow=True)
    assert "The token ci is revoked" in response.content.decode()
    assert not ApiToken.objects.exists()
    assert _client(key).get("/api/v1/applications/").status_code == 401


def test_nobody_revokes_someone_elses_token(client, alice, bob_from_another_team):
    _create("alice")
    token = ApiToken.objects.get(user=alice)
    client.force_login(bob_from_another_team)
    assert client.get(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert client.post(f"/account/tokens/{token.pk}/revoke/").status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_the_command_refuses_a_name_the_user_already_has(alice):
    _create("alice", "--name", "ci")
    with pytest.raises(CommandError, match="already have a token called 'ci'"):
        _create("alice", "--name", "ci")


def test_the_page_lists_only_the_users_own_tokens(client, alice, bob_from_another_team):
    _create("alice", "--name", "alice-laptop")
    client.force_login(bob_from_another_team)
    assert "alice-laptop" not in client.get("/account/tokens/").content.decode()


def test_the_top_bar_links_to_the_page(alice_client, application):
    page = alice_client.get("/apps/").content.decode()
    assert '<a href="/account/tokens/">API tokens</a>' in page
    assert '<a href="/account/" title="Your profile: password, API tokens, sessions">alice</a>' in page
