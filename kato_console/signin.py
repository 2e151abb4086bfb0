"""Company sign-in: the LDAP and OpenID Connect authentication backends (README, "Signing in with
company accounts").

Both only ever sign in accounts of their own: a user name that belongs to a local account (one
with a password of the console's, such as the first administrator made by ``bootstrap_admin``) is
refused, so a directory entry of the same name cannot take it over. After the directory or the
provider said yes, ``core.services.external_sign_in`` brings the user's teams in line with the
groups (KATO_GROUP_TEAMS) and writes the sign-in to the audit trail with the provider's name.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.http import HttpRequest
from django.shortcuts import resolve_url
from django_auth_ldap.backend import LDAPBackend
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.utils import import_from_settings

from core.audit import Actor
from core.services import external_sign_in

logger = logging.getLogger(__name__)

# mozilla-django-oidc's setting → the discovery document's key.
_DISCOVERED = {
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "authorization_endpoint",
    "OIDC_OP_TOKEN_ENDPOINT": "token_endpoint",
    "OIDC_OP_USER_ENDPOINT": "userinfo_endpoint",
    "OIDC_OP_JWKS_ENDPOINT": "jwks_uri",
    "KATO_OIDC_END_SESSION_ENDPOINT": "end_session_endpoint",
}
_discovery: dict[str, dict[str, Any]] = {}
_discovery_lock = threading.Lock()


def is_local_account(username: str) -> bool:
    """A user of that name exists with a password of the console's own."""
    user = get_user_model().objects.filter(username=username).first()
    return user is not None and user.has_usable_password()


def _client_address(request: HttpRequest | None) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def discovery_document(issuer: str) -> dict[str, Any]:
    """The provider's /.well-known/openid-configuration, read once per process; its issuer must
    be the one configured."""
    with _discovery_lock:
        if issuer in _discovery:
            return _discovery[issuer]
    url = f"{issuer}/.well-known/openid-configuration"
    response = requests.get(url, timeout=import_from_settings("OIDC_TIMEOUT", 10))
    response.raise_for_status()
    document = response.json()
    if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
        raise ImproperlyConfigured(f"The discovery document at {url} does not name the issuer {issuer}.")
    with _discovery_lock:
        _discovery[issuer] = document
    return document


def oidc_setting(attr: str, *args: Any) -> Any:
    """A mozilla-django-oidc setting; an endpoint not configured comes from KATO_OIDC_ISSUER's
    discovery document."""
    value = getattr(settings, attr, None)
    if value:
        return value
    issuer = getattr(settings, "KATO_OIDC_ISSUER", "")
    if attr in _DISCOVERED and issuer:
        found = discovery_document(issuer).get(_DISCOVERED[attr])
        if found or args:
            return found or args[0]
    return import_from_settings(attr, *args)


def oidc_configured() -> bool:
    return bool(getattr(settings, "OIDC_RP_CLIENT_ID", ""))


def configured_oidc_setting(attr: str, *args: Any) -> Any:
    """As ``oidc_setting`` but without the discovery document: an endpoint not configured is "".
    The backend is made for every password login too; it must not reach the provider then."""
    if attr in _DISCOVERED:
        return getattr(settings, attr, "") or ""
    return import_from_settings(attr, *args)


def provider_logout_url(request: HttpRequest) -> str:
    """Where sign-out sends a user who signed in with OpenID Connect, read before the session ends:
    the provider's end-session endpoint, which then sends them back to the login page; "" for
    everyone else, or when the provider has none (KATO_OIDC_END_SESSION=0 also says so)."""
    if not oidc_configured() or request.session.get("kato_signed_in_with") != "oidc":
        return ""
    if not getattr(settings, "KATO_OIDC_END_SESSION", True):
        return ""
    endpoint = oidc_setting("KATO_OIDC_END_SESSION_ENDPOINT", "")
    if not endpoint:
        return ""
    login = request.build_absolute_uri(resolve_url(settings.LOGIN_URL))
    query = urlencode({"client_id": settings.OIDC_RP_CLIENT_ID, "post_logout_redirect_uri": login})
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}"


class LdapBackend(LDAPBackend):
    """django-auth-ldap's backend (AUTH_LDAP_* settings), for directory accounts only."""

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> Any:
        if not username or not password or is_local_account(username.strip()):
            return None
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            return None
        if user.has_usable_password():  # a local account made between the check and now
            return None
        ldap_user = user.ldap_user
        groups = set(ldap_user.group_names) | set(ldap_user.group_dns)
        external_sign_in(
            user=user,
            provider="ldap",
            provider_name=getattr(settings, "AUTH_LDAP_NAME", "LDAP"),
            groups=groups,
            mapping=settings.KATO_GROUP_TEAMS,
            actor=Actor.for_user(user, _client_address(request)),
        )
        if request is not None and hasattr(request, "session"):
            request.session["kato_signed_in_with"] = "ldap"
        return user

    def get_or_build_user(self, username: str, ldap_user: Any) -> tuple[Any, bool]:
        user, built = super().get_or_build_user(username, ldap_user)
        if built:
            user.set_unusable_password()
        return user, built


class OidcBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend: the authorization code flow with PKCE, state and nonce; the
    user is found (or made, at the first sign-in) by KATO_OIDC_USERNAME_CLAIM, never by e-mail."""

    get_settings = staticmethod(configured_oidc_setting)

    def _discover_endpoints(self) -> None:
        """The endpoints that KATO_OIDC_ISSUER's discovery document gives, read only when a
        callback from the provider is being handled."""
        for attr, name in (
            ("OIDC_OP_TOKEN_ENDPOINT", "OIDC_OP_TOKEN_ENDPOINT"),
            ("OIDC_OP_USER_ENDPOINT", "OIDC_OP_USER_ENDPOINT"),
            ("OIDC_OP_JWKS_ENDPOINT", "OIDC_OP_JWKS_ENDPOINT"),
        ):
            if not getattr(self, attr, ""):
                setattr(self, attr, oidc_setting(name))

    def _username(self, claims: dict[str, Any]) -> str:
        value = claims.get(settings.KATO_OIDC_USERNAME_CLAIM) or claims.get("sub") or ""
        return str(value).strip()[:150]

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        self._claims = claims
        return bool(self._username(claims))

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is not meant for this console.")
        issuer = getattr(settings, "KATO_OIDC_ISSUER", "")
        if issuer and str(payload.get("iss", "")).rstrip("/") != issuer:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        return payload

    def retrieve_matching_jwk(self, token: str) -> Any:
        """The provider's signing key for the ID token: by its ``kid``, or, for a token without one
        (the header's kid is optional), the provider's only signing key for its algorithm."""
        header = jwt.get_unverified_header(token)
        if "kid" in header:
            return super().retrieve_matching_jwk(token)
        response = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=self.get_settings("OIDC_TIMEOUT", 10))
        response.raise_for_status()
        keys = [
            key
            for key in response.json().get("keys", [])
            if key.get("use", "sig") == "sig" and key.get("alg", header.get("alg")) == header.get("alg")
        ]
        if len(keys) != 1:
            raise SuspiciousOperation(
                "The ID token names no key, and the provider has no single signing key."
            )
        return jwt.PyJWK(keys[0])

    def filter_users_by_claims(self, claims: dict[str, Any]) -> Any:
        return self.UserModel.objects.filter(username=self._username(claims))

    def create_user(self, claims: dict[str, Any]) -> Any:
        user = self.UserModel.objects.create_user(self._username(claims), email=claims.get("email") or "")
        return self.update_user(user, claims)

    def update_user(self, user: Any, claims: dict[str, Any]) -> Any:
        if user.has_usable_password():
            raise SuspiciousOperation("A local account of that name exists; it signs in with its password.")
        user.email = str(claims.get("email") or user.email)[:254]
        user.first_name = str(claims.get("given_name") or user.first_name)[:150]
        user.last_name = str(claims.get("family_name") or user.last_name)[:150]
        user.save(update_fields=["email", "first_name", "last_name"])
        return user

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> Any:
        if request is None or not request.GET.get("code") or not request.GET.get("state"):
            return None  # not a callback from the provider: a password login, say
        try:
            self._discover_endpoints()
            user = super().authenticate(request, **kwargs)
        except (requests.RequestException, ValueError, ImproperlyConfigured) as error:
            logger.warning(
                "OpenID Connect sign-in failed: the provider did not answer as expected (%s)",
                type(error).__name__,
            )
            return None
        if user is None:
            return None
        groups = self._claims.get(settings.KATO_OIDC_GROUPS_CLAIM) or []
        if isinstance(groups, str):
            groups = [groups]
        external_sign_in(
            user=user,
            provider="oidc",
            provider_name=settings.KATO_OIDC_PROVIDER_NAME,
            groups=[str(group) for group in groups if isinstance(group, str | int)],
            mapping=settings.KATO_GROUP_TEAMS,
            actor=Actor.for_user(user, _client_address(request)),
        )
        request.session["kato_signed_in_with"] = "oidc"
        return user
