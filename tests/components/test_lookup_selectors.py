"""The lookups of the console API as selectors: scoped by the requester, a 404 (or a refusal on the
field the person has to change) for anything that is not theirs."""

from __future__ import annotations

import pytest
from django.http import Http404

from components import selectors, services
from core import services as accounts
from core.errors import ComponentError
from instances import selectors as instance_selectors
from instances import services as instance_services
from instances.addresses import parse_address

pytestmark = pytest.mark.django_db


def test_a_new_object_goes_into_the_users_only_team(alice, team):
    assert selectors.team_to_create_in(alice, "") == team


def test_it_refuses_a_team_the_user_is_not_in(bob_from_another_team, team):
    with pytest.raises(ComponentError) as refused:
        selectors.team_to_create_in(bob_from_another_team, team.slug)
    assert refused.value.messages == {"team": [f"You are not a member of a team {team.slug!r}."]}


def test_it_asks_which_team_when_the_user_is_in_several(alice, other_team):
    accounts.membership_set(team=other_team, user=alice, role="developer")
    with pytest.raises(ComponentError) as refused:
        selectors.team_to_create_in(alice, "")
    assert "say which one" in refused.value.messages["team"][0]


def test_it_finds_no_application_of_another_team(bob_from_another_team, application):
    with pytest.raises(ComponentError) as refused:
        selectors.application_to_create_in(bob_from_another_team, slug=application.slug)
    assert list(refused.value.messages) == ["application"]


def test_another_teams_component_is_no_dependency_target(bob_from_another_team, static_component):
    with pytest.raises(ComponentError) as refused:
        selectors.dependency_target_for_user(bob_from_another_team, static_component.service_id)
    assert list(refused.value.messages) == ["target"]


def test_a_dependency_that_does_not_exist_is_404(internal_component, static_component):
    with pytest.raises(Http404, match="does not depend on such a component"):
        selectors.dependency_on(internal_component, static_component.service_id)


@pytest.mark.parametrize("number", ["3306", "abc", "0", "65536", "٣٣٠٦", "9" * 30])
def test_a_port_that_is_not_there_is_404(static_component, number):
    with pytest.raises(Http404, match="No such port"):
        selectors.component_port(static_component, number)


def test_it_finds_a_port_by_the_number_in_the_path(static_component, alice_actor):
    port = services.port_create(component=static_component, number=3306, actor=alice_actor)
    assert selectors.component_port(static_component, "3306") == port


@pytest.mark.parametrize("name", ["NOPE", "not-a-name", "X" * 200])
def test_a_variable_that_is_not_there_is_404(static_component, name):
    with pytest.raises(Http404, match="No such variable"):
        selectors.component_env_var(static_component, name)


def test_another_components_instance_is_404(static_component, api_component, alice_actor):
    instance = instance_services.instance_add(
        component=static_component, address=parse_address("10.0.0.7"), actor=alice_actor
    )
    assert instance_selectors.component_instance(static_component, str(instance.pk)) == instance
    for text in (str(instance.pk), "abc", "0", str(2**63)):
        with pytest.raises(Http404, match="No such instance"):
            instance_selectors.component_instance(api_component, text)
