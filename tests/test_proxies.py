"""Behind trusted reverse proxies, the client is the address they forward; otherwise the peer."""

from __future__ import annotations

import ipaddress
import json

import pytest
from django.test import Client

from core.models import AuditEvent
from instances.models import WrongSecret

pytestmark = pytest.mark.django_db

PROXY = "10.8.0.2"  # the reverse proxy's address, as the console sees the connection


def put(component, secret: str, remote_addr: str, forwarded: str | None = None, ip: str = "10.0.0.7"):
    headers = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().put(
        f"/console/third_party/{component.service_id}",
        json.dumps({"secret_key": secret, "ip": ip}),
        content_type="application/json",
        **headers,
    )


def counted_clients(component) -> dict[str, int]:
    return dict(WrongSecret.objects.filter(component=component).values_list("client", "failures"))


@pytest.fixture
def behind_proxy(settings):
    settings.KATO_TRUSTED_PROXIES = [ipaddress.ip_network("10.8.0.0/24")]


def test_without_trusted_proxies_the_peer_is_the_client_whatever_it_forwards(api_component):
    put(api_component, "wrong", PROXY, forwarded="198.51.100.7")

    assert counted_clients(api_component) == {PROXY: 1}


def test_behind_a_trusted_proxy_each_client_is_counted_and_audited_apart(behind_proxy, api_component):
    for _ in range(2):
        put(api_component, "wrong", PROXY, forwarded="198.51.100.7")
    put(api_component, "wrong", PROXY, forwarded="198.51.100.8")
    added = put(api_component, api_component.secret_key, PROXY, forwarded="198.51.100.9")

    assert added.status_code == 200
    assert counted_clients(api_component) == {"198.51.100.7": 2, "198.51.100.8": 1}
    event = AuditEvent.objects.get(component=api_component, action="instance.add")
    assert event.remote_addr == "198.51.100.9"


@pytest.mark.parametrize(
    ("forwarded", "client"),
    [
        # The client wrote the leftmost entry itself; the trusted proxy appended the real peer.
        ("203.0.113.66, 198.51.100.7", "198.51.100.7"),
        # Two trusted proxies in a row: the client is the first hop outside them.
        ("198.51.100.7, 10.8.0.9", "198.51.100.7"),
        # Garbage stops the walk: nothing to its left is believed.
        ("198.51.100.7, not-an-address", PROXY),
        (" 2001:db8::7 ", "2001:db8::7"),
    ],
)
def test_the_client_is_the_rightmost_address_outside_the_trusted_proxies(
    behind_proxy, api_component, forwarded, client
):
    put(api_component, "wrong", PROXY, forwarded=forwarded)

    assert counted_clients(api_component) == {client: 1}


def test_a_peer_outside_the_trusted_proxies_cannot_forward_an_address(behind_proxy, api_component):
    put(api_component, "wrong", "198.51.100.1", forwarded="10.8.0.9")

    assert counted_clients(api_component) == {"198.51.100.1": 1}


@pytest.fixture
def https_only(settings, behind_proxy):
    """Plain HTTP is redirected to HTTPS, and a trusted proxy's X-Forwarded-Proto says which is which."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def login_page(remote_addr: str, proto: str = "https"):
    return Client().get("/accounts/login/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_PROTO=proto)


def test_x_forwarded_proto_from_a_trusted_proxy_makes_the_request_secure(https_only):
    assert login_page(PROXY).status_code == 200
    assert login_page(PROXY, proto="http").status_code == 301


@pytest.mark.parametrize("peer", ["198.51.100.7", "10.8.1.2", "::1", "unix-socket"])
def test_x_forwarded_proto_from_any_other_peer_is_ignored(https_only, peer):
    response = login_page(peer)
    assert response.status_code == 301 and response["Location"].startswith("https://")


def test_without_trusted_proxies_x_forwarded_proto_is_not_honoured(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "KATO_TRUSTED_PROXIES"}}
    env.update(
        DEBUG="0",
        SECRET_KEY="x" * 64,
        KATO_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="kato_console.settings",
    )
    root = Path(__file__).resolve().parent.parent
    run = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    assert (
        subprocess.run(run, cwd=root, env=env, capture_output=True, text=True, timeout=60).stdout.strip()
        == "None"
    )
    env["KATO_TRUSTED_PROXIES"] = "10.8.0.0/24"
    trusted = subprocess.run(
        run, cwd=root, env=env, capture_output=True, text=True, timeout=60
    ).stdout.strip()
    assert trusted == "('HTTP_X_FORWARDED_PROTO', 'https')"
