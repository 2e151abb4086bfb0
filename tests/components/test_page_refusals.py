"""A refusal that a page view does not expect is a message on the page, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_revealing_the_key_of_a_static_component_is_a_message(client, alice, static_component) -> None:
    client.force_login(alice)
    overview = f"/components/{static_component.service_id}/"
    response = client.post(f"{overview}secret-key/reveal/", HTTP_REFERER=f"http://testserver{overview}")

    assert response.status_code == 302
    assert response["Location"] == f"http://testserver{overview}"
    page = client.get(overview).content.decode()
    assert "Only components with API registration have a secret key." in page


def test_an_htmx_request_is_sent_to_the_page_with_the_message(client, alice, static_component) -> None:
    client.force_login(alice)
    overview = f"/components/{static_component.service_id}/"
    response = client.post(
        f"{overview}secret-key/regenerate/",
        HTTP_HX_REQUEST="true",
        HTTP_REFERER=f"http://testserver{overview}",
    )

    assert response.status_code == 200  # django-htmx's HttpResponseClientRedirect
    assert response["HX-Redirect"] == f"http://testserver{overview}"
    assert "Only components with API registration have a secret key." in client.get(overview).content.decode()


def test_a_referer_on_another_host_is_not_followed(client, alice, static_component) -> None:
    client.force_login(alice)
    response = client.post(
        f"/components/{static_component.service_id}/secret-key/reveal/", HTTP_REFERER="https://evil.example/"
    )

    assert response.status_code == 302
    assert response["Location"] == "/"
