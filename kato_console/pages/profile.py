"""The signed-in person's own page, behind their name in the top bar: their teams, a new password
(Django's form: the old one, then the new one twice, checked by the password validators), their API
tokens, and signing out their other sessions. Each post redirects (post/redirect/get)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from components import selectors
from core import services as accounts


def _user(request: HttpRequest) -> User:
    # LoginRequiredMiddleware lets only a signed-in user reach these views.
    if not isinstance(request.user, User):
        raise PermissionDenied(gettext("Sign in first."))
    return request.user


@never_cache
@sensitive_post_parameters("old_password", "new_password1", "new_password2")
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = PasswordChangeForm(user, request.POST or None)
    # Django's form puts the focus in its first field, which would make the Tab key start halfway
    # down the page, past the skip link, the top bar and the teams; the page starts at the top.
    form.fields["old_password"].widget.attrs.pop("autofocus", None)
    if request.method == "POST" and form.is_valid():
        accounts.password_change(user=user, password=form.cleaned_data["new_password1"])
        # This session stays signed in; every other one of the user's ends with the old password.
        update_session_auth_hash(request, user)
        messages.success(request, gettext("Your password is changed; your other sessions are signed out."))
        return redirect("profile")
    context = {
        "form": form,
        "tokens": selectors.api_tokens_for_user(request.user),
        "memberships": user.memberships.select_related("team").order_by("team__name"),
    }
    return render(request, "accounts/profile.html", context)


@require_POST
def sessions_end(request: HttpRequest) -> HttpResponse:
    ended = accounts.sessions_end_others(user=request.user, keep=request.session.session_key)
    if ended:
        messages.success(
            request,
            ngettext(
                "Signed out of %(count)d other session.", "Signed out of %(count)d other sessions.", ended
            )
            % {"count": ended},
        )
    else:
        messages.info(request, gettext("You had no other session open."))
    return redirect("profile")
