"""The product's own 404 and 500 pages, with DEBUG off and in the embedded run (DEBUG on), where
Django would list the URL patterns or a traceback."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse

from kato_console.unavailable import server_error

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_address_is_the_consoles_not_found_page(alice_client, settings, debug):
    settings.DEBUG = debug
    response = alice_client.get("/apps/shop/no-such-page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "This page does not exist" in page and "Go to your applications" in page
    assert "URLconf" not in page and "Using the URLconf" not in page and "apps/&lt;slug:slug&gt;" not in page
    assert 'href="/static/css/console.css"' in page or "console.css" in page


@pytest.mark.parametrize("debug", [False, True])
def test_a_finished_wizard_says_why_it_is_not_found(alice_client, settings, debug):
    settings.DEBUG = debug
    response = alice_client.get(reverse("wizard-test", args=[uuid.uuid4()]))
    page = response.content.decode()
    assert response.status_code == 404
    assert "This wizard was finished or abandoned; start it again." in page
    assert "Traceback" not in page and "URLconf" not in page


def test_an_api_not_found_stays_json_in_the_embedded_run(alice_client, settings):
    settings.DEBUG = True
    response = alice_client.get("/api/v1/components/0123456789abcdef0123456789abcdef/")
    assert response.status_code in (401, 403, 404)
    assert response["Content-Type"].startswith("application/json")


def test_the_500_page_is_the_consoles_and_needs_no_database(settings):
    request = RequestFactory().get("/apps/")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        response = server_error(request)
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page and "console.css" in page and "boom" not in page


def test_an_error_in_the_embedded_run_is_not_a_traceback(alice, settings, monkeypatch):
    settings.DEBUG = True
    from kato_console.pages import applications

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(applications.selectors, "applications_for_user", broken)
    client = Client(raise_request_exception=False)
    client.force_login(alice)
    response = client.get("/apps/")
    page = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in page
    assert "secret detail of the failure" not in page and "Traceback" not in page
