"""The Events page (newest first, paginated, filtered by action) and Settings (rename, delete with confirmation)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import Component
from core.models import AuditEvent
from instances import services as instance_services
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


def _url(component, name: str) -> str:
    return reverse(name, args=[component.service_id])


def test_events_are_newest_first_and_filtered_by_action(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    page = text(alice_client.get(_url(static_component, "component-events")))
    assert page.index("env.create") < page.index("port.create") < page.index("<code>component.create")
    assert '<option value="port.create">port.create</option>' in page
    filtered = hx(
        alice_client, "get", _url(static_component, "component-events") + "?action=port.create", "events"
    )
    assert text(filtered).lstrip().startswith('<div id="events">')
    assert "port.create" in text(filtered) and "env.create" not in text(filtered)


def test_events_are_paginated_fifty_to_a_page(alice_client, static_component):
    AuditEvent.objects.bulk_create(
        AuditEvent(
            team_id=static_component.team_id,
            component=static_component,
            actor="system",
            action="instance.add",
        )
        for _ in range(120)
    )
    page = text(alice_client.get(_url(static_component, "component-events")))
    assert page.count("<code>instance.add</code>") == 50 and "Page 1 of 3" in page


def test_it_renames_the_component(alice_client, static_component):
    response = alice_client.post(
        _url(static_component, "component-settings"),
        {"name": "MySQL primary", "service_name": "mysql-primary"},
        follow=True,
    )
    assert "Saved the component&#x27;s names." in text(response)
    static_component.refresh_from_db()
    assert (static_component.name, static_component.service_name) == ("MySQL primary", "mysql-primary")


def test_a_bad_service_name_is_shown_under_the_field(alice_client, static_component):
    response = alice_client.post(
        _url(static_component, "component-settings"), {"name": "x", "service_name": "Bad_Name"}
    )
    assert "A service name is a DNS label" in text(response)
    static_component.refresh_from_db()
    assert static_component.service_name == "mysql"


def test_deleting_asks_first_and_names_what_depends_on_it(
    alice_client, static_component, internal_component, alice_actor
):
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    confirm = text(alice_client.get(_url(static_component, "component-delete")))
    assert "Delete mysql?" in confirm and ">phpmyadmin</a>" in confirm
    refused = alice_client.post(_url(static_component, "component-delete"), {"confirm": "yes"})
    assert "mysql cannot be deleted while phpmyadmin depends on it" in text(refused)
    assert Component.objects.filter(pk=static_component.pk).exists()


def test_deleting_a_component_nothing_depends_on_returns_to_its_application(alice_client, static_component):
    assert Component.objects.filter(pk=static_component.pk).exists()
    unconfirmed = alice_client.post(_url(static_component, "component-delete"), {})
    assert unconfirmed.status_code == 200 and Component.objects.filter(pk=static_component.pk).exists()
    response = alice_client.post(_url(static_component, "component-delete"), {"confirm": "yes"})
    assert response.status_code == 302 and response["Location"] == reverse("application", args=["shop"])
    assert not Component.objects.filter(pk=static_component.pk).exists()


def test_several_dependents_are_named_in_one_sentence(
    alice_client, application, static_component, internal_component, alice_actor
):
    adminer = instance_services.component_create(
        application=application, name="adminer", actor=alice_actor, kind="internal", image="adminer:4"
    )
    for dependent in (internal_component, adminer):
        services.dependency_add(component=dependent, target=static_component, actor=alice_actor)
    refused = alice_client.post(_url(static_component, "component-delete"), {"confirm": "yes"})
    assert "mysql cannot be deleted while adminer and phpmyadmin depend on it" in text(refused)


def test_delete_is_not_offered_while_dependents_exist(
    alice_client, static_component, internal_component, alice_actor
):
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    confirm = text(alice_client.get(_url(static_component, "component-delete")))
    assert '<button type="submit" class="btn btn-danger" disabled>Delete mysql</button>' in confirm
    services.dependency_remove(component=internal_component, target=static_component, actor=alice_actor)
    confirm = text(alice_client.get(_url(static_component, "component-delete")))
    assert '<button type="submit" class="btn btn-danger">Delete mysql</button>' in confirm


def test_an_internal_components_image_can_be_changed_and_is_checked(alice_client, internal_component):
    url = _url(internal_component, "component-settings")
    assert 'name="image" value="phpmyadmin:5"' in text(alice_client.get(url))
    data = {"name": "phpmyadmin", "service_name": "phpmyadmin"}
    refused = alice_client.post(url, {**data, "image": "not a valid image !!"})
    assert "An image is a container image reference" in text(refused)
    assert alice_client.post(url, {**data, "image": "phpmyadmin:5.2"}).status_code == 302
    internal_component.refresh_from_db()
    assert internal_component.image == "phpmyadmin:5.2"
    event = AuditEvent.objects.filter(action="component.update").latest("pk")
    assert event.detail == {"image": {"from": "phpmyadmin:5", "to": "phpmyadmin:5.2"}}


def test_a_third_party_component_has_no_image_to_change(alice_client, static_component):
    assert 'name="image"' not in text(alice_client.get(_url(static_component, "component-settings")))
