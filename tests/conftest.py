"""Shared fixtures: teams and people, components of each kind, and real loopback listeners."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator

import pytest

from components import services
from components.models import Application, Component, ComponentKind, Registration
from core import services as accounts
from core.audit import Actor
from core.models import Role, Team
from instances import services as instance_services


class _LogCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.where: list[str] = []  # the logger and the test of each line, to say where a leak was

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # a record whose arguments do not format is still looked at
            text = f"{record.msg!r} {record.args!r}"
        if record.exc_info:
            text += logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)
        self.where.append(f"logger {record.name} in {os.environ.get('PYTEST_CURRENT_TEST', '?')}")


# Each secret the suite created, with where it was made (never the secret itself in a report).
_SECRETS_SEEN: dict[str, str] = {}
# While a fuzzer writes (schemathesis), "secret" values are random short strings that may stand
# in any log line by chance (a digit run, an address): they are not remembered.
_FUZZING = {"on": False}


@pytest.fixture
def fuzzed_values_are_not_secrets() -> Iterator[None]:
    _FUZZING["on"] = True
    yield
    _FUZZING["on"] = False


def _remember_secrets(sender: type, instance: object, **kwargs: object) -> None:
    if _FUZZING["on"]:
        return
    for value in (
        getattr(instance, "secret_key", ""),
        getattr(instance, "value", "") if getattr(instance, "secret", False) else "",
    ):
        if isinstance(value, str) and len(value) >= 6:
            made = f"{sender.__name__} {getattr(instance, 'name', '')} in {os.environ.get('PYTEST_CURRENT_TEST', '?')}"
            _SECRETS_SEEN.setdefault(value, made)


@pytest.fixture(scope="session", autouse=True)
def _no_secret_in_logs() -> Iterator[None]:
    """Every log line written during the whole suite is checked, at the end, for every API secret key
    and secret variable value the suite created: none may appear."""
    from django.db.models.signals import post_save

    from components.models import Component, EnvVar

    collector = _LogCollector()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    post_save.connect(_remember_secrets, sender=Component, dispatch_uid="kato-tests-secrets-c")
    post_save.connect(_remember_secrets, sender=EnvVar, dispatch_uid="kato-tests-secrets-e")
    yield
    root.removeHandler(collector)
    root.setLevel(old_level)
    leaked = sorted(
        f"{secret[:4]}… ({made}) seen by {collector.where[index]}"
        for secret, made in _SECRETS_SEEN.items()
        for index in [next((i for i, line in enumerate(collector.lines) if secret in line), -1)]
        if index >= 0
    )
    assert not leaked, f"{len(leaked)} secret(s) appeared in log output: {leaked}"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Give each test run its own PostgreSQL test database, so that runs side by side (a developer's
    and CI's, say) never drop each other's database."""
    from django.conf import settings

    for alias in settings.DATABASES.values():
        alias.setdefault("TEST", {})["NAME"] = f"test_{alias['NAME']}_{os.getpid()}"


@pytest.fixture(autouse=True)
def _language_left_as_found() -> Iterator[None]:
    """A request in Chinese leaves Chinese active in the thread (LocaleMiddleware activates a request's
    language and nothing deactivates it): the tests that follow read English."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    # The production hasher is slow on purpose; tests only need passwords to round-trip.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _routing_off_unless_marked(request, settings) -> None:
    # The suite was written for the variables without the gateway (what KATO_GATEWAY=0 gives); the
    # tests of the gateway itself (tests/gateway/, marked ``gateway``) turn routing on.
    if request.node.get_closest_marker("gateway") is None:
        settings.KATO_GATEWAY = False


@pytest.fixture
def team(db) -> Team:
    return accounts.team_create(name="Payments")


@pytest.fixture
def other_team(db) -> Team:
    return accounts.team_create(name="Search")


@pytest.fixture
def alice(django_user_model, team):
    user = django_user_model.objects.create_user(username="alice", password="alice-password-1")
    accounts.membership_set(team=team, user=user, role=Role.DEVELOPER)
    return user


@pytest.fixture
def victor_the_viewer(django_user_model, team):
    user = django_user_model.objects.create_user(username="victor", password="victor-password-1")
    accounts.membership_set(team=team, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def bob_from_another_team(django_user_model, other_team):
    user = django_user_model.objects.create_user(username="bob", password="bob-password-1")
    accounts.membership_set(team=other_team, user=user, role=Role.OWNER)
    return user


@pytest.fixture
def alice_actor(alice) -> Actor:
    return Actor.for_user(alice, "127.0.0.1")


@pytest.fixture
def application(team, alice_actor) -> Application:
    return services.application_create(team=team, name="Shop", actor=alice_actor)


@pytest.fixture
def static_component(application, alice_actor) -> Component:
    return instance_services.component_create(
        application=application, name="mysql", actor=alice_actor, registration=Registration.STATIC
    )


@pytest.fixture
def api_component(application, alice_actor) -> Component:
    return instance_services.component_create(
        application=application, name="legacy-api", actor=alice_actor, registration=Registration.API
    )


@pytest.fixture
def internal_component(application, alice_actor) -> Component:
    return instance_services.component_create(
        application=application,
        name="phpmyadmin",
        actor=alice_actor,
        kind=ComponentKind.INTERNAL,
        image="phpmyadmin:5",
    )


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def postgres_database(db) -> None:
    """For tests whose point is PostgreSQL's behaviour (row locks, concurrency): the name says so;
    every test database is PostgreSQL."""


@pytest.fixture
def tcp_listener() -> Iterator[tuple[str, int]]:
    """A TCP server on 127.0.0.1 that accepts connections and closes them."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    stop.set()
    thread.join(timeout=2)
    server.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's synchronous API keeps an event loop running in the
    main thread for as long as the browser is open, which code under test that starts its own
    loop (the probes) must not meet."""
    items.sort(key=lambda item: "/tests/browser/" in str(item.path))


@pytest.fixture
def dns_names(monkeypatch) -> dict[str, list[str]]:
    """Names the test controls: ``dns_names["db.kato.test"] = ["127.0.0.1", "127.0.0.2"]`` makes the
    name resolve to those addresses (in every thread of this process: the probes', the gateway's),
    and changing the list changes the record. Other names resolve as usual; no /etc/hosts edit."""
    names: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(host, str) and host in names:
            if not names[host]:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [
                (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (ip, int(port or 0)))
                for ip in names[host]
            ]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return names
