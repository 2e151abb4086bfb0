"""LDAP sign-in (django-auth-ldap) against a real slapd over StartTLS: users made at their first
sign-in, teams from their groups at every sign-in, local accounts kept local, the audit trail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from core import services as accounts
from core.models import AuditEvent, Membership, Role
from kato_console.signin_settings import LDAP_BACKEND, group_teams, ldap_settings
from tests.accounts.slapd import (
    GROUPS,
    PEOPLE,
    READER_DN,
    READER_PASSWORD,
    Slapd,
    group,
    person,
    running_slapd,
)

pytestmark = pytest.mark.django_db

MAPPING = [
    {"group": "kato-developers", "team": "payments", "role": "developer"},
    {"group": f"cn=kato-owners,{GROUPS}", "team": "payments", "role": "owner", "provider": "ldap"},
    {"group": "kato-viewers", "team": "search", "role": "viewer"},
    {"group": "kato-viewers", "team": "search", "role": "owner", "provider": "oidc"},
]


@pytest.fixture(scope="module")
def slapd(tmp_path_factory) -> Iterator[Slapd]:
    entries = [
        person("ada", "ada-ldap-password", "Ada", "Lovelace"),
        person("lin", "lin-ldap-password", "Lin", "Wei"),
        person("root", "root-in-the-directory", "Not", "Admin"),
        group("kato-developers", "ada"),
        group("kato-owners", "lin"),
        group("kato-viewers", "ada", "lin"),
    ]
    with running_slapd(Path(tmp_path_factory.mktemp("slapd")), entries) as server:
        yield server


def environment(server: Slapd, **extra: str) -> dict[str, str]:
    return {
        "KATO_LDAP_SERVER_URI": server.uri,
        "KATO_LDAP_BIND_DN": READER_DN,
        "KATO_LDAP_BIND_PASSWORD": READER_PASSWORD,
        "KATO_LDAP_START_TLS": "1",
        "KATO_LDAP_CA_FILE": server.ca_file,
        "KATO_LDAP_USER_SEARCH_BASE": PEOPLE,
        "KATO_LDAP_GROUP_SEARCH_BASE": GROUPS,
        "KATO_LDAP_NAME": "Example directory",
        "KATO_GROUP_TEAMS": json.dumps(MAPPING),
        **extra,
    }


@pytest.fixture
def ldap_on(settings, slapd, team, other_team) -> Slapd:
    configure(settings, environment(slapd))
    return slapd


def configure(settings, env: dict[str, str]) -> None:
    for name, value in ldap_settings(env).items():
        setattr(settings, name, value)
    settings.KATO_GROUP_TEAMS = group_teams(env)
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, LDAP_BACKEND]


def sign_in(client: Client, username: str, password: str):
    return client.post(
        "/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR="192.0.2.7"
    )


def roles_of(username: str) -> dict[str, tuple[str, str]]:
    return {
        m.team.slug: (m.role, m.source)
        for m in Membership.objects.filter(user__username=username).select_related("team")
    }


def test_a_directory_user_signs_in_over_starttls_and_gets_the_teams_of_their_groups(ldap_on) -> None:
    client = Client()
    response = sign_in(client, "ada", "ada-ldap-password")
    assert response.status_code == 302 and response["Location"] == "/apps/"
    ada = get_user_model().objects.get(username="ada")
    assert (ada.email, ada.first_name, ada.last_name) == ("ada@example.org", "Ada", "Lovelace")
    assert not ada.has_usable_password()
    assert roles_of("ada") == {"payments": ("developer", "ldap"), "search": ("viewer", "ldap")}
    assert client.get("/apps/").status_code == 200
    signed_in = AuditEvent.objects.filter(action="account.sign_in", user=ada)
    assert {(e.team.slug, e.detail["provider"], e.detail["provider_name"]) for e in signed_in} == {
        ("payments", "ldap", "Example directory"),
        ("search", "ldap", "Example directory"),
    }
    assert {e.remote_addr for e in signed_in} == {"192.0.2.7"}
    set_events = AuditEvent.objects.filter(action="membership.set", detail__user="ada")
    assert {(e.team.slug, e.detail["role"], e.detail["source"]) for e in set_events} == {
        ("payments", "developer", "ldap"),
        ("search", "viewer", "ldap"),
    }


def test_the_highest_role_of_several_groups_wins_and_a_provider_limited_line_is_kept_to_it(ldap_on) -> None:
    assert sign_in(Client(), "lin", "lin-ldap-password").status_code == 302
    # kato-owners by its DN gives owner of payments; kato-viewers' owner line is for OpenID Connect only.
    assert roles_of("lin") == {"payments": ("owner", "ldap"), "search": ("viewer", "ldap")}


def test_leaving_a_group_takes_the_membership_away_at_the_next_sign_in_but_not_a_local_one(
    ldap_on, django_user_model
) -> None:
    assert sign_in(Client(), "ada", "ada-ldap-password").status_code == 302
    ada = django_user_model.objects.get(username="ada")
    elsewhere = accounts.team_create(name="Elsewhere")
    accounts.membership_set(team=elsewhere, user=ada, role=Role.DEVELOPER)  # given in the console
    ldap_on.modify(
        f"dn: cn=kato-viewers,{GROUPS}\nchangetype: modify\ndelete: member\nmember: uid=ada,{PEOPLE}\n"
    )
    try:
        assert sign_in(Client(), "ada", "ada-ldap-password").status_code == 302
        assert roles_of("ada") == {"payments": ("developer", "ldap"), "elsewhere": ("developer", "local")}
        removed = AuditEvent.objects.get(action="membership.delete", detail__user="ada")
        assert (removed.team.slug, removed.detail["source"], removed.user) == ("search", "ldap", ada)
    finally:
        ldap_on.modify(
            f"dn: cn=kato-viewers,{GROUPS}\nchangetype: modify\nadd: member\nmember: uid=ada,{PEOPLE}\n"
        )


def test_a_wrong_directory_password_does_not_sign_in_and_counts_towards_the_lockout(
    ldap_on, settings
) -> None:
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = sign_in(client, "ada", "wrong")
        assert "_auth_user_id" not in client.session
    assert response.status_code == 429
    assert sign_in(client, "ada", "ada-ldap-password").status_code == 429  # locked, as local logins are
    assert not get_user_model().objects.filter(username="ada").exists()


def test_the_first_administrator_stays_local_whatever_the_directory_holds(ldap_on, django_user_model) -> None:
    django_user_model.objects.create_superuser("root", password="the-local-admin-password")
    assert "_auth_user_id" not in (client := Client()).session
    sign_in(client, "root", "root-in-the-directory")
    assert "_auth_user_id" not in client.session  # the directory's "root" cannot take the account
    assert sign_in(client, "root", "the-local-admin-password").status_code == 302
    root = django_user_model.objects.get(username="root")
    assert root.has_usable_password() and root.is_superuser and roles_of("root") == {}


def test_starttls_refuses_a_server_whose_certificate_is_not_trusted(settings, slapd, team) -> None:
    # A CA file that does not sign the server's certificate: the system's store.
    configure(settings, environment(slapd, KATO_LDAP_CA_FILE="/etc/ssl/certs/ca-certificates.crt"))
    client = Client()
    sign_in(client, "ada", "ada-ldap-password")
    assert "_auth_user_id" not in client.session
    assert not get_user_model().objects.filter(username="ada").exists()


def test_without_starttls_the_server_refuses_the_bind(settings, slapd, team) -> None:
    # The test's slapd asks for TLS on every operation (security tls=1): the sign-ins above used it.
    configure(settings, environment(slapd, KATO_LDAP_START_TLS="0"))
    client = Client()
    sign_in(client, "ada", "ada-ldap-password")
    assert "_auth_user_id" not in client.session
