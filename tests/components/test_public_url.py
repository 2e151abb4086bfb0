"""The API URL and the curl line show the address the console is really served at."""

from __future__ import annotations

import html
import os
import re
import urllib.request

import pytest
from django.conf import settings as django_settings
from django.test import Client

from kato_console.devrun import _public_url_for_children, served_at
from tests.support import run_pasted

CURL_LINE = re.compile(r'<pre class="curl" id="curl-line">(.*?)</pre>', re.S)


def _session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return (
        f"{django_settings.SESSION_COOKIE_NAME}={client.cookies[django_settings.SESSION_COOKIE_NAME].value}"
    )


def _overview(live_server, cookie: str, service_id: str) -> str:
    url = f"{live_server.url}/components/{service_id}/"
    request = urllib.request.Request(url, headers={"Cookie": cookie})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


@pytest.mark.django_db(transaction=True)
def test_the_curl_line_on_the_overview_works_when_copied_from_a_console_on_any_port(
    api_component, alice, live_server, settings
):
    settings.KATO_PUBLIC_URL = ""
    page = _overview(live_server, _session_cookie(alice), api_component.service_id)
    assert f"{live_server.url}/console/third_party/{api_component.service_id}" in page
    curl = html.unescape(CURL_LINE.search(page).group(1)).replace("<secret key>", api_component.secret_key)

    done = run_pasted(curl, INSTANCE_IP="10.0.0.7")

    assert '"code":200' in done.stdout.replace(" ", ""), done.stdout + done.stderr
    assert [str(i.host) for i in api_component.instances.all()] == ["10.0.0.7"]


def test_the_overview_takes_the_requests_scheme_and_host_when_no_public_url_is_set(
    alice_client, api_component, settings
):
    settings.KATO_PUBLIC_URL = ""
    page = alice_client.get(f"/components/{api_component.service_id}/", HTTP_HOST="127.0.0.1:8123").content
    assert f"http://127.0.0.1:8123/console/third_party/{api_component.service_id}".encode() in page
    assert b"127.0.0.1:8000" not in page


def test_a_configured_public_url_wins_over_the_requests_host(alice_client, api_component, settings):
    settings.KATO_PUBLIC_URL = "https://console.example.com"
    page = alice_client.get(f"/components/{api_component.service_id}/", HTTP_HOST="127.0.0.1:8123").content
    assert f"https://console.example.com/console/third_party/{api_component.service_id}".encode() in page


def test_the_console_apis_api_url_follows_the_request_too(alice_client, api_component, settings):
    settings.KATO_PUBLIC_URL = ""
    expected = f"http://127.0.0.1:8123/console/third_party/{api_component.service_id}"
    detail = alice_client.get(f"/api/v1/components/{api_component.service_id}", HTTP_HOST="127.0.0.1:8123")
    listing = alice_client.get("/api/v1/components/", HTTP_HOST="127.0.0.1:8123")
    regenerated = alice_client.post(
        f"/api/v1/components/{api_component.service_id}/secret-key", HTTP_HOST="127.0.0.1:8123"
    )
    assert detail.json()["api_url"] == expected
    assert [c["api_url"] for c in listing.json()["results"]] == [expected]
    assert regenerated.json()["api_url"] == expected


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", "8123", "http://127.0.0.1:8123"),
        ("0.0.0.0", "8000", "http://0.0.0.0:8000"),
        ("::1", "8123", "http://[::1]:8123"),
        ("localhost", "9000", "http://localhost:9000"),
    ],
)
def test_make_run_tells_its_children_where_it_serves(monkeypatch, host, port, url):
    monkeypatch.delenv("KATO_PUBLIC_URL", raising=False)
    _public_url_for_children(host, port)
    assert served_at(host, port) == url
    assert os.environ["KATO_PUBLIC_URL"] == url


def test_make_run_keeps_an_operators_public_url(monkeypatch):
    monkeypatch.setenv("KATO_PUBLIC_URL", "https://console.example.com")
    _public_url_for_children("127.0.0.1", "8123")
    assert os.environ["KATO_PUBLIC_URL"] == "https://console.example.com"
