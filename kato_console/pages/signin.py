"""The login and sign-out pages, and the two OpenID Connect addresses (the start of a sign-in with
the provider, and its callback) from mozilla-django-oidc (README, "Signing in with company accounts")."""

from __future__ import annotations

import logging
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from mozilla_django_oidc import views as oidc_views

from kato_console.signin import oidc_configured, oidc_setting, provider_logout_url

logger = logging.getLogger(__name__)


class LoginView(auth_views.LoginView):
    """The local (and LDAP) user name and password form, with "Sign in with <provider>" beside it
    when OpenID Connect is configured."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        if oidc_configured():
            context["oidc_provider_name"] = settings.KATO_OIDC_PROVIDER_NAME
        context["signin_failed"] = self.request.GET.get("signin") == "failed"
        return context


class SignOutView(auth_views.LogoutView):
    """Ends the console's session; a user who signed in with OpenID Connect then goes to the
    provider's end-session endpoint, which sends them back to the login page."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        provider = provider_logout_url(request)
        response = super().post(request, *args, **kwargs)
        return HttpResponseRedirect(provider) if provider else response


class _OidcStart(oidc_views.OIDCAuthenticationRequestView):
    get_settings = staticmethod(oidc_setting)


class _OidcCallback(oidc_views.OIDCAuthenticationCallbackView):
    get_settings = staticmethod(oidc_setting)


_start = _OidcStart.as_view()
_callback = _OidcCallback.as_view()


@login_not_required
def oidc_start(request: HttpRequest) -> HttpResponse:
    """Sends the browser to the provider with a fresh state, nonce and PKCE challenge (kept in the session)."""
    if not oidc_configured():
        raise Http404("OpenID Connect is not configured.")
    try:
        response: HttpResponse = _start(request)
    except (requests.RequestException, ValueError, ImproperlyConfigured) as error:
        # The provider's discovery document could not be read: the login page says so.
        logger.warning("OpenID Connect sign-in could not start (%s)", type(error).__name__)
        return HttpResponseRedirect(f"{resolve_url(settings.LOGIN_URL)}?signin=failed")
    return response


@login_not_required
def oidc_callback(request: HttpRequest) -> HttpResponse:
    """The provider sends the browser back here with a code: state, token, nonce and PKCE checked."""
    if not oidc_configured():
        raise Http404("OpenID Connect is not configured.")
    response: HttpResponse = _callback(request)
    return response
