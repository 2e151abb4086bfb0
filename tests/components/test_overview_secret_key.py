"""The overview of an API-registered component: the API URL, and the secret key masked until revealed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_the_overview_shows_the_api_url_and_masks_the_secret_key(alice_client, api_component):
    text = alice_client.get(reverse("component", args=[api_component.service_id])).content.decode()
    assert f"http://testserver/console/third_party/{api_component.service_id}" in text
    assert api_component.secret_key not in text
    assert "Reveal" in text and "Regenerate" in text
    assert "curl -X PUT --url" in text


def test_revealing_the_secret_key_shows_it_and_is_audited(alice_client, api_component):
    response = alice_client.post(
        reverse("component-secret-key-reveal", args=[api_component.service_id]), follow=True
    )
    assert response.status_code == 200 and response.redirect_chain  # post/redirect/get
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert api_component.secret_key in text
    assert f'"secret_key":"{api_component.secret_key}"' in text.replace("&quot;", '"')
    event = AuditEvent.objects.get(component=api_component, action="secret_key.reveal")
    assert event.user.username == "alice" and api_component.secret_key not in str(event.detail)


def test_an_htmx_reveal_answers_with_the_fragment_only(alice_client, api_component):
    response = alice_client.post(
        reverse("component-secret-key-reveal", args=[api_component.service_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="api-registration",
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<section class="card" id="api-registration"')
    assert api_component.secret_key in text


def test_regenerating_replaces_the_key(alice_client, api_component):
    old = api_component.secret_key
    response = alice_client.post(
        reverse("component-secret-key-regenerate", args=[api_component.service_id]), follow=True
    )
    api_component.refresh_from_db()
    assert api_component.secret_key != old
    assert api_component.secret_key in response.content.decode()
    assert "the old one no longer works" in response.content.decode()


def test_a_viewer_sees_neither_the_key_nor_the_buttons(client, victor_the_viewer, api_component):
    client.force_login(victor_the_viewer)
    text = client.get(reverse("component", args=[api_component.service_id])).content.decode()
    assert api_component.secret_key not in text and "Reveal</button>" not in text
    response = client.post(reverse("component-secret-key-reveal", args=[api_component.service_id]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="secret_key.reveal").exists()


def test_another_team_gets_404_and_a_get_is_refused(
    client, bob_from_another_team, alice_client, api_component
):
    assert (
        alice_client.get(reverse("component-secret-key-reveal", args=[api_component.service_id])).status_code
        == 405
    )
    client.force_login(bob_from_another_team)
    assert (
        client.post(reverse("component-secret-key-regenerate", args=[api_component.service_id])).status_code
        == 404
    )


def test_the_overview_warns_in_one_line_when_a_mysql_check_only_reads_the_greeting(
    alice_client, static_component, alice_actor
):
    from instances.addresses import parse_address
    from instances.services import health_check_update, instance_add

    url = reverse("component", args=[static_component.service_id])
    health_check_update(component=static_component, kind="mysql", actor=alice_actor)
    # No instance, no host the server could block: no warning.
    assert "max_connect_errors" not in alice_client.get(url).content.decode()
    instance_add(component=static_component, address=parse_address("127.0.0.1:3306"), actor=alice_actor)
    text = alice_client.get(url).content.decode()
    assert "max_connect_errors" in text and "MySQL every 10 s" in text
    # One line; the explanation is on the health check page, behind a link.
    assert "FLUSH HOSTS" not in text
    assert (
        f'href="/components/{static_component.service_id}/health-check/#greeting-only">Why, and what to do</a>'
        in text
    )
    health_check_update(component=static_component, use_credentials=True, actor=alice_actor)
    text = alice_client.get(url).content.decode()
    assert "max_connect_errors" not in text
