"""The operators' admin: every changelist, add and change form renders, and no secret shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from components import services
from instances.addresses import parse_address
from instances.models import WrongSecret
from instances.services import instance_add

pytestmark = pytest.mark.django_db

SECRET_VALUE = "hunter2-connection-password"


@pytest.fixture
def populated(api_component, static_component, internal_component, alice_actor, django_user_model):
    services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    services.env_var_set(component=static_component, name="MYSQL_USER", value="app", actor=alice_actor)
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value=SECRET_VALUE, secret=True, actor=alice_actor
    )
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    instance_add(component=api_component, address=parse_address("https://api.example.com"), actor=alice_actor)
    from components.api.authentication import token_digest
    from components.models import ApiToken

    ApiToken.objects.create(
        user=alice_actor.user, name="ci", prefix="abcd1234", digest=token_digest("k" * 40)
    )
    WrongSecret.objects.create(
        component=api_component,
        client="198.51.100.1",
        failures=10,
        window_ends_at=timezone.now() + timedelta(minutes=5),
    )
    return {"secrets": [SECRET_VALUE, api_component.secret_key]}


@pytest.fixture
def admin_client_(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="operator", password="operator-pw-1")
    client.force_login(user)
    return client


def registered_models():
    return [model for model in admin.site._registry]


def assert_no_secret(html: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in html


def test_every_changelist_renders_without_secrets(admin_client_, populated):
    for model in registered_models():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = admin_client_.get(url)
        assert response.status_code == 200, url
        assert_no_secret(response.content.decode(), populated["secrets"])


def test_every_change_and_add_form_renders_without_secrets(admin_client_, populated):
    for model in registered_models():
        info = (model._meta.app_label, model._meta.model_name)
        obj = model._default_manager.first()
        if obj is not None:
            response = admin_client_.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
            assert response.status_code == 200, (model, obj)
            assert_no_secret(response.content.decode(), populated["secrets"])
        response = admin_client_.get(reverse("admin:{}_{}_add".format(*info)))
        assert response.status_code in (200, 403), model


def test_the_changelist_search_and_filters_work(admin_client_, populated):
    response = admin_client_.get(
        reverse("admin:components_component_changelist"), {"q": "legacy", "kind__exact": "third_party"}
    )
    text = response.content.decode()
    assert "legacy-api" in text and "phpmyadmin" not in text


def test_saving_a_secret_variable_with_an_empty_value_keeps_it(admin_client_, populated, static_component):
    var = static_component.env_vars.get(name="MYSQL_PASSWORD")
    url = reverse("admin:components_envvar_change", args=[var.pk])
    response = admin_client_.post(
        url,
        {
            "component": static_component.pk,
            "name": "MYSQL_PASSWORD",
            "value": "",
            "scope": "outer",
            "secret": "on",
            "description": "",
        },
    )
    assert response.status_code == 302
    var.refresh_from_db()
    assert var.value == SECRET_VALUE


def test_the_audit_trail_is_read_only(admin_client_, populated):
    from components.models import AuditEvent

    event = AuditEvent.objects.first()
    response = admin_client_.get(reverse("admin:components_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert admin_client_.get(reverse("admin:components_auditevent_add")).status_code == 403
    delete = admin_client_.post(
        reverse("admin:components_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_the_regenerate_secret_key_action_replaces_the_key(admin_client_, populated, api_component):
    old = api_component.secret_key
    response = admin_client_.post(
        reverse("admin:components_component_changelist"),
        {"action": "regenerate_secret_key", "_selected_action": [api_component.pk]},
        follow=True,
    )
    assert "Regenerated the secret key of 1 component" in response.content.decode()
    api_component.refresh_from_db()
    assert api_component.secret_key != old
    assert old not in response.content.decode() and api_component.secret_key not in response.content.decode()


def test_deleting_a_wrong_secret_count_lifts_the_clients_429(admin_client_, populated, api_component):
    url = f"/console/third_party/{api_component.service_id}"
    right = json.dumps({"secret_key": api_component.secret_key, "ip": "10.0.0.9"})
    throttled = WrongSecret.objects.get(client="198.51.100.1")
    listed = admin_client_.get(reverse("admin:instances_wrongsecret_changelist")).content.decode()
    assert "198.51.100.1" in listed
    assert (
        Client().put(url, right, content_type="application/json", REMOTE_ADDR="198.51.100.1").status_code
        == 429
    )

    admin_client_.post(reverse("admin:instances_wrongsecret_delete", args=[throttled.pk]), {"post": "yes"})

    response = Client().put(url, right, content_type="application/json", REMOTE_ADDR="198.51.100.1")
    assert response.status_code == 200
    assert not WrongSecret.objects.exists()
