"""The page where a user creates and revokes their own console API tokens.

Post/redirect/get: a created token's key is kept for the one display that follows the redirect,
so a reload neither creates another token nor shows the key again; revoking asks first (a page of
its own, which works without JavaScript).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from components import selectors
from core import services as accounts
from core.errors import ComponentError
from core.models import ApiToken
from kato_console.public_url import public_url
from kato_console.web import add_service_errors, keep_for_one_display, take_shown_once

_KEPT = "created-token"


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label=_("Name"),
        help_text=_("What the token is for, e.g. deploy hook; each of your tokens has its own name."),
        error_messages={"required": _("Give the token a name that says what it is for, e.g. deploy hook.")},
    )


def _token(request: HttpRequest, pk: int) -> ApiToken:
    return get_object_or_404(ApiToken, pk=pk, user_id=request.user.pk)


@never_cache
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one, whose key the next display shows once."""
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            token, key = accounts.api_token_create(user=request.user, name=form.cleaned_data["name"])
        except ComponentError as error:
            add_service_errors(form, error)
        else:
            keep_for_one_display(request, _KEPT, {"id": token.pk, "key": key})
            return redirect("api-tokens")
    new = take_shown_once(request, _KEPT) if request.method == "GET" else None
    tokens = selectors.api_tokens_for_user(request.user)
    shown = isinstance(new, dict) and isinstance(new.get("id"), int) and tokens.filter(pk=new["id"]).exists()
    context = {
        "form": form,
        "tokens": tokens,
        "new_key": new["key"] if shown and isinstance(new, dict) else "",
        "api_base": public_url(request, "/api/v1/"),
    }
    return render(request, "accounts/tokens.html", context)


@never_cache
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Ask first (GET), then revoke (POST): requests that present the token are refused from then on."""
    token = _token(request, pk)
    if request.method == "POST":
        accounts.api_token_revoke(token=token)
        messages.success(
            request,
            gettext("The token %(token)s is revoked; it no longer works.")
            % {"token": token.name or token.prefix},
        )
        return redirect("api-tokens")
    return render(request, "accounts/token_revoke.html", {"token": token})
