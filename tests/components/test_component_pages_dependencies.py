"""The Dependencies page: add one (asking to turn on the target's internal service), refusals, remove."""

from __future__ import annotations

import pytest
from django.urls import reverse

from components import services
from components.models import ComponentKind, Dependency
from instances import services as instance_services
from tests.components.pages_support import hx, text

pytestmark = pytest.mark.django_db


def _url(component, name: str = "component-dependencies", *args) -> str:
    return reverse(name, args=[component.service_id, *args])


@pytest.fixture
def phpmyadmin(internal_component):
    return internal_component


def test_the_choice_offers_the_teams_other_components_only(
    alice_client, phpmyadmin, static_component, other_team, alice_actor
):
    elsewhere = services.application_create(team=other_team, name="Hidden", actor=alice_actor)
    stranger = instance_services.component_create(application=elsewhere, name="stranger", actor=alice_actor)
    page = text(alice_client.get(_url(phpmyadmin)))
    assert f'<option value="{static_component.service_id}">mysql</option>' in page
    assert stranger.service_id not in page and f'<option value="{phpmyadmin.service_id}"' not in page
    response = alice_client.post(_url(phpmyadmin), {"target": stranger.service_id})
    assert "Choose one of your team&#x27;s components." in text(response)


def test_it_asks_to_turn_on_the_internal_service_then_does_so(
    alice_client, phpmyadmin, static_component, alice_actor
):
    services.port_create(component=static_component, number=3306, protocol="mysql", actor=alice_actor)
    asked = hx(
        alice_client, "post", _url(phpmyadmin), "dependencies", {"target": static_component.service_id}
    )
    assert "Turn on the internal service of mysql?" in text(asked)
    assert "mysql’s port 3306 has no internal service" in text(
        asked
    ) or "mysql&#x27;s port 3306 has no internal service" in text(asked)
    assert not Dependency.objects.exists()
    done = hx(
        alice_client,
        "post",
        _url(phpmyadmin),
        "dependencies",
        {"target": static_component.service_id, "open_inner": "on"},
    )
    assert done.status_code == 200 and f'href="/components/{static_component.service_id}/"' in text(done)
    assert Dependency.objects.filter(component=phpmyadmin, target=static_component).exists()
    assert static_component.ports.get().inner_service is True


def test_a_third_party_component_cannot_depend_and_the_page_says_why(
    alice_client, static_component, api_component
):
    response = alice_client.post(_url(static_component), {"target": api_component.service_id})
    assert "mysql is a third-party component: it runs outside the platform and cannot depend" in text(
        response
    )
    assert not Dependency.objects.exists()


def test_a_cycle_is_refused_naming_the_components(alice_client, phpmyadmin, application, alice_actor):
    web = instance_services.component_create(
        application=application, name="web", actor=alice_actor, kind=ComponentKind.INTERNAL
    )
    services.dependency_add(component=web, target=phpmyadmin, actor=alice_actor)
    response = alice_client.post(_url(phpmyadmin), {"target": web.service_id})
    assert "This dependency would make a cycle: phpmyadmin → web → phpmyadmin." in text(response)


def test_a_name_conflict_is_refused_naming_the_variable_and_both_components(
    alice_client, phpmyadmin, static_component, api_component, alice_actor
):
    services.env_var_set(component=static_component, name="DB_USER", value="a", actor=alice_actor)
    services.env_var_set(component=api_component, name="DB_USER", value="b", actor=alice_actor)
    services.dependency_add(component=phpmyadmin, target=static_component, actor=alice_actor)
    response = alice_client.post(_url(phpmyadmin), {"target": api_component.service_id})
    assert "legacy-api and mysql both share the variable DB_USER; phpmyadmin cannot depend on both." in text(
        response
    )


def test_it_removes_a_dependency(alice_client, phpmyadmin, static_component, alice_actor):
    services.dependency_add(component=phpmyadmin, target=static_component, actor=alice_actor)
    response = hx(
        alice_client,
        "post",
        _url(phpmyadmin, "component-dependency-remove", static_component.service_id),
        "dependencies",
    )
    assert "phpmyadmin depends on nothing yet." in text(response)
    assert not Dependency.objects.exists()


def test_without_javascript_adding_redirects_with_a_message(alice_client, phpmyadmin, static_component):
    response = alice_client.post(_url(phpmyadmin), {"target": static_component.service_id}, follow=True)
    assert "phpmyadmin now depends on mysql." in text(response)
