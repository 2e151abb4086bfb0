"""The profile page behind the user name: a new password, the user's tokens, the other sessions."""

from __future__ import annotations

import pytest
from django.test import Client

from core import services as accounts

pytestmark = pytest.mark.django_db


def _signed_in(alice) -> Client:
    other = Client()
    other.force_login(alice)  # a session of its own, as a second browser has
    return other


def test_the_user_name_in_the_top_bar_leads_to_the_profile(alice_client, alice):
    accounts.api_token_create(user=alice, name="deploy hook")
    page = alice_client.get("/account/").content.decode()
    assert '<a href="/account/" title="Your profile: password, API tokens, sessions">alice</a>' in page
    assert "Change your password" in page and "deploy hook" in page and "Sign out other sessions" in page
    assert 'href="/teams/payments/">Payments</a> (developer)' in page


def test_a_new_password_signs_the_other_sessions_out_and_keeps_this_one(client, alice):
    client.force_login(alice)
    laptop = _signed_in(alice)
    response = client.post(
        "/account/",
        {
            "old_password": "alice-password-1",
            "new_password1": "a-new-secret-9x",
            "new_password2": "a-new-secret-9x",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert "Your password is changed" in client.get("/account/").content.decode()
    assert laptop.get("/apps/").status_code == 302  # to the login page
    alice.refresh_from_db()
    assert alice.check_password("a-new-secret-9x")


def test_a_wrong_old_password_or_a_weak_new_one_is_refused(alice_client, alice):
    wrong = alice_client.post(
        "/account/",
        {"old_password": "nope", "new_password1": "a-new-secret-9x", "new_password2": "a-new-secret-9x"},
    ).content.decode()
    assert "Your old password was entered incorrectly." in wrong
    weak = alice_client.post(
        "/account/", {"old_password": "alice-password-1", "new_password1": "123", "new_password2": "123"}
    ).content.decode()
    assert "This password is too short." in weak or "entirely numeric" in weak
    alice.refresh_from_db()
    assert alice.check_password("alice-password-1")


def test_sign_out_other_sessions(client, alice, bob_from_another_team):
    client.force_login(alice)
    laptop, phone = _signed_in(alice), _signed_in(alice)
    bob = Client()
    bob.force_login(bob_from_another_team)
    response = client.post("/account/sessions/end/", follow=True)
    assert "Signed out of 2 other sessions." in response.content.decode()
    assert laptop.get("/apps/").status_code == 302 and phone.get("/apps/").status_code == 302
    assert client.get("/apps/").status_code == 200 and bob.get("/apps/").status_code == 200
    assert (
        "You had no other session open."
        in client.post("/account/sessions/end/", follow=True).content.decode()
    )
