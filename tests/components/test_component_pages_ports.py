"""The Ports page: add a port, switch its internal and external services, delete it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import EnvVar
from core.models import AuditEvent
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


def _url(component, name: str = "component-ports", *args) -> str:
    return reverse(name, args=[component.service_id, *args])


def test_it_adds_a_mysql_port_with_a_derived_alias(alice_client, static_component):
    response = hx(
        alice_client,
        "post",
        _url(static_component),
        "ports",
        {"number": "3306", "protocol": "mysql", "alias": ""},
    )
    assert response.status_code == 200 and text(response).lstrip().startswith(
        '<section class="card" id="ports"'
    )
    port = static_component.ports.get()
    assert (port.number, port.protocol, port.alias) == (3306, "mysql", "MYSQL")
    assert "<code>MYSQL</code>" in text(response)


def test_the_protocol_choice_includes_mysql(alice_client, static_component):
    assert '<option value="mysql">MySQL</option>' in text(alice_client.get(_url(static_component)))


def test_a_second_port_on_a_third_party_component_is_refused_in_kato_words(
    alice_client, static_component, alice_actor
):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    response = hx(
        alice_client, "post", _url(static_component), "ports", {"number": "3307", "protocol": "tcp"}
    )
    assert response.status_code == 200
    assert "third-party components can only have one port" in text(response)
    assert static_component.ports.count() == 1


def test_an_internal_component_may_have_several_ports(alice_client, internal_component):
    alice_client.post(_url(internal_component), {"number": "80", "protocol": "http", "alias": "WEB"})
    alice_client.post(_url(internal_component), {"number": "443", "protocol": "http", "alias": "WEBS"})
    assert list(internal_component.ports.values_list("number", flat=True)) == [80, 443]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"number": "", "protocol": "tcp"}, "This field is required."),
        ({"number": "70000", "protocol": "tcp"}, "Ensure this value is less than or equal to 65535."),
        ({"number": "0", "protocol": "tcp"}, "Ensure this value is greater than or equal to 1."),
        ({"number": "80", "protocol": "smtp"}, "Select a valid choice."),
        ({"number": "80", "protocol": "tcp", "alias": "lower"}, "A port alias is upper-case letters"),
    ],
)
def test_it_shows_each_validation_message_under_the_field(alice_client, static_component, data, message):
    response = hx(alice_client, "post", _url(static_component), "ports", data)
    assert response.status_code == 200 and message in text(response)
    assert not static_component.ports.exists()


def test_turning_on_the_internal_service_generates_the_connection_information(
    alice_client, static_component, alice_actor
):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    url = _url(static_component, "component-port-services", 3306)
    response = hx(alice_client, "post", url, "ports", {"inner_service": "on"})
    assert 'name="inner_service" id="inner-3306" checked' in text(response)
    assert set(EnvVar.objects.filter(component=static_component).values_list("name", flat=True)) == {
        "MYSQL_HOST",
        "MYSQL_PORT",
    }


def test_the_external_service_needs_the_internal_one(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    response = hx(
        alice_client,
        "post",
        _url(static_component, "component-port-services", 3306),
        "ports",
        {"outer_service": "on"},
    )
    assert "The external service needs the internal service" in text(response)
    assert static_component.ports.get().outer_service is False
    # The refused switch is not left on: the page shows what is saved.
    assert 'name="outer_service" id="outer-3306">' in text(response)
    assert 'name="outer_service" id="outer-3306" checked>' not in text(response)


def test_without_javascript_switching_redirects_with_a_message(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    response = alice_client.post(
        _url(static_component, "component-port-services", 3306), {"inner_service": "on"}, follow=True
    )
    assert "Saved the services of port 3306." in text(response)


def test_it_deletes_a_port(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    response = hx(alice_client, "post", _url(static_component, "component-port-delete", 3306), "ports")
    assert "No port yet." in text(response) and not static_component.ports.exists()


def test_a_third_party_component_with_its_port_is_not_offered_a_second_one(
    alice_client, static_component, alice_actor
):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    page = text(alice_client.get(_url(static_component)))
    assert "Add port" not in page
    # The seed's words, then what to do.
    assert "Third-party components can only have one port. To use another, delete this one first." in page


def test_a_ports_protocol_can_be_changed_after_creation(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="tcp", actor=alice_actor)
    page = text(alice_client.get(_url(static_component)))
    assert '<option value="tcp" selected>TCP</option>' in page and 'for="protocol-3306"' in page
    url = reverse("component-port-protocol", args=[static_component.service_id, 3306])
    response = alice_client.post(url, {"protocol": "mysql"})
    assert response.status_code == 302
    assert static_component.ports.get().protocol == "mysql"
    event = AuditEvent.objects.filter(action="port.update").latest("pk")
    assert event.detail == {"port": 3306, "protocol": {"from": "tcp", "to": "mysql"}}
    fragment = text(hx(alice_client, "post", url, "ports", {"protocol": "postgresql"}))
    assert '<option value="postgresql" selected>PostgreSQL</option>' in fragment


def test_a_viewer_cannot_change_a_protocol(client, victor_the_viewer, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="tcp", actor=alice_actor)
    client.force_login(victor_the_viewer)
    url = reverse("component-port-protocol", args=[static_component.service_id, 3306])
    assert client.post(url, {"protocol": "mysql"}).status_code == 403
    assert static_component.ports.get().protocol == "tcp"
