"""The team page: every member sees the members; owners add, change and remove them through core's
membership services (the audit trail records each change, the last owner stays)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from core import services as accounts
from core.models import AuditEvent, Membership, Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(team):
    user = get_user_model().objects.create_user(username="olga", password="olga-password-1")
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def olga_client(client, olga):
    client.force_login(olga)
    return client


def _last_event(team) -> tuple[str, str, dict]:
    event = AuditEvent.objects.filter(team=team).select_related("user").first()
    return event.action, event.user.get_username(), event.detail


def test_every_member_sees_the_members_but_only_owners_manage_them(alice_client, olga, team):
    page = alice_client.get(f"/teams/{team.slug}/").content.decode()
    assert "olga" in page and "alice" in page and "You are a developer of this team." in page
    assert "Add a member" not in page and "Change role" not in page
    assert (
        alice_client.post(f"/teams/{team.slug}/", {"username": "olga", "role": "viewer"}).status_code == 403
    )
    assert (
        alice_client.post(
            f"/teams/{team.slug}/members/{olga.pk}/role/", {f"m{olga.pk}-role": "viewer"}
        ).status_code
        == 403
    )
    assert alice_client.post(f"/teams/{team.slug}/members/{olga.pk}/remove/").status_code == 403
    assert Membership.objects.get(user=olga).role == Role.OWNER


def test_a_team_the_user_is_not_in_is_a_404(alice_client, other_team):
    assert alice_client.get(f"/teams/{other_team.slug}/").status_code == 404


def test_the_sidebar_links_each_team_to_its_members(alice_client, team):
    assert f'<a href="/teams/{team.slug}/">Members</a>' in alice_client.get("/apps/").content.decode()


def test_an_owner_adds_an_existing_user_and_the_trail_says_so(olga_client, olga, team):
    get_user_model().objects.create_user(username="pablo")
    response = olga_client.post(f"/teams/{team.slug}/", {"username": "pablo", "role": "viewer"})
    assert response.status_code == 302 and response["Location"] == f"/teams/{team.slug}/"
    assert "pablo is now a member of Payments." in olga_client.get(response["Location"]).content.decode()
    assert Membership.objects.get(user__username="pablo").role == Role.VIEWER
    assert _last_event(team) == (
        "membership.set",
        "olga",
        {"user": "pablo", "role": "viewer", "previous_role": ""},
    )


@pytest.mark.parametrize(
    ("username", "says"),
    [
        ("nobody", "There is no user called &#x27;nobody&#x27;"),
        ("alice", "alice is already a member of Payments."),
        ("", "Say whom to add"),
    ],
)
def test_adding_someone_who_cannot_be_added_says_why(olga_client, alice, team, username, says):
    response = olga_client.post(f"/teams/{team.slug}/", {"username": username, "role": "viewer"})
    assert response.status_code == 200 and says in response.content.decode()
    assert Membership.objects.get(user=alice).role == Role.DEVELOPER


def test_an_owner_changes_a_role(olga_client, alice, team):
    response = olga_client.post(
        f"/teams/{team.slug}/members/{alice.pk}/role/", {f"m{alice.pk}-role": "owner"}, follow=True
    )
    assert "alice is now a owner of Payments." not in response.content.decode()
    assert "alice is now an owner of Payments." in response.content.decode()
    assert Membership.objects.get(user=alice).role == Role.OWNER
    assert _last_event(team)[0::2] == (
        "membership.set",
        {"user": "alice", "role": "owner", "previous_role": "developer"},
    )


def test_the_last_owner_can_neither_step_down_nor_leave(olga_client, olga, team):
    response = olga_client.post(
        f"/teams/{team.slug}/members/{olga.pk}/role/", {f"m{olga.pk}-role": "viewer"}, follow=True
    )
    assert "olga is the last owner of Payments and cannot stop being an owner" in response.content.decode()
    response = olga_client.post(f"/teams/{team.slug}/members/{olga.pk}/remove/", follow=True)
    assert "olga is the last owner of Payments and cannot leave the team" in response.content.decode()
    assert Membership.objects.get(user=olga).role == Role.OWNER


def test_removing_a_member_asks_first(olga_client, alice, team):
    question = olga_client.get(f"/teams/{team.slug}/members/{alice.pk}/remove/").content.decode()
    assert "Remove alice from Payments?" in question and Membership.objects.filter(user=alice).exists()
    response = olga_client.post(f"/teams/{team.slug}/members/{alice.pk}/remove/", follow=True)
    assert "alice is no longer a member of Payments." in response.content.decode()
    assert not Membership.objects.filter(user=alice).exists()
    assert _last_event(team) == ("membership.delete", "olga", {"user": "alice", "previous_role": "developer"})
