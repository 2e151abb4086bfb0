"""The applications pages: the list and "New application", an application's components and
topology, and the "Internal component" form."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from components import services
from components.models import Application, Component, ComponentKind, Dependency
from components.topology import layout
from core import services as accounts
from core.models import Role
from instances import services as instance_services
from instances.addresses import parse_address
from instances.models import Health, Instance
from instances.selectors import component_status, components_with_counts
from instances.services import health_check_update, instance_add

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


# The list and "New application"


def test_the_list_offers_new_application_to_a_developer(alice_client, application):
    text = alice_client.get(reverse("apps")).content.decode()
    assert "New application" in text and "Shop" in text


def test_the_list_offers_nothing_to_create_to_a_viewer(client, victor_the_viewer, application):
    client.force_login(victor_the_viewer)
    text = client.get(reverse("apps")).content.decode()
    assert "Shop" in text
    assert "New application" not in text and "Add third-party component" not in text


def test_new_application_opens_the_form_in_place_for_htmx(alice_client):
    response = alice_client.get(reverse("apps") + "?new=1", **_htmx("new-application"))
    text = response.content.decode()
    assert response.status_code == 200
    assert '<section id="new-application"' in text and "<html" not in text
    assert 'for="id_name">Name' in text


def test_new_application_without_javascript_shows_the_form_on_the_page(alice_client):
    text = alice_client.get(reverse("apps") + "?new=1").content.decode()
    assert "<html" in text and 'action="/apps/"' in text and "Create application" in text


def test_it_creates_an_application_and_opens_it(alice_client, team):
    response = alice_client.post(reverse("apps"), {"name": "Billing Tools"})
    assert response.status_code == 302 and response["Location"] == "/apps/billing-tools/"
    assert Application.objects.get(slug="billing-tools").team == team


def test_htmx_gets_the_new_application_by_hx_location(alice_client, team):
    response = alice_client.post(reverse("apps"), {"name": "Billing"}, **_htmx("new-application"))
    assert response.status_code == 200 and json.loads(response["HX-Location"])["path"] == "/apps/billing/"


def test_it_asks_for_a_name(alice_client, team):
    response = alice_client.post(reverse("apps"), {"name": ""}, **_htmx("new-application"))
    assert response.status_code == 200
    assert "Give the application a name." in response.content.decode()
    assert not Application.objects.exists()


def test_it_refuses_a_name_the_team_already_has(alice_client, application):
    response = alice_client.post(reverse("apps"), {"name": "Shop"})
    assert response.status_code == 200
    assert "The team already has an application called &#x27;Shop&#x27;." in response.content.decode()
    assert Application.objects.count() == 1


def test_a_viewer_cannot_create_an_application(client, victor_the_viewer, team):
    client.force_login(victor_the_viewer)
    assert client.post(reverse("apps"), {"name": "Sneaky"}).status_code == 403
    assert not Application.objects.exists()


def test_a_member_of_several_teams_chooses_the_team(alice_client, alice, team, other_team):
    accounts.membership_set(team=other_team, user=alice, role=Role.OWNER)
    text = alice_client.get(reverse("apps") + "?new=1").content.decode()
    assert 'for="id_team">Team' in text
    response = alice_client.post(reverse("apps"), {"name": "Crawler", "team": str(other_team.pk)})
    assert response.status_code == 302
    assert Application.objects.get(name="Crawler").team == other_team


def test_the_team_choice_offers_only_teams_where_the_user_can_write(alice_client, alice, team, other_team):
    accounts.membership_set(team=other_team, user=alice, role=Role.VIEWER)
    text = alice_client.get(reverse("apps") + "?new=1").content.decode()
    assert "id_team" not in text
    response = alice_client.post(reverse("apps"), {"name": "Crawler", "team": str(other_team.pk)})
    assert Application.objects.get(name="Crawler").team == team  # the only team she can write to
    assert response.status_code == 302


# The application page


def test_the_application_page_offers_both_kinds_of_component(alice_client, application):
    text = alice_client.get(reverse("application", args=[application.slug])).content.decode()
    assert "Add component" in text
    assert f'href="/apps/{application.slug}/components/new/third-party/"' in text
    assert f'href="/apps/{application.slug}/components/new/internal/"' in text


def test_a_viewer_sees_the_application_without_add_component(client, victor_the_viewer, application):
    client.force_login(victor_the_viewer)
    text = client.get(reverse("application", args=[application.slug])).content.decode()
    assert "Shop" in text and "Add component" not in text


def test_another_teams_application_is_not_found(client, bob_from_another_team, application):
    client.force_login(bob_from_another_team)
    assert client.get(reverse("application", args=[application.slug])).status_code == 404
    response = client.get(reverse("application", args=[application.slug]), **_htmx("component-table"))
    assert response.status_code == 404


def test_the_component_table_is_its_own_fragment(alice_client, application, static_component):
    response = alice_client.get(reverse("application", args=[application.slug]), **_htmx("component-table"))
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="component-table">') and "mysql" in text
    assert "<html" not in text and "Topology" not in text


def test_the_component_table_is_paginated(alice_client, application, alice_actor):
    Component.objects.bulk_create(
        [
            Component(
                application=application,
                team=application.team,
                name=f"c{i:03}",
                service_name=f"c{i:03}",
                registration="static",
            )
            for i in range(60)
        ]
    )
    url = reverse("application", args=[application.slug])
    first = alice_client.get(url, **_htmx("component-table")).content.decode()
    assert ">c049<" in first and ">c050<" not in first and "Page 1 of 2" in first
    second = alice_client.get(url + "?page=2", **_htmx("component-table")).content.decode()
    assert ">c050<" in second and ">c049<" not in second
    assert "Page 2 of 2" in alice_client.get(url + "?page=2").content.decode()


def _row(text: str, name: str) -> str:
    return re.search(rf"<tr>\s*<td><a [^>]*>{name}</a>.*?</tr>", text, re.S).group(0)


def test_the_table_shows_routed_and_total_instances_and_status(
    alice_client, application, static_component, api_component, alice_actor
):
    for host in ("10.0.0.7:3306", "10.0.0.8:3306", "10.0.0.9:3306"):
        instance_add(component=static_component, address=parse_address(host), actor=alice_actor)
    Instance.objects.filter(host="10.0.0.7").update(health=Health.HEALTHY)
    Instance.objects.filter(host="10.0.0.8").update(health=Health.UNHEALTHY)
    Instance.objects.filter(host="10.0.0.9").update(is_online=False)
    text = alice_client.get(reverse("application", args=[application.slug])).content.decode()
    mysql = _row(text, "mysql")
    assert "1 / 3" in mysql and "Partial" in mysql
    legacy = _row(text, "legacy-api")
    assert "0 / 0" in legacy and "No instances" in legacy


@pytest.mark.parametrize(
    ("healths", "check_on", "online"),
    [
        ((), True, ()),
        (("healthy", "healthy"), True, (True, True)),
        (("healthy", "unhealthy"), True, (True, True)),
        (("unhealthy", "unknown"), True, (True, True)),
        (("unknown",), True, (True,)),
        (("unknown", "healthy"), False, (True, True)),
        (("healthy", "unhealthy"), True, (True, False)),
        (("healthy",), True, (False,)),
        (("healthy", "unknown"), False, (False, False)),
        (("unknown", "unknown"), True, (True, True)),
        (("unknown", "unhealthy"), True, (True, False)),
    ],
)
def test_the_sql_status_agrees_with_the_instance_by_instance_one(
    static_component, alice_actor, healths, check_on, online
):
    for i, (health, is_online) in enumerate(zip(healths, online, strict=True)):
        instance = instance_add(
            component=static_component, address=parse_address(f"10.0.0.{i + 1}:3306"), actor=alice_actor
        )
        Instance.objects.filter(pk=instance.pk).update(health=health, is_online=is_online)
    if not check_on:
        health_check_update(component=static_component, enabled=False, actor=alice_actor)
    counted = components_with_counts(Component.objects.filter(pk=static_component.pk)).get()
    loaded = Component.objects.prefetch_related("instances").select_related("health_check").get()
    assert counted.status == component_status(loaded)
    assert counted.instance_routed == sum(1 for instance in loaded.instances.all() if instance.is_routed)
    assert counted.instance_total == len(healths)


def test_the_topology_draws_a_node_per_component_and_an_arrow_per_dependency(
    alice_client, application, static_component, internal_component, api_component, alice_actor
):
    services.dependency_add(component=internal_component, target=static_component, actor=alice_actor)
    text = alice_client.get(reverse("application", args=[application.slug])).content.decode()
    svg = re.search(r"<svg class=\"topology\".*?</svg>", text, re.S).group(0)
    assert "<title" in svg and "Topology of Shop" in svg
    assert svg.count('class="topology-node') == 3
    assert f'href="/components/{static_component.service_id}/"' in svg
    assert 'aria-label="phpmyadmin, No instances"' in svg
    assert svg.count("<line") == 1


def test_the_topology_draws_dependencies_on_components_of_other_applications(
    alice_client, application, internal_component, alice_actor
):
    billing = services.application_create(team=application.team, name="Billing", actor=alice_actor)
    ledger = instance_services.component_create(
        application=billing, name="ledger-db", actor=alice_actor, registration="static"
    )
    services.dependency_add(component=internal_component, target=ledger, actor=alice_actor, open_inner=True)
    text = alice_client.get(reverse("application", args=[application.slug])).content.decode()
    svg = re.search(r"<svg class=\"topology\".*?</svg>", text, re.S).group(0)
    assert svg.count('class="topology-node') == 2 and svg.count("<line") == 1
    assert f'href="/components/{ledger.service_id}/"' in svg
    assert 'aria-label="ledger-db in Billing, No instances"' in svg and "topology-elsewhere" in svg
    # Billing's own picture shows its component without the dependent from elsewhere.
    other = alice_client.get(reverse("application", args=[billing.slug])).content.decode()
    assert "phpmyadmin" not in re.search(r"<svg class=\"topology\".*?</svg>", other, re.S).group(0)


def test_the_topology_puts_targets_to_the_right_of_their_dependents():
    class Node:
        def __init__(self, name: str) -> None:
            self.name, self.service_id, self.status = name, name, "Healthy"

    nodes = {1: Node("phpmyadmin"), 2: Node("mysql"), 3: Node("app"), 4: Node("redis")}
    picture = layout(nodes, [(1, 2), (3, 1), (3, 4)])
    x = {node.name: node.x for node in picture.nodes}
    assert x["app"] < x["phpmyadmin"] < x["mysql"]
    assert x["app"] < x["redis"]
    assert all(arrow.x1 < arrow.x2 for arrow in picture.arrows) and len(picture.arrows) == 3


def test_thirty_independent_components_are_drawn_in_several_columns_not_one_tower():
    class Node:
        def __init__(self, name: str) -> None:
            self.name, self.service_id, self.status = name, name, "Offline"

    picture = layout({i: Node(f"component-{i:02}") for i in range(30)}, [])
    assert len({node.x for node in picture.nodes}) == 4
    assert picture.height < 600 and picture.width < 1000


def test_a_single_component_makes_a_small_picture():
    class Node:
        name, service_id, status = "mysql", "x", "Healthy"

    picture = layout({1: Node()}, [])
    assert len(picture.nodes) == 1 and picture.width < 200 and picture.height < 80


def _seed(application: Application, count: int, instances_each: int) -> None:
    components = Component.objects.bulk_create(
        [
            Component(
                application=application,
                team=application.team,
                name=f"{application.slug}{i:04}",
                service_name=f"{application.slug}{i:04}",
                kind=ComponentKind.INTERNAL if i % 2 else "third_party",
                registration="" if i % 2 else "static",
            )
            for i in range(count)
        ]
    )
    Instance.objects.bulk_create(
        [
            Instance(component=c, host=f"10.{i // 250}.{i % 250}.{n + 1}", port=3306)
            for i, c in enumerate(components)
            for n in range(instances_each)
        ]
    )
    Dependency.objects.bulk_create(
        [
            Dependency(component=components[i], target=components[i - 1])
            for i in range(1, count)
            if i % 2  # internal components depend on the third-party one before them
        ]
    )


def _queries(client, application: Application) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(reverse("application", args=[application.slug]))
    assert response.status_code == 200
    return len(context.captured_queries)


def test_the_application_page_makes_as_many_queries_for_90_components_as_for_10(
    alice_client, team, alice_actor
):
    small = services.application_create(team=team, name="Small", actor=alice_actor)
    large = services.application_create(team=team, name="Large", actor=alice_actor)
    _seed(small, 10, 2)
    _seed(large, 90, 10)
    assert _queries(alice_client, small) == _queries(alice_client, large)


def test_the_application_page_makes_no_more_queries_for_200_components_than_for_10(
    alice_client, team, alice_actor
):
    """Past 100 components no topology is drawn, so the dependencies are not even read."""
    small = services.application_create(team=team, name="Small", actor=alice_actor)
    large = services.application_create(team=team, name="Large", actor=alice_actor)
    _seed(small, 10, 2)
    _seed(large, 200, 10)
    assert _queries(alice_client, large) <= _queries(alice_client, small)
    assert (
        "too many components to draw"
        in alice_client.get(reverse("application", args=["large"])).content.decode()
    )


# "Internal component"


def test_the_internal_component_form_is_a_page_and_a_fragment(alice_client, application):
    url = reverse("internal-component-new", args=[application.slug])
    page = alice_client.get(url).content.decode()
    assert "<html" in page and "Component name" in page and "Image" in page
    fragment = alice_client.get(url, **_htmx("add-component")).content.decode()
    assert fragment.lstrip().startswith('<section id="add-component"') and "<html" not in fragment


def test_it_creates_an_internal_component_with_its_image(alice_client, application):
    url = reverse("internal-component-new", args=[application.slug])
    response = alice_client.post(url, {"name": "phpmyadmin", "image": "phpmyadmin:5"})
    component = Component.objects.get(name="phpmyadmin")
    assert response.status_code == 302 and response["Location"] == f"/components/{component.service_id}/"
    assert component.kind == ComponentKind.INTERNAL and component.image == "phpmyadmin:5"
    assert component.registration == ""


def test_the_internal_component_form_asks_for_a_name(alice_client, application):
    url = reverse("internal-component-new", args=[application.slug])
    response = alice_client.post(url, {"name": "", "image": "x"}, **_htmx("add-component"))
    assert response.status_code == 200 and "Give the component a name." in response.content.decode()
    assert not Component.objects.exists()


def test_the_internal_component_form_refuses_a_taken_service_name(
    alice_client, application, static_component
):
    url = reverse("internal-component-new", args=[application.slug])
    response = alice_client.post(url, {"name": "mysql", "image": ""})
    assert response.status_code == 200
    assert "Another component of this team already uses this service name" in response.content.decode()
    assert Component.objects.count() == 1


def test_a_viewer_cannot_add_an_internal_component(client, victor_the_viewer, application):
    client.force_login(victor_the_viewer)
    url = reverse("internal-component-new", args=[application.slug])
    assert client.get(url).status_code == 403
    assert client.post(url, {"name": "phpmyadmin"}).status_code == 403
    assert not Component.objects.exists()


def test_another_team_cannot_reach_the_internal_component_form(client, bob_from_another_team, application):
    client.force_login(bob_from_another_team)
    url = reverse("internal-component-new", args=[application.slug])
    assert client.get(url).status_code == 404
    assert client.post(url, {"name": "phpmyadmin"}).status_code == 404


@pytest.mark.parametrize("image", ["not a valid image !!", "PHPMyAdmin:5", "phpmyadmin:", "a b"])
def test_the_internal_component_form_refuses_what_is_not_an_image_reference(alice_client, application, image):
    url = reverse("internal-component-new", args=[application.slug])
    response = alice_client.post(url, {"name": "phpmyadmin", "image": image})
    assert response.status_code == 200
    assert "An image is a container image reference such as phpmyadmin:5" in response.content.decode()
    assert not Component.objects.exists()


@pytest.mark.parametrize(
    "image",
    [
        "phpmyadmin",
        "mysql:8.0",
        "registry.example.com:5000/team/app:1.2-alpine",
        "ghcr.io/o/a@sha256:" + "0" * 64,
    ],
)
def test_the_internal_component_form_takes_image_references(alice_client, application, image):
    url = reverse("internal-component-new", args=[application.slug])
    assert alice_client.post(url, {"name": "app", "image": image}).status_code == 302
    assert Component.objects.get().image == image
