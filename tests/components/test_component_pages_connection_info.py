"""The Connection information page: add, edit, delete, reveal a secret (audited), generated variables read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import EnvVar
from core.models import AuditEvent
from instances.addresses import parse_address
from instances.services import health_check_update, instance_add
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


def _url(component, name: str = "component-connection-info", *args) -> str:
    return reverse(name, args=[component.service_id, *args])


def test_it_adds_a_secret_variable_and_masks_its_value(alice_client, static_component):
    data = {
        "name": "MYSQL_PASSWORD",
        "value": "s3cret-pw",
        "secret": "on",
        "description": "The shop's password",
    }
    response = hx(alice_client, "post", _url(static_component), "connection-info", data)
    assert response.status_code == 200 and text(response).lstrip().startswith(
        '<section class="card" id="connection-info"'
    )
    assert "MYSQL_PASSWORD" in text(response) and "s3cret-pw" not in text(response)
    var = EnvVar.objects.get(component=static_component, name="MYSQL_PASSWORD")
    assert (var.value, var.secret, var.scope, var.description) == (
        "s3cret-pw",
        True,
        "outer",
        "The shop's password",
    )


def test_revealing_a_secret_returns_its_row_and_is_audited(alice_client, static_component, alice_actor):
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cret-pw", secret=True, actor=alice_actor
    )
    response = hx(
        alice_client,
        "post",
        _url(static_component, "component-env-reveal", "MYSQL_PASSWORD"),
        "var-MYSQL_PASSWORD",
    )
    assert text(response).lstrip().startswith('<tr id="var-MYSQL_PASSWORD">') and "s3cret-pw" in text(
        response
    )
    event = AuditEvent.objects.get(action="env.reveal")
    assert event.detail == {"variables": ["MYSQL_PASSWORD"], "via": "page:connection-info"}
    assert "s3cret-pw" not in str(event.detail)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "value": "x"}, "This field is required."),
        ({"name": "9LIVES", "value": "x"}, "A variable name is letters, digits and underscores"),
        ({"name": "PATH", "value": "x"}, "reserved"),
    ],
)
def test_it_shows_each_validation_message(alice_client, static_component, data, message):
    response = hx(alice_client, "post", _url(static_component), "connection-info", data)
    assert response.status_code == 200 and message in text(response)
    assert not static_component.env_vars.exists()


def test_it_refuses_a_name_the_component_already_has(alice_client, static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    response = alice_client.post(_url(static_component), {"name": "MYSQL_USER", "value": "other"})
    assert "mysql already has a variable MYSQL_USER" in text(response)
    assert static_component.env_vars.get().value == "shop"


def test_editing_a_secret_keeps_its_value_when_left_empty(alice_client, static_component, alice_actor):
    services.env_var_set(
        component=static_component, name="MYSQL_PASSWORD", value="s3cret-pw", secret=True, actor=alice_actor
    )
    url = _url(static_component, "component-env-edit", "MYSQL_PASSWORD")
    assert "s3cret-pw" not in text(alice_client.get(url))
    response = alice_client.post(
        url, {"value": "", "secret": "on", "description": "now described"}, follow=True
    )
    assert "Saved the variable MYSQL_PASSWORD." in text(response)
    var = static_component.env_vars.get()
    assert (var.value, var.description) == ("s3cret-pw", "now described")


def test_editing_changes_a_plain_value(alice_client, static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    alice_client.post(_url(static_component, "component-env-edit", "MYSQL_USER"), {"value": "shop2"})
    assert static_component.env_vars.get().value == "shop2"


def test_it_deletes_a_variable(alice_client, static_component, alice_actor):
    services.env_var_set(component=static_component, name="MYSQL_USER", value="shop", actor=alice_actor)
    response = hx(
        alice_client, "post", _url(static_component, "component-env-delete", "MYSQL_USER"), "connection-info"
    )
    assert "No connection information yet." in text(response) and not static_component.env_vars.exists()


def test_generated_variables_show_their_value_read_only_with_where_they_come_from(
    alice_client, static_component, alice_actor
):
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    health_check_update(component=static_component, enabled=False, actor=alice_actor)
    services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    page = text(alice_client.get(_url(static_component)))
    assert "MYSQL_HOST" in page and "<code>10.0.0.7</code>" in page and "<code>3306</code>" in page
    assert "Generated from port MYSQL’s internal service" in page
    assert "Edit MYSQL_HOST" not in page and "Delete MYSQL_HOST" not in page
    assert alice_client.get(_url(static_component, "component-env-edit", "MYSQL_HOST")).status_code == 404


def test_adding_a_generated_variable_by_hand_says_it_is_generated(
    alice_client, static_component, alice_actor
):
    services.port_create(
        component=static_component, number=3306, protocol="mysql", inner_service=True, actor=alice_actor
    )
    response = alice_client.post(_url(static_component), {"name": "MYSQL_HOST", "value": "10.0.0.9"})
    page = text(response)
    assert (
        "MYSQL_HOST is generated from the port MYSQL&#x27;s internal service and cannot be set by hand"
        in page
    )
    assert "change it instead" not in page
    assert static_component.env_vars.get(name="MYSQL_HOST").value == ""
