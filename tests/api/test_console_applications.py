"""POST|GET /api/v1/applications/: the requester's teams only, writes for owners and developers."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from components import services
from components.models import Application
from core import services as accounts
from core.models import AuditEvent, Role

pytestmark = pytest.mark.django_db


def test_it_lists_the_applications_of_the_users_teams_with_component_counts(
    api, application, static_component, internal_component, other_team, alice_actor
):
    services.application_create(team=other_team, name="Hidden", actor=alice_actor)
    response = api.get("/api/v1/applications/")
    assert response.status_code == 200
    assert response.json()["results"] == [
        {
            "slug": "shop",
            "name": "Shop",
            "team": "payments",
            "component_count": 2,
            "third_party_count": 1,
            "status_page": False,
            "status_page_url": None,
        }
    ]


def test_it_creates_an_application_in_the_requesters_only_team(api, team, alice):
    response = api.post("/api/v1/applications/", {"name": "Billing"}, format="json")
    assert response.status_code == 201
    assert response.json() == {
        "slug": "billing",
        "name": "Billing",
        "team": "payments",
        "component_count": 0,
        "third_party_count": 0,
        "status_page": False,
        "status_page_url": None,
    }
    assert Application.objects.get(team=team, slug="billing").name == "Billing"
    event = AuditEvent.objects.get(action="application.create")
    assert (event.actor, event.user, event.remote_addr) == ("api-token", alice, "127.0.0.1")


def test_it_asks_which_team_when_the_user_belongs_to_several(api, alice, other_team):
    accounts.membership_set(team=other_team, user=alice, role=Role.DEVELOPER)
    response = api.post("/api/v1/applications/", {"name": "Billing"}, format="json")
    assert response.status_code == 400
    assert "payments" in response.json()["team"][0] and "search" in response.json()["team"][0]
    response = api.post("/api/v1/applications/", {"name": "Billing", "team": "search"}, format="json")
    assert response.status_code == 201
    assert Application.objects.get(slug="billing").team == other_team


def test_it_refuses_a_team_the_user_is_not_in(api, other_team):
    response = api.post("/api/v1/applications/", {"name": "Billing", "team": "search"}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["team"]
    assert not Application.objects.filter(slug="billing").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": 12}, None),  # DRF reads a number as its text: "12" is a fine name
        ({"name": "Ok", "team": "not a slug"}, "team"),
    ],
)
def test_it_names_the_invalid_field(api, team, body, field):
    response = api.post("/api/v1/applications/", body, format="json")
    if field is None:
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert field in response.json()


def test_a_second_application_of_the_same_name_is_refused(api, application):
    response = api.post("/api/v1/applications/", {"name": "Shop"}, format="json")
    assert response.status_code == 400
    assert "already has an application" in response.json()["name"][0]


def test_a_viewer_cannot_create_an_application(viewer_api, team):
    response = viewer_api.post("/api/v1/applications/", {"name": "Billing"}, format="json")
    assert response.status_code == 403
    assert "Viewers can read" in response.json()["detail"]
    assert not Application.objects.exists()


def test_a_viewer_reads_the_list(viewer_api, application):
    assert [app["slug"] for app in viewer_api.get("/api/v1/applications/").json()["results"]] == ["shop"]


def test_malformed_json_is_a_400(api, team):
    response = api.post("/api/v1/applications/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_a_body_that_is_not_an_object_is_a_400(api, team):
    response = api.post("/api/v1/applications/", ["Billing"], format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()


def test_it_needs_authentication(client, application):
    response = APIClient().get("/api/v1/applications/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_wrong_token_is_refused_without_saying_why(application):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = client.get("/api/v1/applications/")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_the_browser_session_works_too(client, alice, application):
    client.force_login(alice)
    response = client.get("/api/v1/applications/")
    assert response.status_code == 200
    assert response.json()["results"][0]["slug"] == "shop"


def test_the_trailing_slash_is_optional(api, application):
    assert api.get("/api/v1/applications").status_code == 200
