"""Control characters (line breaks, tabs, NUL…) are refused in every name, at every door: the model's
``clean()`` refuses them once, and the services, pages, API and admin all go through it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from components import services
from components.models import Application
from core import services as accounts
from core.errors import ComponentError
from core.models import Team
from core.validation import NO_CONTROL_CHARACTERS
from instances import services as instance_services
from kato_console.alerts.services import channel_create

pytestmark = pytest.mark.django_db

HOSTILE = [
    "Cart\nINFO forged line",
    "Cart\r\nBcc: x@example.test",
    "Cart\tx",
    "Cart\x00",
    "Cart\u2028x",
    "Cart\x1b[31m",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_the_services_refuse_it_in_every_kind_of_name(
    name, team, application, alice_actor, static_component
) -> None:
    attempts = [
        lambda: accounts.team_create(name=name),
        lambda: services.application_create(team=team, name=name, actor=alice_actor),
        lambda: instance_services.component_create(application=application, name=name, actor=alice_actor),
        lambda: services.component_update(component=static_component, actor=alice_actor, name=name),
        lambda: channel_create(
            team=team, actor=alice_actor, name=name, kind="email", target="ops@example.test"
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ComponentError) as refused:
            attempt()
        assert refused.value.messages == {"name": [NO_CONTROL_CHARACTERS]}


def test_the_applications_page_says_so_next_to_the_name(alice_client, team) -> None:
    response = alice_client.post("/apps/", {"name": "Shop\nBilling", "team": team.slug})
    assert NO_CONTROL_CHARACTERS in response.content.decode()
    assert not Application.objects.exists()


def test_the_console_api_answers_400(alice) -> None:
    api = APIClient()
    api.force_authenticate(alice)
    response = api.post("/api/v1/applications/", {"name": "Shop\nBilling"}, format="json")
    assert response.status_code == 400
    assert NO_CONTROL_CHARACTERS in str(response.json())
    assert not Application.objects.exists()


def test_the_admin_says_so_next_to_the_name(client) -> None:
    client.force_login(get_user_model().objects.create_superuser(username="operator", password="op-pw-1"))
    response = client.post("/admin/core/team/add/", {"name": "Ops\nTeam", "slug": "ops"})
    assert response.status_code == 200
    assert NO_CONTROL_CHARACTERS in response.content.decode()
    assert not Team.objects.filter(slug="ops").exists()
