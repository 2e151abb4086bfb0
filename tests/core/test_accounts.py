"""core.services: teams and memberships, whichever door writes them, leave audit events."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from core import services as accounts
from core.errors import ComponentError
from core.models import ApiToken, AuditEvent, Membership, Role, Team

pytestmark = pytest.mark.django_db


def _events(team: Team) -> list[tuple[str, dict]]:
    return [(e.action, e.detail) for e in AuditEvent.objects.filter(team=team).order_by("id")]


def test_it_records_a_role_change_and_not_a_role_set_again():
    user = get_user_model().objects.create_user("carol")
    team = accounts.team_create(name="Payments")
    accounts.membership_set(team=team, user=user, role=Role.VIEWER)
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    accounts.membership_set(team=team, user=user, role=Role.OWNER)
    assert _events(team) == [
        ("team.create", {"name": "Payments", "slug": "payments"}),
        ("membership.set", {"user": "carol", "role": "viewer", "previous_role": ""}),
        ("membership.set", {"user": "carol", "role": "owner", "previous_role": "viewer"}),
    ]
    assert Membership.objects.get(team=team, user=user).role == Role.OWNER


def test_bootstrap_admin_writes_the_default_team_through_the_services():
    call_command("bootstrap_admin", "--username", "ops", "--password", "a-given-password", stdout=StringIO())
    call_command("bootstrap_admin", "--username", "ops", stdout=StringIO())
    team = Team.objects.get(slug="default")
    assert [action for action, _ in _events(team)] == ["team.create", "membership.set"]


def test_a_role_changed_in_the_admin_leaves_an_event(admin_client):
    user = get_user_model().objects.create_user("dave")
    team = accounts.team_create(name="Search")
    membership = accounts.membership_set(team=team, user=user, role=Role.VIEWER)
    response = admin_client.post(
        f"/admin/core/membership/{membership.pk}/change/",
        {"user": user.pk, "team": team.pk, "role": Role.DEVELOPER},
    )
    assert response.status_code == 302
    action, detail = _events(team)[-1]
    assert (action, detail["role"], detail["previous_role"]) == ("membership.set", "developer", "viewer")
    assert (
        AuditEvent.objects.filter(action="membership.set").first().user.get_username() == "admin"
    )  # newest first


def test_a_member_removed_from_a_team_in_the_admin_leaves_an_event(admin_client):
    user = get_user_model().objects.create_user("erin")
    team = accounts.team_create(name="Ledger", owner=user)
    accounts.membership_set(team=team, user=get_user_model().objects.create_user("fay"), role=Role.OWNER)
    membership = Membership.objects.get(team=team, user=user)
    response = admin_client.post(f"/admin/core/membership/{membership.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert _events(team)[-1] == ("membership.delete", {"user": "erin", "previous_role": "owner"})


def test_the_admin_keeps_the_last_owner_and_says_why(admin_client):
    user = get_user_model().objects.create_user("erin")
    team = accounts.team_create(name="Ledger", owner=user)
    membership = Membership.objects.get(team=team, user=user)
    response = admin_client.post(
        f"/admin/core/membership/{membership.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert "erin is the last owner of Ledger and cannot leave the team" in response.content.decode()
    assert Membership.objects.filter(pk=membership.pk).exists()


def test_the_last_owner_stays_whichever_door(db):
    erin, fay = (get_user_model().objects.create_user(name) for name in ("erin", "fay"))
    team = accounts.team_create(name="Ledger", owner=erin)
    with pytest.raises(
        ComponentError, match="erin is the last owner of Ledger and cannot stop being an owner"
    ):
        accounts.membership_set(team=team, user=erin, role=Role.DEVELOPER)
    accounts.membership_set(team=team, user=fay, role=Role.OWNER)
    accounts.membership_set(team=team, user=erin, role=Role.VIEWER)  # fay owns it now
    with pytest.raises(ComponentError, match="fay is the last owner"):
        accounts.membership_delete(membership=Membership.objects.get(team=team, user=fay))
    assert Membership.objects.get(team=team, user=fay).role == Role.OWNER


def test_a_token_deleted_in_the_admin_is_revoked_through_the_service(admin_client, caplog):
    user = get_user_model().objects.create_user("frank")
    token, _ = accounts.api_token_create(user=user, name="ci")
    with caplog.at_level("INFO", logger="core.services"):
        response = admin_client.post(f"/admin/core/apitoken/{token.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert f"API token {token.pk} of user {user.pk} revoked" in caplog.text
