"""Login throttling (django-axes) on the console's and the admin's login pages."""

from __future__ import annotations

import ipaddress

import pytest
from django.test import Client
from rest_framework.test import APIClient

from core import services as accounts

PASSWORD = "correct horse battery staple"
LOGIN_PAGES = ["/accounts/login/", "/admin/login/"]


@pytest.fixture
def admin_alice(alice):
    alice.set_password(PASSWORD)
    alice.is_staff = True
    alice.save()
    return alice


def attempt(client: Client, page: str, password: str, address: str = "192.0.2.10"):
    return client.post(page, {"username": "alice", "password": password}, REMOTE_ADDR=address, follow=False)


@pytest.mark.django_db
@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_it_refuses_the_right_password_after_too_many_wrong_ones(page, admin_alice, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, page, "wrong").status_code == 200  # the form again, with its error
    assert attempt(client, page, "wrong").status_code == 429  # the last one allowed locks
    response = attempt(client, page, PASSWORD)
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_the_lockout_page_says_when_to_try_again_in_words(admin_alice, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "/accounts/login/", "wrong")
    page = attempt(client, "/accounts/login/", PASSWORD).content.decode().replace("\xa0", " ")
    assert "Try again in 15 minutes, or ask an administrator to unlock you." in page
    assert "PT15M" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_a_few_wrong_passwords_do_not_stop_the_right_one(page, admin_alice, settings) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, page, "wrong")
    assert attempt(client, page, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(admin_alice.pk)


@pytest.mark.django_db
def test_the_lockout_is_for_the_guessing_address_only(admin_alice, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(Client(), "/accounts/login/", "wrong", address="192.0.2.66")
    assert attempt(Client(), "/accounts/login/", PASSWORD, address="192.0.2.66").status_code == 429
    assert attempt(Client(), "/accounts/login/", PASSWORD, address="198.51.100.7").status_code == 302


@pytest.mark.django_db
def test_behind_a_trusted_proxy_the_forwarded_client_is_locked_out_not_the_proxy(
    admin_alice, settings
) -> None:
    # The middleware reads the setting when it is built: a client built afterwards sees it.
    settings.KATO_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.0/8")]
    guesser, colleague = Client(), Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        guesser.post(
            "/accounts/login/",
            {"username": "alice", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    locked = guesser.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert locked.status_code == 429
    other = colleague.post(
        "/accounts/login/",
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="198.51.100.20",
    )
    assert other.status_code == 302


@pytest.mark.django_db
def test_the_api_token_still_works_for_a_locked_out_user(admin_alice, settings) -> None:
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        attempt(Client(), "/accounts/login/", "wrong", address="127.0.0.1")
    _, key = accounts.api_token_create(user=admin_alice, name="deploy")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/applications/", REMOTE_ADDR="127.0.0.1").status_code == 200
