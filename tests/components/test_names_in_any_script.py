"""Names without Latin letters: readable slugs and service names, unique, refusals that name the holder."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import Application
from core.errors import ComponentError
from instances import services as instance_services
from tests.components.pages_support import text

pytestmark = pytest.mark.django_db


def test_applications_in_other_scripts_get_transliterated_slugs(team, alice_actor):
    shop = services.application_create(team=team, name="Магазин 商店 🛒", actor=alice_actor)
    store = services.application_create(team=team, name="商店", actor=alice_actor)
    assert (shop.slug, store.slug) == ("magazin-shangdian-shopping-cart", "shangdian")


def test_a_slug_held_by_another_name_gets_a_suffix(team, alice_actor):
    services.application_create(team=team, name="My Shop", actor=alice_actor)
    assert services.application_create(team=team, name="my-shop", actor=alice_actor).slug == "my-shop-2"
    assert services.application_create(team=team, name="My  Shop!", actor=alice_actor).slug == "my-shop-3"


def test_the_same_application_name_twice_is_refused_naming_the_holder(team, alice_actor):
    services.application_create(team=team, name="商店", actor=alice_actor)
    with pytest.raises(ComponentError) as refused:
        services.application_create(team=team, name=" 商店 ", actor=alice_actor)
    assert str(refused.value) == "The team already has an application called '商店'."


def test_components_in_other_scripts_get_transliterated_unique_service_names(application, alice_actor):
    first = instance_services.component_create(application=application, name="База данных", actor=alice_actor)
    second = instance_services.component_create(
        application=application, name="база-данных", actor=alice_actor
    )
    third = instance_services.component_create(application=application, name="数据库", actor=alice_actor)
    assert [first.service_name, second.service_name, third.service_name] == [
        "baza-dannykh",
        "baza-dannykh-2",
        "shujuku",
    ]


def test_a_name_without_letters_still_gets_a_unique_service_name(application, alice_actor):
    names = [
        instance_services.component_create(application=application, name=name, actor=alice_actor).service_name
        for name in ("***", "+++", "123")
    ]
    assert names == ["component", "component-2", "component-3"]


def test_the_same_component_name_twice_is_refused_naming_the_holder(application, alice_actor):
    instance_services.component_create(application=application, name="数据库", actor=alice_actor)
    with pytest.raises(ComponentError) as refused:
        instance_services.component_create(application=application, name="数据库", actor=alice_actor)
    assert "held by 数据库 in the application Shop" in str(refused.value)


def test_the_applications_page_creates_both_shops(alice_client, team):
    alice_client.post(reverse("apps"), {"name": "Магазин 商店 🛒"})
    response = alice_client.post(reverse("apps"), {"name": "商店"}, follow=True)
    assert "already has an application" not in text(response)
    names = Application.objects.filter(team=team).values_list("name", flat=True)
    assert sorted(names) == ["Магазин 商店 🛒", "商店"]


def test_a_name_held_under_an_old_slug_is_still_refused(team, alice_actor):
    Application.objects.create(team=team, name="商店", slug="app")  # as names were slugged before
    with pytest.raises(ComponentError) as refused:
        services.application_create(team=team, name="商店", actor=alice_actor)
    assert str(refused.value) == "The team already has an application called '商店'."
