"""The console's own 404 and 500 pages, with DEBUG off and in the embedded run (DEBUG on), where
Django would show its technical pages (the URL patterns, the settings, a traceback)."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=[True, False], ids=["debug", "production"])
def debug(request, settings) -> bool:
    settings.DEBUG = request.param
    settings.ROOT_URLCONF = "tests.people.failing_urls"
    return request.param


def test_a_missing_page_is_the_consoles_own(debug, alice_client, static_component):
    for path in (
        "/no/such/page/",
        "/apps/components/new/third-party/00000000-0000-0000-0000-000000000000/nope/",
    ):
        response = alice_client.get(path)
        page = response.content.decode()
        assert response.status_code == 404
        assert "This page does not exist" in page and "your applications" in page
        assert "URLconf" not in page and "urlpatterns" not in page.lower()
        assert '<a href="/teams/payments/">Members</a>' in page  # the signed-in layout
    missing = alice_client.get("/components/" + "0" * 32 + "/").content.decode()  # a view's Http404
    assert "This page does not exist" in missing and "Http404" not in missing


def test_a_failing_page_is_the_consoles_own(debug, alice):
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/fails/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "RuntimeError" not in page and "a bug in a page" not in page and "SECRET_KEY" not in page


def test_the_api_keeps_its_json(debug, alice_client):
    response = alice_client.get("/api/v1/components/" + "0" * 32 + "/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_a_developer_may_ask_for_djangos_pages(settings, alice_client):
    settings.DEBUG, settings.KATO_TECHNICAL_ERROR_PAGES = True, True
    assert "URLconf" in alice_client.get("/no/such/page/").content.decode()
