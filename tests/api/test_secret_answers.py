"""Answers that carry a secret are never stored by a cache, and reading the API key is audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from core.audit import REDACTED, redact
from core.models import AuditEvent
from tests.api.conftest import url

pytestmark = pytest.mark.django_db


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


def test_reading_the_secret_key_through_the_api_is_not_stored_and_is_audited(api, api_component):
    response = api.get(url(api_component))
    assert response.json()["secret_key"] == api_component.secret_key
    assert no_store(response)
    event = AuditEvent.objects.get(component=api_component, action="secret_key.reveal")
    assert event.detail == {"via": "api:components.retrieve"}
    assert event.user.username == "alice" and event.actor == "api-token"


def test_a_component_answer_without_the_key_is_not_audited(viewer_api, api, api_component, static_component):
    assert viewer_api.get(url(api_component)).json()["secret_key"] is None
    assert api.get(url(static_component)).json()["secret_key"] is None
    assert not AuditEvent.objects.filter(action="secret_key.reveal").exists()


def test_updating_a_component_answers_with_the_key_unstored_and_audited(api, api_component):
    response = api.patch(url(api_component), {"name": "Orders DB"}, format="json")
    assert response.json()["secret_key"] == api_component.secret_key and no_store(response)
    assert AuditEvent.objects.filter(action="secret_key.reveal", detail__via="api:components.update").exists()


def test_creating_and_regenerating_answer_with_the_key_unstored(api, application):
    created = api.post(
        "/api/v1/components/", {"application": "shop", "name": "Orders", "registration": "api"}, format="json"
    )
    assert created.status_code == 201 and created.json()["secret_key"] and no_store(created)
    regenerated = api.post(f"/api/v1/components/{created.json()['service_id']}/secret-key")
    assert regenerated.status_code == 200 and no_store(regenerated)


@pytest.mark.parametrize(
    "query", ["/env/?reveal=true", "/env?reveal=true", "/env?format=dotenv", "/env?format=shell"]
)
def test_revealed_environment_answers_are_not_stored(api, phpmyadmin, mysql, query):
    component = mysql if query.startswith("/env/") else phpmyadmin
    response = api.get(url(component, query))
    assert response.status_code == 200 and "pa$$ " in response.content.decode()
    assert no_store(response)


def test_the_reveal_fragment_of_the_overview_is_not_stored(alice_client, api_component):
    for name in ("component-secret-key-reveal", "component-secret-key-regenerate"):
        response = alice_client.post(
            reverse(name, args=[api_component.service_id]),
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="api-registration",
        )
        assert response.status_code == 200 and no_store(response)
    event = AuditEvent.objects.get(component=api_component, action="secret_key.reveal")
    assert event.detail == {"via": "page"}


def test_the_audit_keeps_the_secret_flag_of_a_variable(mysql, alice_actor):
    services.env_var_set(component=mysql, name="TOKEN", value="t0ken-value", secret=True, actor=alice_actor)
    services.env_var_set(component=mysql, name="MODE", value="fast", secret=False, actor=alice_actor)
    secret = AuditEvent.objects.filter(detail__name="TOKEN").latest("id").detail
    plain = AuditEvent.objects.filter(detail__name="MODE").latest("id").detail
    assert secret["secret"] is True and secret["value"] == REDACTED
    assert plain["secret"] is False and plain["value"] == "fast"


def test_redaction_hides_texts_under_secret_looking_keys_and_keeps_flags_and_numbers():
    detail = {
        "secret": True,
        "use_credentials": False,
        "password": "hunter22",
        "secret_key": "k" * 40,
        "token_count": 3,
        "api_key": None,
        "password_var": {"from": "DB_PASSWORD", "to": "PG_PASSWORD"},
        "nested": {"password": "x", "secret": False, "list": [{"token": "t"}]},
        "MYSQL_PASSWORD": ["a", "b"],
        "address": "10.0.0.7",
    }
    assert redact(detail) == {
        "secret": True,
        "use_credentials": False,
        "password": REDACTED,
        "secret_key": REDACTED,
        "token_count": 3,
        "api_key": None,
        "password_var": {"from": REDACTED, "to": REDACTED},
        "nested": {"password": REDACTED, "secret": False, "list": [{"token": REDACTED}]},
        "MYSQL_PASSWORD": [REDACTED, REDACTED],
        "address": "10.0.0.7",
    }
    assert redact({"MODE": "x", "value": "s3cr3t"}, secret_names={"value"}) == {
        "MODE": "x",
        "value": REDACTED,
    }
