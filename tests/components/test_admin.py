"""The operators' admin: every changelist, add and change form renders, and no secret shows."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib import admin
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from components import services
from instances import services as instance_services
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
    from core.models import ApiToken
    from kato_console.api.authentication import token_digest

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
    from core.models import AuditEvent

    event = AuditEvent.objects.first()
    response = admin_client_.get(reverse("admin:core_auditevent_change", args=[event.pk]))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()
    assert admin_client_.get(reverse("admin:core_auditevent_add")).status_code == 403
    delete = admin_client_.post(reverse("admin:core_auditevent_delete", args=[event.pk]), {"post": "yes"})
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


# The admin is no oracle for secrets: a filter on a secret field is refused, directly or across a relation.

SECRET_LOOKUPS = [
    "/admin/components/component/?secret_key__regex=^a",
    "/admin/components/component/?env_vars__value__regex=^h",
    "/admin/components/envvar/?value__regex=^h",
    "/admin/components/envvar/?component__secret_key__startswith=a",
    "/admin/core/apitoken/?digest__regex=^a",
    "/admin/components/port/?component__env_vars__value__startswith=h",
    "/admin/components/dependency/?target__secret_key__regex=^a",
    "/admin/instances/instance/?component__secret_key__regex=^a",
    "/admin/instances/healthcheck/?component__env_vars__value__regex=^h",
    "/admin/auth/user/?password__regex=^md5",
    "/admin/auth/user/?api_tokens__digest__regex=^a",
]


@pytest.mark.parametrize("url", SECRET_LOOKUPS)
def test_it_refuses_a_changelist_filter_on_a_secret(admin_client_, populated, url):
    response = admin_client_.get(url)
    assert response.status_code == 400
    assert_no_secret(response.content.decode(), populated["secrets"])


def test_it_still_filters_on_fields_that_are_not_secret(admin_client_, populated):
    response = admin_client_.get("/admin/components/envvar/?name__startswith=MYSQL_U")
    text = response.content.decode()
    assert response.status_code == 200
    assert "MYSQL_USER" in text and "MYSQL_PASSWORD" not in text


# View-only staff see what they may see, with secrets masked, and no error.


@pytest.fixture
def viewer_client(client, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(username="auditor", password="auditor-pw-1", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(
            codename__startswith="view_", content_type__app_label__in=["components", "instances"]
        )
    )
    client.force_login(user)
    return client


def test_view_only_staff_see_a_components_page_with_its_secrets_masked(
    viewer_client, populated, static_component
):
    response = viewer_client.get(reverse("admin:components_component_change", args=[static_component.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "MYSQL_PASSWORD" in text and "••••••••" in text
    assert_no_secret(text, populated["secrets"])


def test_view_only_staff_see_a_secret_variable_masked(viewer_client, populated, static_component):
    var = static_component.env_vars.get(name="MYSQL_PASSWORD")
    response = viewer_client.get(reverse("admin:components_envvar_change", args=[var.pk]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "MYSQL_PASSWORD" in text and "••••••••" in text
    assert_no_secret(text, populated["secrets"])


# Writes go through the services: the same rules, derived fields, health check and audit as the API.


def inline_management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, int]:
    return {
        f"{prefix}-TOTAL_FORMS": total,
        f"{prefix}-INITIAL_FORMS": initial,
        f"{prefix}-MAX_NUM_FORMS": 1000,
    }


def test_adding_a_component_creates_it_with_its_health_check_and_audit_event(
    admin_client_, populated, application
):
    from components.models import Component
    from core.models import AuditEvent

    data = {
        "application": application.pk,
        "name": "Redis Cache",
        "service_name": "",
        "kind": "third_party",
        "registration": "static",
        "image": "",
        # The add form once had a dependency row, which made a 500; it offers none now.
        **inline_management("dependencies", total=1),
        "dependencies-0-target": populated and Component.objects.get(name="mysql").pk,
    }
    response = admin_client_.post(reverse("admin:components_component_add"), data)
    assert response.status_code == 302
    component = Component.objects.get(name="Redis Cache")
    assert component.service_name == "redis-cache"
    assert (component.health_check.enabled, component.health_check.kind) == (True, "tcp")
    event = AuditEvent.objects.get(action="component.create", component=component)
    assert event.user.username == "operator" and event.remote_addr == "127.0.0.1"
    assert not component.dependencies.exists()


def test_the_admin_calls_the_service_once(admin_client_, application):
    from components.models import Component

    data = {
        "application": application.pk,
        "name": "Queue",
        "service_name": "",
        "kind": "third_party",
        "registration": "static",
        "image": "",
        **inline_management("dependencies"),
    }
    with CaptureQueriesContext(connection) as queries:
        response = admin_client_.post(reverse("admin:components_component_add"), data)
    assert response.status_code == 302
    inserts = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('INSERT INTO "components_component"')
    ]
    assert len(inserts) == 1 and Component.objects.filter(name="Queue").count() == 1


def test_a_page_shown_again_keeps_nothing_of_the_service_call(admin_client_, application, alice_actor):
    component = instance_services.component_create(application=application, name="Queue", actor=alice_actor)
    # The form is valid (its service call renames the component) but the inlines' management
    # data is missing, so the admin shows the page again: the rename must not stay.
    response = admin_client_.post(
        reverse("admin:components_component_change", args=[component.pk]),
        {"name": "Renamed", "service_name": component.service_name, "image": ""},
    )
    assert response.status_code == 200
    component.refresh_from_db()
    assert component.name == "Queue"


def test_a_port_alias_that_clashes_with_a_variable_is_a_form_error(
    admin_client_, populated, internal_component
):
    services.env_var_set(
        component=internal_component, name="WEB_HOST", value="x", actor=populated_actor(populated)
    )
    response = admin_client_.post(
        reverse("admin:components_port_add"),
        {
            "component": internal_component.pk,
            "number": 80,
            "protocol": "http",
            "alias": "WEB",
            "inner_service": "on",
        },
    )
    assert response.status_code == 200
    assert "already has a variable WEB_HOST" in response.content.decode()
    assert not internal_component.ports.exists()


def populated_actor(populated):
    from core.audit import Actor
    from core.models import ApiToken

    return Actor.for_user(ApiToken.objects.get(name="ci").user, "127.0.0.1")


def test_it_refuses_to_delete_a_component_others_depend_on_and_says_why(
    admin_client_, populated, static_component
):
    response = admin_client_.post(
        reverse("admin:components_component_delete", args=[static_component.pk]), {"post": "yes"}, follow=True
    )
    text = response.content.decode()
    # The name as it is written ("mysql"), not capitalised by the admin's messages.
    assert "mysql cannot be deleted while phpmyadmin depends on it" in text
    assert type(static_component).objects.filter(pk=static_component.pk).exists()


def test_the_bulk_delete_removes_what_it_may_and_reports_the_refusal(
    admin_client_, populated, static_component, api_component
):
    from components.models import Component
    from core.models import AuditEvent

    response = admin_client_.post(
        reverse("admin:components_component_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [static_component.pk, api_component.pk],
            "post": "yes",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "Deleted 1 component." in text
    assert "mysql cannot be deleted while phpmyadmin depends on it" in text  # the name as written
    assert set(Component.objects.values_list("name", flat=True)) == {"mysql", "phpmyadmin"}
    assert AuditEvent.objects.filter(action="component.delete", detail__name="legacy-api").exists()


def test_the_component_page_shows_instance_counts_not_one_form_per_instance(
    admin_client_, populated, static_component, alice_actor, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:components_component_change", args=[static_component.pk])
    with CaptureQueriesContext(connection) as few:
        admin_client_.get(url)
    for n in range(30):
        instance_add(component=static_component, address=parse_address(f"10.1.0.{n}:3306"), actor=alice_actor)
    for n in range(5):
        services.env_var_set(component=static_component, name=f"EXTRA_{n}", value="v", actor=alice_actor)
    with CaptureQueriesContext(connection) as many:
        response = admin_client_.get(url)
    text = response.content.decode()
    assert "instances-0-host" not in text
    assert "31 instance(s)" in text
    assert f"?component__id__exact={static_component.pk}" in text
    assert len(many) == len(few)
    listed = admin_client_.get(
        reverse("admin:instances_instance_changelist"), {"component__id__exact": static_component.pk}
    )
    assert listed.status_code == 200 and "10.1.0.29:3306" in listed.content.decode()


def test_the_dependency_rows_cost_no_query_each(
    admin_client_, populated, application, internal_component, alice_actor
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("admin:components_component_change", args=[internal_component.pk])
    with CaptureQueriesContext(connection) as one:
        admin_client_.get(url)
    for n in range(5):
        target = instance_services.component_create(application=application, name=f"db{n}", actor=alice_actor)
        services.dependency_add(component=internal_component, target=target, actor=alice_actor)
    with CaptureQueriesContext(connection) as six:
        response = admin_client_.get(url)
    assert "db4" in response.content.decode()
    assert len(six) == len(one)
