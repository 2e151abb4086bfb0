"""A team's page: its members and their roles. Every member sees who is in the team; owners add an
existing user, change a role and remove a member, each through core's membership services (which
keep the last owner and write the audit trail). Each post redirects (post/redirect/get)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from components import selectors
from core import services as accounts
from core.audit import Actor
from core.errors import ComponentError
from core.models import Membership, Role
from kato_console.web import add_service_errors

# "<user> is now <role> of <team>." as one sentence per role, so that a translation may order the words.
ROLE_SENTENCES = {
    Role.OWNER: _("%(user)s is now an owner of %(team)s."),
    Role.DEVELOPER: _("%(user)s is now a developer of %(team)s."),
    Role.VIEWER: _("%(user)s is now a viewer of %(team)s."),
}


class MemberAddForm(forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("Someone who already has an account on this console."),
        error_messages={"required": _("Say whom to add: their user name.")},
    )
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.DEVELOPER)

    def clean_username(self) -> object:
        username = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(**{get_user_model().USERNAME_FIELD: username}).first()
        if user is None or not user.is_active:
            raise forms.ValidationError(
                gettext("There is no user called '%(username)s'; an administrator creates accounts.")
                % {"username": username}
            )
        return user


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


def _membership(request: HttpRequest, slug: str, *, owner: bool = False) -> Membership:
    membership = selectors.membership_in_team(request.user, slug)
    if owner and membership.role != Role.OWNER:
        raise PermissionDenied(gettext("Only the team's owners manage its members."))
    return membership


@never_cache
def team_page(request: HttpRequest, slug: str) -> HttpResponse:
    mine = _membership(request, slug, owner=request.method == "POST")
    team = mine.team
    form = MemberAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.cleaned_data["username"]
        if team.memberships.filter(user=user).exists():
            form.add_error(
                "username",
                gettext("%(user)s is already a member of %(team)s.")
                % {"user": user.get_username(), "team": team.name},
            )
        else:
            try:
                accounts.membership_set(
                    team=team, user=user, role=form.cleaned_data["role"], actor=Actor.from_request(request)
                )
            except ComponentError as error:
                add_service_errors(form, error, aliases={"user": "username"})
            else:
                messages.success(
                    request,
                    gettext("%(user)s is now a member of %(team)s.")
                    % {"user": user.get_username(), "team": team.name},
                )
                return redirect("team", slug=team.slug)
    members = [
        (member, RoleForm(initial={"role": member.role}, prefix=f"m{member.user_id}"))
        for member in selectors.team_members(team)
    ]
    context = {
        "team": team,
        "mine": mine,
        "is_owner": mine.role == Role.OWNER,
        "members": members,
        "form": form,
    }
    return render(request, "teams/team.html", context)


@require_POST
def member_role(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    team = _membership(request, slug, owner=True).team
    member = selectors.team_member(team, user_id)
    form = RoleForm(request.POST, prefix=f"m{user_id}")
    if not form.is_valid():
        messages.error(request, gettext("Choose one of the roles: owner, developer or viewer."))
        return redirect("team", slug=team.slug)
    try:
        accounts.membership_set(
            team=team, user=member.user, role=form.cleaned_data["role"], actor=Actor.from_request(request)
        )
    except ComponentError as error:
        messages.error(request, str(error))
    else:
        sentence = ROLE_SENTENCES[form.cleaned_data["role"]]
        messages.success(request, str(sentence) % {"user": member.user.get_username(), "team": team.name})
    return redirect("team", slug=team.slug)


@never_cache
def member_remove(request: HttpRequest, slug: str, user_id: int) -> HttpResponse:
    """Ask first (GET), then remove (POST)."""
    team = _membership(request, slug, owner=True).team
    member = selectors.team_member(team, user_id)
    if request.method == "POST":
        try:
            accounts.membership_delete(membership=member, actor=Actor.from_request(request))
        except ComponentError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                gettext("%(user)s is no longer a member of %(team)s.")
                % {"user": member.user.get_username(), "team": team.name},
            )
            if member.user_id == request.user.pk:
                return redirect("apps")
        return redirect("team", slug=team.slug)
    return render(request, "teams/member_remove.html", {"team": team, "member": member})
