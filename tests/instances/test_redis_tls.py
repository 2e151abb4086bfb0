"""Redis over TLS: a ``rediss://`` instance address, as ``https://`` is for HTTP (README, "Redis over TLS").

A real redis-server that speaks only TLS (a certificate from a throwaway trustme CA) and one that
speaks plain, both wanting a password. What they were sent is read from the servers themselves
(``INFO commandstats``, counted from a reset on a connection of the test's own).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
import trustme
from django.urls import reverse

from components.models import Application, Component, Registration
from core.audit import Actor
from instances.addresses import AddressError, parse_address
from instances.connectivity import probe_kind_for
from instances.models import Health, Instance, Source
from instances.probes.redis import GREETING_ONLY_IN_CLEAR
from instances.services import check_kind_for
from tests.api.conftest import token_client
from tests.instances.sweeping import fresh, sweep_rounds
from tests.instances.test_probe_credentials import SECRET, credentialed_component, owner_of_the_team
from tests.support import require_redis_server_with_tls

pytestmark = pytest.mark.django_db


@dataclass
class RedisServer:
    """A running redis-server, and a connection of the test's own that reads what it was sent."""

    port: int
    watcher: redis.Redis

    def forget(self) -> None:
        """From now on the counts are the probes' alone (the watcher's own login came before)."""
        self.watcher.config_resetstat()

    def calls(self, command: str) -> int:
        """How many times ``command`` was sent, run or refused (NOAUTH before a login)."""
        stats = self.watcher.info("commandstats").get(f"cmdstat_{command}", {})
        return sum(int(stats.get(kind, 0)) for kind in ("calls", "rejected_calls"))


def _free_port() -> int:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        return int(free.getsockname()[1])


@contextlib.contextmanager
def redis_server(folder: Path, *, tls: tuple[Path, Path, Path] | None) -> Iterator[RedisServer]:
    """redis-server wanting SECRET, on a port of its own: TLS only when ``tls`` (key, certificate,
    CA) is given, plain otherwise."""
    binary = require_redis_server_with_tls()
    port = _free_port()
    folder.mkdir()
    command = [binary, "--bind", "127.0.0.1", "--requirepass", SECRET, "--save", "", "--appendonly", "no"]
    command += ["--dir", str(folder)]
    if tls:
        key, certificate, _ = tls
        command += ["--port", "0", "--tls-port", str(port), "--tls-auth-clients", "no"]
        command += ["--tls-cert-file", str(certificate), "--tls-key-file", str(key)]
    else:
        command += ["--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert server.poll() is None, "redis-server did not start"
            time.sleep(0.05)
        options = {"ssl": True, "ssl_ca_certs": str(tls[2])} if tls else {}
        watcher = redis.Redis(
            host="127.0.0.1", port=port, password=SECRET, single_connection_client=True, **options
        )
        try:
            # The check logs in as APP_USER ("app") with APP_PASSWORD (SECRET).
            watcher.acl_setuser("app", enabled=True, passwords=[f"+{SECRET}"], keys=["*"], commands=["+@all"])
            yield RedisServer(port, watcher)
        finally:
            watcher.close()
    finally:
        server.terminate()
        server.wait(10)


def certificate_files(ca: trustme.CA, folder: Path) -> tuple[Path, Path, Path]:
    """(key, certificate chain, CA) files for localhost and 127.0.0.1, issued by ``ca``."""
    leaf = ca.issue_cert("localhost", "127.0.0.1")
    key, chain, authority = folder / "key.pem", folder / "chain.pem", folder / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(chain))
    ca.cert_pem.write_to_path(str(authority))
    return key, chain, authority


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """From a throwaway trustme CA."""
    return certificate_files(trustme.CA(), tmp_path_factory.mktemp("redis-tls"))


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory, certificate) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("tls") / "data", tls=certificate) as server:
        yield server


@pytest.fixture(scope="module")
def plain_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    with redis_server(tmp_path_factory.mktemp("plain") / "data", tls=None) as server:
        yield server


def tls_checked(application: Application, actor: Actor, **options: object) -> Component:
    """A credentialed Redis check; the certificate's CA is not the system's, so it is not verified
    (the check's "Verify TLS certificate" switch, as for an https instance with its own CA)."""
    return credentialed_component(
        application, actor, kind="redis", verify_tls=False, success_threshold=1, **options
    )


# --------------------------------------------------------------------------------------------
# End to end: a door, then the sweep
# --------------------------------------------------------------------------------------------


def test_a_rediss_instance_added_on_its_page_is_healthy_with_a_login_inside_tls(
    alice_client, application, alice_actor: Actor, tls_redis: RedisServer, plain_redis: RedisServer
) -> None:
    component = tls_checked(application, alice_actor, registration=Registration.STATIC)
    page = f"/components/{component.service_id}/instances/"
    for address in (f"rediss://127.0.0.1:{tls_redis.port}", f"127.0.0.1:{plain_redis.port}"):
        response = alice_client.post(page, {"address": address})
        assert response.status_code == 302, response.content
    tls_redis.forget()
    plain_redis.forget()

    sweep_rounds(1)

    encrypted = fresh(Instance.objects.get(component=component, port=tls_redis.port))
    assert (encrypted.scheme, encrypted.address) == ("rediss", f"rediss://127.0.0.1:{tls_redis.port}")
    assert encrypted.health == Health.HEALTHY, encrypted.last_error
    # This server answers PING with NOAUTH until a client logs in: the probe logged in, inside TLS.
    assert encrypted.server_info.startswith("Redis ") and "greeting only" not in encrypted.server_info
    assert tls_redis.calls("auth") == 1
    assert encrypted.cert_expires_at is not None

    plain = fresh(Instance.objects.get(component=component, port=plain_redis.port))
    assert plain.health == Health.HEALTHY, plain.last_error
    assert plain.server_info.endswith(f"({GREETING_ONLY_IN_CLEAR})")
    assert plain_redis.calls("auth") == 0  # the password never went in clear
    assert plain_redis.calls("ping") == 1

    overview = alice_client.get(f"/components/{component.service_id}/").content.decode()
    assert f"rediss://127.0.0.1:{tls_redis.port}" in overview


def test_a_rediss_instance_registered_through_the_kato_api_inside_the_networks_logs_in_over_tls(
    client, application, alice_actor: Actor, tls_redis: RedisServer
) -> None:
    owner_of_the_team(alice_actor)  # the credential networks are an owner's decision
    component = tls_checked(application, alice_actor, credential_networks=["127.0.0.0/8"])
    response = client.put(
        f"/console/third_party/{component.service_id}",
        data=json.dumps({"secret_key": component.secret_key, "ip": f"rediss://127.0.0.1:{tls_redis.port}"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    tls_redis.forget()

    sweep_rounds(1)

    instance = fresh(Instance.objects.get(component=component))
    assert (instance.source, instance.scheme) == (Source.API, "rediss")
    assert instance.health == Health.HEALTHY, instance.last_error
    assert "greeting only" not in instance.server_info
    assert tls_redis.calls("auth") == 1


def test_a_wrong_certificate_is_a_failed_tls_stage_when_the_check_verifies(
    application, alice_actor: Actor, alice_client, tls_redis: RedisServer
) -> None:
    component = credentialed_component(
        application, alice_actor, kind="redis", registration=Registration.STATIC, failure_threshold=1
    )
    response = alice_client.post(
        f"/components/{component.service_id}/instances/", {"address": f"rediss://127.0.0.1:{tls_redis.port}"}
    )
    assert response.status_code == 302, response.content
    tls_redis.forget()

    sweep_rounds(1)

    instance = fresh(Instance.objects.get(component=component))
    assert (instance.health, instance.last_stage) == (Health.UNHEALTHY, "tls")
    assert "certificate verify failed" in instance.last_error
    assert tls_redis.calls("auth") == 0


# --------------------------------------------------------------------------------------------
# The other doors store the scheme
# --------------------------------------------------------------------------------------------


def test_the_console_api_adds_a_rediss_instance_on_the_default_port(alice, static_component) -> None:
    response = token_client(alice).post(
        f"/api/v1/components/{static_component.service_id}/instances/",
        {"address": "REDISS://Cache.Example.com"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert (response.json()["address"], response.json()["port"]) == ("rediss://cache.example.com", 6379)
    assert Instance.objects.get(component=static_component).scheme == "rediss"


def test_the_admin_adds_a_rediss_instance(client, django_user_model, static_component) -> None:
    operator = django_user_model.objects.create_superuser(username="operator", password="operator-pw-1")
    client.force_login(operator)

    response = client.post(
        reverse("admin:instances_instance_add"),
        {"component": static_component.pk, "address": "rediss://10.0.0.7:6380", "is_online": "on"},
    )

    assert response.status_code == 302, response.content
    instance = Instance.objects.get(component=static_component)
    assert (instance.host, instance.port, instance.scheme) == ("10.0.0.7", 6380, "rediss")


def test_redis_addresses_parse_to_a_redis_probe_and_only_rediss_to_tls() -> None:
    assert parse_address("redis://10.0.0.7") == parse_address("redis://10.0.0.7:6379")
    assert str(parse_address("redis://10.0.0.7:6379/2")) == "redis://10.0.0.7"
    assert str(parse_address("rediss://[2001:db8::7]:6380")) == "rediss://[2001:db8::7]:6380"
    with pytest.raises(AddressError, match="must not contain a user name or password"):
        parse_address("rediss://default:secret@10.0.0.7")
    with pytest.raises(AddressError, match="rediss://"):
        parse_address("memcached://10.0.0.7")
    assert probe_kind_for(parse_address("rediss://10.0.0.7"), "tcp") == "redis"
    assert probe_kind_for(parse_address("https://10.0.0.7"), "tcp") == "http"
    addresses = [parse_address("rediss://10.0.0.7"), parse_address("redis://10.0.0.8")]
    assert check_kind_for(protocol="tcp", addresses=addresses) == "redis"
    assert check_kind_for(protocol="tcp", addresses=[*addresses, parse_address("https://a.example")]) == "tcp"
