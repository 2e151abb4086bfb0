"""A reload never posts again: every plain post that shows something once (a new token, a signing
secret key, a revealed value) redirects, and the page it leads to shows it once (the alerts'
signing secret: tests/alerts/test_channel_pages.py)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from components import services
from core.models import ApiToken, AuditEvent

pytestmark = pytest.mark.django_db


def _reload(client, response):
    """What F5 does on the page a post led to: the browser asks for the URL it shows again."""
    assert response.status_code == 302, "a post that succeeded must redirect, or a reload posts again"
    return client.get(response["Location"])


def test_a_reload_after_create_token_creates_no_second_token(alice_client, alice):
    posted = alice_client.post("/account/tokens/", {"name": "deploy hook"})
    shown = _reload(alice_client, posted)
    key = re.search(r'<code id="new-token">([^<]+)</code>', shown.content.decode()).group(1)
    again = _reload(alice_client, posted).content.decode()
    assert key not in again and "Your new token" not in again
    assert ApiToken.objects.filter(user=alice).count() == 1


def test_a_reload_after_regenerate_secret_key_keeps_the_new_key(alice_client, api_component):
    posted = alice_client.post(reverse("component-secret-key-regenerate", args=[api_component.service_id]))
    api_component.refresh_from_db()
    key = api_component.secret_key
    assert key in _reload(alice_client, posted).content.decode()
    assert key not in _reload(alice_client, posted).content.decode()
    api_component.refresh_from_db()
    assert api_component.secret_key == key


def test_a_reload_after_reveal_does_not_reveal_again(alice_client, static_component, alice_actor):
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cret-pw", secret=True, actor=alice_actor
    )
    sid = static_component.service_id
    posted = alice_client.post(reverse("component-env-reveal", args=[sid, "MYSQL_PASSWORD"]))
    assert "s3cret-pw" in _reload(alice_client, posted).content.decode()
    assert "s3cret-pw" not in _reload(alice_client, posted).content.decode()
    posted = alice_client.post(reverse("component-environment-reveal", args=[sid]))
    assert "s3cret-pw" in _reload(alice_client, posted).content.decode()
    assert "s3cret-pw" not in _reload(alice_client, posted).content.decode()
    assert AuditEvent.objects.filter(action="env.reveal").count() == 2
