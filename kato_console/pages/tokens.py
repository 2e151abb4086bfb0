"""The page where a user creates and revokes their own console API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache

from components import selectors
from core import services as accounts
from core.models import ApiToken
from kato_console.web import keep_for_one_display, take_shown_once


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, required=False, label="Name", help_text="What the token is for, e.g. deploy hook."
    )


class TokenRevokeForm(forms.Form):
    token = forms.IntegerField(min_value=1, max_value=2**63 - 1)


@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; POST creates one (its key is shown once, on the page it redirects to)
    or revokes one."""
    form, new_key = TokenCreateForm(), str(take_shown_once(request, "api-token", ""))
    if request.method == "POST" and "revoke" in request.POST:
        return _revoke(request)
    if request.method == "POST":
        form = TokenCreateForm(request.POST)
        if form.is_valid():
            _, key = accounts.api_token_create(user=request.user, name=form.cleaned_data["name"])
            keep_for_one_display(request, "api-token", key)
            return redirect("api-tokens")
    context = {"form": form, "new_key": new_key, "tokens": selectors.api_tokens_for_user(request.user)}
    return render(request, "accounts/tokens.html", context)


def _revoke(request: HttpRequest) -> HttpResponse:
    form = TokenRevokeForm({"token": request.POST.get("revoke")})
    if form.is_valid():
        token = get_object_or_404(ApiToken, pk=form.cleaned_data["token"], user=request.user)
        accounts.api_token_revoke(token=token)
        messages.success(request, f"The token {token.prefix}… is revoked; it no longer works.")
    return redirect("api-tokens")
