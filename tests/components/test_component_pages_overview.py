"""The overview: adding, switching and deleting instances, the paginated live table and its counts."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.addresses import parse_address
from instances.models import Instance
from instances.services import instance_add, instance_set_online
from tests.components.pages_support import hx, seed, text

pytestmark = pytest.mark.django_db


def _url(component, name: str = "component", *args) -> str:
    return reverse(name, args=[component.service_id, *args])


def test_it_adds_an_instance_and_swaps_the_instances_card(alice_client, static_component):
    response = hx(
        alice_client,
        "post",
        _url(static_component, "component-instance-add"),
        "instances",
        {"address": "[2001:db8::7]:3306"},
    )
    assert response.status_code == 200
    assert text(response).lstrip().startswith('<section class="card" id="instances"')
    assert "[2001:db8::7]:3306" in text(response)
    assert list(static_component.instances.values_list("host", "port")) == [("2001:db8::7", 3306)]


def test_without_javascript_adding_an_instance_redirects_to_the_overview(alice_client, static_component):
    response = alice_client.post(
        _url(static_component, "component-instance-add"), {"address": "db.example.com:3306"}, follow=True
    )
    assert "Added the instance db.example.com:3306." in text(response)
    assert static_component.instances.get().host == "db.example.com"


@pytest.mark.parametrize(
    ("address", "message"),
    [
        ("", "This field is required."),
        ("10.0.0.7:99999", "port"),
        ("169.254.169.254", "169.254.0.0/16"),
    ],
)
def test_it_shows_why_an_address_is_refused_under_the_field(alice_client, static_component, address, message):
    response = hx(
        alice_client,
        "post",
        _url(static_component, "component-instance-add"),
        "instances",
        {"address": address},
    )
    assert response.status_code == 200
    assert 'class="field-error"' in text(response) and message in text(response)
    assert not static_component.instances.exists()


def test_it_refuses_an_instance_the_component_already_has(alice_client, static_component, alice_actor):
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    response = alice_client.post(
        _url(static_component, "component-instance-add"), {"address": "10.0.0.7:3306"}
    )
    assert "mysql already has the instance 10.0.0.7:3306." in text(response)
    assert static_component.instances.count() == 1


def test_api_registration_offers_no_add_instance_form(alice_client, api_component):
    page = text(alice_client.get(_url(api_component)))
    assert "Add instance" not in page and "API URL" in page


def test_it_takes_an_instance_offline_and_brings_it_back(alice_client, static_component, alice_actor):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    url = _url(static_component, "component-instance-online", instance.pk)
    response = hx(alice_client, "post", url, "instance-table", {"is_online": "0", "page": "1"})
    assert "Bring online" in text(response) and "1 offline" in text(response)
    assert Instance.objects.get(pk=instance.pk).is_online is False
    hx(alice_client, "post", url, "instance-table", {"is_online": "1", "page": "1"})
    assert Instance.objects.get(pk=instance.pk).is_online is True


def test_deleting_an_instance_without_javascript_asks_first(alice_client, static_component, alice_actor):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    url = _url(static_component, "component-instance-delete", instance.pk)
    confirm = alice_client.post(url, {})
    assert "Delete the instance 10.0.0.7?" in text(confirm)
    assert Instance.objects.filter(pk=instance.pk).exists()
    done = alice_client.post(url, {"confirm": "yes", "page": "1"}, follow=True)
    assert "Deleted the instance 10.0.0.7." in text(done)
    assert not Instance.objects.filter(pk=instance.pk).exists()


def test_the_instance_table_is_paginated_with_counts_above_it(alice_client, application):
    component = seed(application, components=1, instances=120)
    first = text(alice_client.get(_url(component)))
    assert first.count("Take offline") + first.count("Bring online") == 50
    assert "Page 1 of 3" in first and "120 in all" in first
    assert "40 offline" in first and "80 not ready" in first
    poll = hx(alice_client, "get", _url(component) + "?page=3", "instance-table")
    assert f'hx-get="/components/{component.service_id}/?page=3"' in text(poll)  # the poll keeps its page
    assert "Page 3 of 3" in text(poll)
    assert text(poll).count("Take offline") + text(poll).count("Bring online") == 20


def test_the_fragment_is_only_the_table_and_the_status_out_of_band(
    alice_client, static_component, alice_actor
):
    instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    poll = hx(alice_client, "get", _url(static_component), "instance-table")
    assert "Overview" not in text(poll) and 'class="tabs"' not in text(poll)
    assert "<h1>" not in text(poll) and 'id="component-status" hx-swap-oob="true"' in text(poll)
    assert len(poll.content) < 8000


def test_an_api_registered_component_keeps_polling_while_it_has_no_instance(alice_client, api_component):
    poll = hx(alice_client, "get", _url(api_component), "instance-table")
    assert poll.status_code == 200


def test_a_static_component_with_nothing_online_stops_the_poll(alice_client, static_component, alice_actor):
    instance = instance_add(component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor)
    instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    assert hx(alice_client, "get", _url(static_component), "instance-table").status_code == 286


def test_the_secret_key_copy_button_needs_no_inline_script(alice_client, api_component):
    page = text(alice_client.post(_url(api_component, "component-secret-key-reveal"), follow=True))
    assert api_component.secret_key in page
    assert "onclick" not in page and 'data-copy="#secret-key"' in page


def test_an_internal_component_shows_no_empty_instance_table(alice_client, internal_component, alice_actor):
    page = text(alice_client.get(_url(internal_component)))
    assert "<table" not in page.split('id="instances"')[1]
    assert "run_with_env shop/phpmyadmin --serve" in page
    instance_add(component=internal_component, address=parse_address("127.0.0.1:8081"), actor=alice_actor)
    page = text(alice_client.get(_url(internal_component)))
    assert "127.0.0.1:8081" in page and "run_with_env shop/phpmyadmin --serve" not in page


def test_add_instance_takes_several_addresses_pasted_at_once(alice_client, static_component):
    url = _url(static_component, "component-instance-add")
    response = alice_client.post(url, {"address": "10.0.0.7:3306\n10.0.0.8:3306, db.example.com:3306"})
    assert response.status_code == 302
    assert sorted(i.address for i in static_component.instances.all()) == [
        "10.0.0.7:3306",
        "10.0.0.8:3306",
        "db.example.com:3306",
    ]


def test_one_bad_address_among_pasted_ones_adds_none_and_is_named(alice_client, static_component):
    url = _url(static_component, "component-instance-add")
    page = text(alice_client.post(url, {"address": "10.0.0.7:3306, 169.254.169.254:80"}))
    assert "169.254.169.254:80:" in page
    assert not static_component.instances.exists()
