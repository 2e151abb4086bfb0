"""The page where a user creates and revokes their own console API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.views.decorators.cache import never_cache

from components import selectors
from core import services as accounts
from core.models import ApiToken


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, label="Name", help_text="What the token is for, e.g. deploy hook."
    )


class TokenRevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1, max_value=2**63 - 1)


@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one (its key is shown once, on this answer) or revokes one."""
    form, new_key = TokenCreateForm(), ""
    if request.method == "POST" and "revoke" in request.POST:
        return _revoke(request)
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            _, new_key = accounts.api_token_create(user=request.user, name=form.cleaned_data["name"])
            form = TokenCreateForm()
    context = {"form": form, "new_key": new_key, "tokens": selectors.api_tokens_for_user(request.user)}
    return render(request, "accounts/tokens.html", context)


def _revoke(request: HttpRequest) -> HttpResponse:
    form = TokenRevokeForm({"token": request.POST.get("revoke")})
    if form.is_valid():
        token = get_object_or_404(ApiToken, pk=form.cleaned_data["token"], user=request.user)
        accounts.api_token_revoke(token=token)
        messages.success(
            request,
            gettext("The token %(prefix)s… is revoked; it no longer works.") % {"prefix": token.prefix},
        )
    return redirect("api-tokens")
