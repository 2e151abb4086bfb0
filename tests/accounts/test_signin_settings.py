"""The company sign-in settings read from the environment: what each KATO_* variable becomes, and a
start-up refusal that names the variable for a value that cannot work."""

from __future__ import annotations

import ldap
import pytest
from django.core.exceptions import ImproperlyConfigured

from core.groups import GroupTeam
from kato_console.signin_settings import group_teams, ldap_settings, oidc_settings, with_form_action


def test_nothing_is_configured_without_the_server_or_the_client_id() -> None:
    assert ldap_settings({}) == {} and oidc_settings({}) == {} and group_teams({}) == []


def test_ldap_settings_with_starttls_and_groups() -> None:
    config = ldap_settings(
        {
            "KATO_LDAP_SERVER_URI": "ldap://ldap.example.com",
            "KATO_LDAP_START_TLS": "yes",
            "KATO_LDAP_CA_FILE": "/etc/ssl/company-ca.pem",
            "KATO_LDAP_USER_SEARCH_BASE": "ou=people,dc=example,dc=com",
            "KATO_LDAP_USER_FILTER": "(sAMAccountName=%(user)s)",
            "KATO_LDAP_GROUP_SEARCH_BASE": "ou=groups,dc=example,dc=com",
            "KATO_LDAP_GROUP_TYPE": "posixGroup",
        }
    )
    assert config["AUTH_LDAP_START_TLS"] is True
    assert config["AUTH_LDAP_USER_SEARCH"].filterstr == "(sAMAccountName=%(user)s)"
    assert config["AUTH_LDAP_GROUP_SEARCH"].filterstr == "(objectClass=posixGroup)"
    options = config["AUTH_LDAP_CONNECTION_OPTIONS"]
    assert options[ldap.OPT_X_TLS_CACERTFILE] == "/etc/ssl/company-ca.pem"
    assert options[ldap.OPT_X_TLS_REQUIRE_CERT] == ldap.OPT_X_TLS_DEMAND
    assert list(options)[-1] == ldap.OPT_X_TLS_NEWCTX  # the new TLS context is made last


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KATO_LDAP_SERVER_URI": "http://ldap.example.com"}, "KATO_LDAP_SERVER_URI"),
        ({"KATO_LDAP_SERVER_URI": "ldap://l"}, "KATO_LDAP_USER_SEARCH_BASE"),
        (
            {
                "KATO_LDAP_SERVER_URI": "ldap://l",
                "KATO_LDAP_USER_SEARCH_BASE": "o=x",
                "KATO_LDAP_USER_FILTER": "(uid=x)",
            },
            "KATO_LDAP_USER_FILTER",
        ),
        (
            {
                "KATO_LDAP_SERVER_URI": "ldap://l",
                "KATO_LDAP_USER_SEARCH_BASE": "o=x",
                "KATO_LDAP_START_TLS": "maybe",
            },
            "KATO_LDAP_START_TLS",
        ),
        ({"KATO_OIDC_CLIENT_ID": "kato"}, "KATO_OIDC_ISSUER"),
        (
            {"KATO_OIDC_CLIENT_ID": "kato", "KATO_OIDC_ISSUER": "https://sso", "KATO_OIDC_SCOPES": "email"},
            "KATO_OIDC_SCOPES",
        ),
        ({"KATO_GROUP_TEAMS": "{not json"}, "KATO_GROUP_TEAMS"),
        ({"KATO_GROUP_TEAMS": '[{"group": "g", "team": "t", "role": "admin"}]'}, "KATO_GROUP_TEAMS"),
        (
            {"KATO_GROUP_TEAMS": '[{"group": "g", "team": "t", "role": "viewer", "provider": "saml"}]'},
            "KATO_GROUP_TEAMS",
        ),
    ],
)
def test_a_value_that_cannot_work_stops_start_up_naming_the_variable(env, named) -> None:
    builder = (
        group_teams
        if "KATO_GROUP_TEAMS" in env
        else oidc_settings
        if "KATO_OIDC_CLIENT_ID" in env
        else ldap_settings
    )
    with pytest.raises(ImproperlyConfigured, match=named):
        builder(env)


def test_oidc_from_an_issuer_allows_its_origin_as_a_form_action() -> None:
    config = oidc_settings(
        {
            "KATO_OIDC_CLIENT_ID": "kato-console",
            "KATO_OIDC_ISSUER": "https://sso.example.com/realms/company/",
            "KATO_OIDC_PROVIDER_NAME": "Company SSO",
        }
    )
    assert config["KATO_OIDC_ISSUER"] == "https://sso.example.com/realms/company"
    assert config["OIDC_USE_PKCE"] is True and config["OIDC_RP_SCOPES"] == "openid email profile"
    assert "OIDC_OP_TOKEN_ENDPOINT" not in config  # read from the discovery document at sign-in
    policy = with_form_action({"DIRECTIVES": {"form-action": ["'self'"]}}, config["KATO_OIDC_ORIGINS"])
    assert policy["DIRECTIVES"]["form-action"] == ["'self'", "https://sso.example.com"]


def test_the_group_mapping() -> None:
    mapping = group_teams(
        {
            "KATO_GROUP_TEAMS": '[{"group": "Devs", "team": "payments", "role": "developer", "provider": "oidc"}]'
        }
    )
    assert mapping == [GroupTeam(group="Devs", team="payments", role="developer", provider="oidc")]
    assert mapping[0].matches("oidc", {"devs"}) and not mapping[0].matches("ldap", {"devs"})
