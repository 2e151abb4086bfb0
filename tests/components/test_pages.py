"""The signed-in pages: what a member sees, and the 404 another team gets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from instances import services as instance_services
from instances.addresses import parse_address
from instances.services import instance_add

pytestmark = pytest.mark.django_db


def test_it_sends_a_signed_out_visitor_to_the_login_page(client, application):
    response = client.get(reverse("application", args=[application.slug]))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_login_page_renders(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in to Kato Console" in response.content


def test_it_lists_the_applications_of_the_users_teams(
    alice_client, application, static_component, other_team, alice_actor
):
    from components import services

    services.application_create(team=other_team, name="Hidden", actor=alice_actor)
    response = alice_client.get(reverse("apps"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "Shop" in text and "Payments" in text
    assert "Hidden" not in text


def test_the_application_page_shows_its_components_with_routed_counts(
    alice_client, application, static_component, alice_actor
):
    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    response = alice_client.get(reverse("application", args=[application.slug]))
    text = response.content.decode()
    assert "mysql" in text and "Third-party" in text
    assert "0 / 1" in text  # online, but its health check has not passed yet: not ready, not routed
    assert "Offline" not in text


def test_an_instance_is_routed_when_the_health_check_is_off(
    alice_client, application, static_component, alice_actor
):
    from instances.services import health_check_update

    instance_add(component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor)
    health_check_update(component=static_component, enabled=False, actor=alice_actor)
    text = alice_client.get(reverse("application", args=[application.slug])).content.decode()
    assert "1 / 1" in text and "Unknown" in text


def test_the_component_overview_lists_its_instances(alice_client, static_component, alice_actor):
    instance_add(component=static_component, address=parse_address("[2001:db8::7]:3306"), actor=alice_actor)
    response = alice_client.get(reverse("component", args=[static_component.service_id]))
    assert response.status_code == 200
    assert "[2001:db8::7]:3306" in response.content.decode()


def test_another_team_gets_404_for_the_application_page(client, bob_from_another_team, application):
    client.force_login(bob_from_another_team)
    assert client.get(reverse("application", args=[application.slug])).status_code == 404


def test_another_team_gets_404_for_the_component_page(client, bob_from_another_team, static_component):
    client.force_login(bob_from_another_team)
    assert client.get(reverse("component", args=[static_component.service_id])).status_code == 404


def test_an_unknown_component_is_404(alice_client):
    assert alice_client.get(reverse("component", args=["0" * 32])).status_code == 404


def test_the_application_page_costs_a_fixed_number_of_queries(
    alice_client, application, alice_actor, django_assert_max_num_queries
):

    for n in range(15):
        component = instance_services.component_create(
            application=application, name=f"db-{n}", actor=alice_actor
        )
        instance_add(component=component, address=parse_address(f"10.0.0.{n + 1}"), actor=alice_actor)
    with django_assert_max_num_queries(12):
        response = alice_client.get(reverse("application", args=[application.slug]))
    assert response.content.decode().count("db-") >= 15


def test_the_instance_table_refreshes_itself_and_stops_when_nothing_is_online(
    alice_client, static_component, alice_actor
):
    from instances.services import instance_set_online

    instance = instance_add(
        component=static_component, address=parse_address("10.0.0.7:3306"), actor=alice_actor
    )
    page = alice_client.get(reverse("component", args=[static_component.service_id])).content.decode()
    assert 'hx-trigger="every 5s"' in page
    poll = alice_client.get(
        reverse("component", args=[static_component.service_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="instance-table",
    )
    assert poll.status_code == 200 and poll.content.decode().lstrip().startswith(
        '<table class="table" id="instance-table"'
    )
    instance_set_online(instance=instance, is_online=False, actor=alice_actor)
    poll = alice_client.get(
        reverse("component", args=[static_component.service_id]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="instance-table",
    )
    assert poll.status_code == 286 and "offline" in poll.content.decode()
