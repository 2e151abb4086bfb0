"""A change made through an HTMX swap refreshes the component's header (status, ports) out of band."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from components import services
from instances.addresses import parse_address
from instances.services import instance_add
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


def _oob_head(response) -> str:
    found = re.search(
        r'<header class="component-head" id="component-head" hx-swap-oob="true">.*?</header>',
        text(response),
        re.S,
    )
    assert found, text(response)
    return found.group(0)


def _oob_status(response) -> str:
    found = re.search(
        r'<span id="component-status" hx-swap-oob="true" class="status [^"]*">[^<]*</span>', text(response)
    )
    assert found, text(response)
    return found.group(0)


def test_adding_a_port_sends_the_header_with_the_new_port(alice_client, static_component):
    response = hx(
        alice_client,
        "post",
        reverse("component-ports", args=[static_component.service_id]),
        "ports",
        {"number": "3306", "protocol": "mysql", "alias": ""},
    )
    head = _oob_head(response)
    assert "3306/mysql" in head and "no port" not in head


def test_deleting_the_port_sends_the_header_without_it(alice_client, static_component, alice_actor):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    response = hx(
        alice_client,
        "post",
        reverse("component-port-delete", args=[static_component.service_id, 3306]),
        "ports",
    )
    assert "no port" in _oob_head(response)


def test_taking_the_last_instance_offline_sends_the_header_with_the_new_status(
    alice_client, static_component, alice_actor
):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    url = reverse("component-instance-online", args=[static_component.service_id, instance.pk])
    response = hx(alice_client, "post", url, "instance-table", {"is_online": "0", "page": "1"})
    assert ">Offline<" in _oob_status(response)


def test_the_polled_instance_table_keeps_the_header_status_current(alice_client, api_component, alice_actor):
    url = reverse("component", args=[api_component.service_id])
    assert ">No instances<" in _oob_status(hx(alice_client, "get", url, "instance-table"))
    instance_add(component=api_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    assert ">No instances<" not in _oob_status(hx(alice_client, "get", url, "instance-table"))


def test_a_full_page_has_one_header_and_none_out_of_band(alice_client, static_component):
    page = text(alice_client.get(reverse("component-ports", args=[static_component.service_id])))
    assert page.count('id="component-head"') == 1 and "hx-swap-oob" not in page
