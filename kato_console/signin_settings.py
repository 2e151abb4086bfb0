"""Company sign-in read from the environment: LDAP (django-auth-ldap), OpenID Connect
(mozilla-django-oidc) and the mapping of their groups to teams (README, "Signing in with company
accounts").

Each builder takes the environment as a mapping and returns the Django settings it means, so that
the settings module and the tests make them the same way. Nothing here opens a connection.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import ldap
from django.core.exceptions import ImproperlyConfigured
from django_auth_ldap.config import (
    GroupOfNamesType,
    GroupOfUniqueNamesType,
    LDAPGroupType,
    LDAPSearch,
    PosixGroupType,
)

from core.groups import GroupTeam

LDAP_BACKEND = "kato_console.signin.LdapBackend"
OIDC_BACKEND = "kato_console.signin.OidcBackend"
ROLES = ("owner", "developer", "viewer")
PROVIDERS = ("ldap", "oidc")

_GROUP_TYPES: dict[str, type[LDAPGroupType]] = {
    "groupofnames": GroupOfNamesType,
    "groupofuniquenames": GroupOfUniqueNamesType,
    "posixgroup": PosixGroupType,
}
_GROUP_CLASSES = {
    "groupofnames": "groupOfNames",
    "groupofuniquenames": "groupOfUniqueNames",
    "posixgroup": "posixGroup",
}


def _str(env: Mapping[str, str], name: str, default: str = "") -> str:
    return env.get(name, default).strip()


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def _int(env: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    raw = _str(env, name)
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise ImproperlyConfigured(f"{name} must be a whole number between 1 and {maximum}; got {raw!r}.")
    return int(raw)


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...]) -> str:
    raw = _str(env, name)
    if raw and raw.partition("://")[0].lower() not in schemes:
        raise ImproperlyConfigured(
            f"{name} must be a URL starting with one of {', '.join(s + '://' for s in schemes)}; got {raw!r}."
        )
    return raw


def ldap_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """django-auth-ldap's AUTH_LDAP_* settings from KATO_LDAP_*; empty when KATO_LDAP_SERVER_URI is not set."""
    uri = _url(env, "KATO_LDAP_SERVER_URI", ("ldap", "ldaps"))
    if not uri:
        return {}
    user_base = _str(env, "KATO_LDAP_USER_SEARCH_BASE")
    if not user_base:
        raise ImproperlyConfigured("KATO_LDAP_USER_SEARCH_BASE must be set when KATO_LDAP_SERVER_URI is.")
    user_filter = _str(env, "KATO_LDAP_USER_FILTER", "(uid=%(user)s)")
    if "%(user)s" not in user_filter:
        raise ImproperlyConfigured(f"KATO_LDAP_USER_FILTER must contain %(user)s; got {user_filter!r}.")
    group_kind = _str(env, "KATO_LDAP_GROUP_TYPE", "groupOfNames").lower()
    if group_kind not in _GROUP_TYPES:
        raise ImproperlyConfigured(
            "KATO_LDAP_GROUP_TYPE must be one of groupOfNames, groupOfUniqueNames, posixGroup; "
            f"got {group_kind!r}."
        )
    timeout = _int(env, "KATO_LDAP_TIMEOUT_S", 5, maximum=120)
    options: dict[int, Any] = {
        ldap.OPT_NETWORK_TIMEOUT: timeout,
        ldap.OPT_TIMEOUT: timeout,
        ldap.OPT_REFERRALS: 0,
        ldap.OPT_X_TLS_REQUIRE_CERT: ldap.OPT_X_TLS_DEMAND,
    }
    ca_file = _str(env, "KATO_LDAP_CA_FILE")
    if ca_file:
        options[ldap.OPT_X_TLS_CACERTFILE] = ca_file
    # Last: a new TLS context for this connection, made with the options above.
    options[ldap.OPT_X_TLS_NEWCTX] = 0
    config: dict[str, Any] = {
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": _str(env, "KATO_LDAP_BIND_DN"),
        "AUTH_LDAP_BIND_PASSWORD": env.get("KATO_LDAP_BIND_PASSWORD", ""),
        "AUTH_LDAP_START_TLS": _bool(env, "KATO_LDAP_START_TLS", False),
        "AUTH_LDAP_CONNECTION_OPTIONS": options,
        "AUTH_LDAP_USER_SEARCH": LDAPSearch(user_base, ldap.SCOPE_SUBTREE, user_filter),
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_ALWAYS_UPDATE_USER": True,
        "AUTH_LDAP_CACHE_TIMEOUT": 0,
        "AUTH_LDAP_NAME": _str(env, "KATO_LDAP_NAME", "LDAP"),
    }
    group_base = _str(env, "KATO_LDAP_GROUP_SEARCH_BASE")
    if group_base:
        default_filter = f"(objectClass={_GROUP_CLASSES[group_kind]})"
        config["AUTH_LDAP_GROUP_SEARCH"] = LDAPSearch(
            group_base, ldap.SCOPE_SUBTREE, _str(env, "KATO_LDAP_GROUP_FILTER", default_filter)
        )
        config["AUTH_LDAP_GROUP_TYPE"] = _GROUP_TYPES[group_kind]()
    return config


def oidc_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """mozilla-django-oidc's OIDC_* settings from KATO_OIDC_*; empty when KATO_OIDC_CLIENT_ID is not set.

    The endpoints come from KATO_OIDC_ISSUER's discovery document (read at the first sign-in, not
    here) unless they are given one by one."""
    client_id = _str(env, "KATO_OIDC_CLIENT_ID")
    if not client_id:
        return {}
    schemes = ("https", "http")
    issuer = _url(env, "KATO_OIDC_ISSUER", schemes).rstrip("/")
    endpoints = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": _url(env, "KATO_OIDC_AUTHORIZATION_ENDPOINT", schemes),
        "OIDC_OP_TOKEN_ENDPOINT": _url(env, "KATO_OIDC_TOKEN_ENDPOINT", schemes),
        "OIDC_OP_USER_ENDPOINT": _url(env, "KATO_OIDC_USERINFO_ENDPOINT", schemes),
        "OIDC_OP_JWKS_ENDPOINT": _url(env, "KATO_OIDC_JWKS_URI", schemes),
        "KATO_OIDC_END_SESSION_ENDPOINT": _url(env, "KATO_OIDC_END_SESSION_ENDPOINT", schemes),
    }
    if not issuer and not all(value for name, value in endpoints.items() if name.startswith("OIDC_")):
        raise ImproperlyConfigured(
            "Set KATO_OIDC_ISSUER, or all of KATO_OIDC_AUTHORIZATION_ENDPOINT, KATO_OIDC_TOKEN_ENDPOINT, "
            "KATO_OIDC_USERINFO_ENDPOINT and KATO_OIDC_JWKS_URI, when KATO_OIDC_CLIENT_ID is set."
        )
    scopes = _str(env, "KATO_OIDC_SCOPES", "openid email profile")
    if "openid" not in scopes.split():
        raise ImproperlyConfigured(f"KATO_OIDC_SCOPES must include openid; got {scopes!r}.")
    config: dict[str, Any] = {
        "KATO_OIDC_ISSUER": issuer,
        "KATO_OIDC_PROVIDER_NAME": _str(env, "KATO_OIDC_PROVIDER_NAME", "single sign-on"),
        "KATO_OIDC_GROUPS_CLAIM": _str(env, "KATO_OIDC_GROUPS_CLAIM", "groups"),
        "KATO_OIDC_USERNAME_CLAIM": _str(env, "KATO_OIDC_USERNAME_CLAIM", "preferred_username"),
        "OIDC_RP_CLIENT_ID": client_id,
        "OIDC_RP_CLIENT_SECRET": env.get("KATO_OIDC_CLIENT_SECRET", ""),
        "OIDC_RP_SIGN_ALGO": _str(env, "KATO_OIDC_SIGN_ALGO", "RS256"),
        "OIDC_RP_SCOPES": scopes,
        "OIDC_USE_PKCE": True,
        "OIDC_USE_NONCE": True,
        "OIDC_TIMEOUT": _int(env, "KATO_OIDC_TIMEOUT_S", 10, maximum=120),
        "OIDC_CREATE_USER": True,
        "OIDC_REDIRECT_ALLOWED_HOSTS": [],
        "LOGIN_REDIRECT_URL_FAILURE": "/accounts/login/?signin=failed",
        "KATO_OIDC_END_SESSION": _bool(env, "KATO_OIDC_END_SESSION", True),
    }
    config.update({name: value for name, value in endpoints.items() if value})
    # Sign-out is a form posted to the console that ends at the provider's end-session endpoint:
    # the Content-Security-Policy's form-action must allow the provider's origin for that redirect.
    config["KATO_OIDC_ORIGINS"] = sorted(
        {_origin(url) for url in (issuer, endpoints["KATO_OIDC_END_SESSION_ENDPOINT"]) if url}
    )
    return config


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def with_form_action(policy: dict[str, Any], origins: list[str]) -> dict[str, Any]:
    """The Content-Security-Policy with ``origins`` added to form-action."""
    directives = dict(policy["DIRECTIVES"])
    directives["form-action"] = [*directives["form-action"], *origins]
    return {**policy, "DIRECTIVES": directives}


def group_teams(env: Mapping[str, str]) -> list[GroupTeam]:
    """KATO_GROUP_TEAMS: a JSON list of {"group", "team", "role", "provider"?} objects."""
    raw = _str(env, "KATO_GROUP_TEAMS")
    if not raw:
        return []
    example = '[{"group": "kato-developers", "team": "payments", "role": "developer"}]'
    try:
        lines = json.loads(raw)
    except ValueError:
        raise ImproperlyConfigured(f"KATO_GROUP_TEAMS must be a JSON list such as {example}.") from None
    if not isinstance(lines, list):
        raise ImproperlyConfigured(f"KATO_GROUP_TEAMS must be a JSON list such as {example}.")
    mapping = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, dict) or not all(
            isinstance(line.get(k), str) and line[k] for k in ("group", "team", "role")
        ):
            raise ImproperlyConfigured(
                f"KATO_GROUP_TEAMS item {number} needs group, team and role; see {example}."
            )
        if line["role"] not in ROLES:
            raise ImproperlyConfigured(
                f"KATO_GROUP_TEAMS item {number}: role must be one of {', '.join(ROLES)}."
            )
        provider = line.get("provider", "")
        if provider not in ("", *PROVIDERS):
            raise ImproperlyConfigured(f"KATO_GROUP_TEAMS item {number}: provider must be ldap or oidc.")
        mapping.append(
            GroupTeam(group=line["group"], team=line["team"], role=line["role"], provider=provider)
        )
    return mapping
