"""Internationalised host names: accepted and stored as IDNA, at every door (the parser is theirs)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances.addresses import AddressError, parse_address
from instances.models import Instance


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("bücher.example:3306", "xn--bcher-kva.example:3306"),
        ("Bücher.Example", "xn--bcher-kva.example"),
        ("https://例え.テスト/path", "https://xn--r8jz45g.xn--zckzah"),
        ("münchen.example.com.", "xn--mnchen-3ya.example.com"),
    ],
)
def test_an_internationalised_name_is_stored_as_idna(typed, stored):
    assert str(parse_address(typed)) == stored


@pytest.mark.parametrize("typed", ["bü_cher.example", "☃-.example", "bücher..example"])
def test_a_name_that_is_not_valid_idna_is_refused(typed):
    with pytest.raises(AddressError):
        parse_address(typed)


@pytest.mark.django_db
def test_add_instance_takes_an_internationalised_name(alice_client, static_component):
    url = reverse("component-instance-add", args=[static_component.service_id])
    response = alice_client.post(url, {"address": "bücher.example:3306"})
    assert response.status_code == 302
    assert Instance.objects.get(component=static_component).address == "xn--bcher-kva.example:3306"
