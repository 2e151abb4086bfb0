"""The connectivity probes against real loopback servers, hostile ones, and the real services."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from instances import probes
from instances.probes import ProbeResult, ProbeTarget, is_denied, probe_many, probe_sync
from tests.instances import probe_servers
from tests.instances.probe_servers import (
    FakeMySQL,
    FakePostgres,
    Handler,
    LoopbackServer,
    RsaKey,
    Serve,
    answer_and_hold,
    blocked_host_greeting,
    close_at_once,
    closed_port,
    http_response,
    make_rsa_key,
    make_self_signed_certificate,
    never_answer,
    reset_connection,
    send_and_hold,
    tls_server_context,
)
from tests.support import mysql_as_root, require_redis_server_with_tls, require_service

# What KATO_DENIED_NETWORKS holds by default: link-local (with the cloud metadata address),
# unspecified, multicast.
DEFAULT_DENIED = [
    ipaddress.ip_network(network)
    for network in ("169.254.0.0/16", "0.0.0.0/8", "224.0.0.0/4", "fe80::/10", "::/128", "ff00::/8")
]

serve = probe_servers.serve


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> RsaKey:
    return make_rsa_key(tmp_path_factory.mktemp("rsa"))


def target_for(server: LoopbackServer, kind: str = "tcp", **options: object) -> ProbeTarget:
    return ProbeTarget(kind=kind, host=server.host, port=server.port, **options)  # type: ignore[arg-type]


def assert_failed(result: ProbeResult, stage: str, error_part: str = "") -> None:
    assert not result.ok, result
    assert result.stage == stage, result
    assert error_part in result.error, result


# --------------------------------------------------------------------------------------------
# tcp
# --------------------------------------------------------------------------------------------


def test_it_reports_an_open_port_as_reachable(serve: Serve) -> None:
    server = serve(close_at_once)

    result = probe_sync(target_for(server))

    assert result.ok and result.stage == "" and result.error == ""
    assert result.address == "127.0.0.1"
    assert result.latency_ms is not None and 0 < result.latency_ms < 1000
    assert server.wait_for_connections(1) == 1


def test_it_reports_a_closed_port_as_connection_refused() -> None:
    result = probe_sync(ProbeTarget(kind="tcp", host="127.0.0.1", port=closed_port()))

    assert_failed(result, "connect", "connection refused")
    assert result.error == "connection refused"
    assert result.address == "127.0.0.1"


# --------------------------------------------------------------------------------------------
# http
# --------------------------------------------------------------------------------------------


def test_it_reports_http_200_and_asks_for_the_path_with_the_right_host(serve: Serve) -> None:
    server = serve(http_response(200, "OK"))

    result = probe_sync(target_for(server, "http", path="/health?deep=1"))

    assert result.ok and result.server_info == "HTTP 200"
    [client] = server.wait_for_clients(1)
    assert client.notes["request_line"] == "GET /health?deep=1 HTTP/1.1"
    headers = client.notes["headers"]
    assert headers["host"] == f"127.0.0.1:{server.port}"  # type: ignore[index]
    assert headers["user-agent"] == "KatoConsole-probe"  # type: ignore[index]
    assert headers["connection"] == "close"  # type: ignore[index]


def test_it_reports_a_redirect_as_success_without_following_it(serve: Serve) -> None:
    target_server = serve(http_response(200, "OK"))
    server = serve(http_response(302, "Found", {"Location": f"http://127.0.0.1:{target_server.port}/"}))

    result = probe_sync(target_for(server, "http"))

    assert result.ok and result.server_info == "HTTP 302"
    assert target_server.connection_count == 0


def test_it_reports_http_500_as_a_failed_response(serve: Serve) -> None:
    server = serve(http_response(500, "Internal Server Error"))

    result = probe_sync(target_for(server, "http"))

    assert_failed(result, "response")
    assert result.error == "HTTP 500" and result.server_info == "HTTP 500"
    assert result.latency_ms is not None


def test_it_escapes_a_path_that_would_break_the_request_line(serve: Serve) -> None:
    server = serve(http_response(200, "OK"))

    result = probe_sync(target_for(server, "http", path="/a b\r\nX-Injected: 1"))

    assert result.ok
    [client] = server.wait_for_clients(1)
    assert client.notes["request_line"] == "GET /a%20b%0D%0AX-Injected:%201 HTTP/1.1"
    assert "x-injected" not in client.notes["headers"]  # type: ignore[operator]


def test_it_puts_brackets_around_an_ipv6_host_header(serve: Serve) -> None:
    server = serve(http_response(204, "No Content"), host="::1")

    result = probe_sync(target_for(server, "http"))

    assert result.ok and result.address == "::1"
    [client] = server.wait_for_clients(1)
    assert client.notes["headers"]["host"] == f"[::1]:{server.port}"  # type: ignore[index]


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return make_self_signed_certificate(tmp_path_factory.mktemp("tls"), "localhost")


def test_it_rejects_a_self_signed_certificate_when_verification_is_on(
    serve: Serve, self_signed: tuple[Path, Path]
) -> None:
    server = serve(http_response(200, "OK"), tls=tls_server_context(*self_signed, []))

    result = probe_sync(ProbeTarget(kind="http", host="localhost", port=server.port, tls=True))

    assert_failed(result, "tls", "certificate verify failed: self-signed certificate")


def test_it_accepts_a_self_signed_certificate_when_verification_is_off_and_sends_sni(
    serve: Serve, self_signed: tuple[Path, Path]
) -> None:
    sni_seen: list[str] = []
    server = serve(http_response(200, "OK"), tls=tls_server_context(*self_signed, sni_seen))

    result = probe_sync(
        ProbeTarget(kind="http", host="localhost", port=server.port, tls=True, verify_tls=False)
    )

    assert result.ok and result.server_info == "HTTP 200"
    assert sni_seen == ["localhost"]
    [client] = server.wait_for_clients(1)
    assert client.notes["headers"]["host"] == f"localhost:{server.port}"  # type: ignore[index]


# --------------------------------------------------------------------------------------------
# Hostile servers
# --------------------------------------------------------------------------------------------

SILENT_STAGES = [
    ("http", {}, "response", "while waiting for the response"),
    ("http", {"tls": True}, "tls", "during the TLS handshake"),
    ("mysql", {}, "greeting", "while waiting for the greeting"),
    ("postgresql", {}, "greeting", "while waiting for the greeting"),
    ("redis", {}, "greeting", "while waiting for the greeting"),
    # A password over a plain connection is never sent: the probe only waits for the greeting.
    ("redis", {"password": "s3cret"}, "greeting", "while waiting for the greeting"),
]


@pytest.mark.parametrize(("kind", "options", "stage", "doing"), SILENT_STAGES)
def test_it_gives_up_on_a_server_that_never_answers(
    serve: Serve, kind: str, options: dict[str, object], stage: str, doing: str
) -> None:
    server = serve(never_answer)

    # How soon it gives up is measured by bench/waits.py.
    result = probe_sync(target_for(server, kind, timeout_s=0.5, **options))

    assert_failed(result, stage)
    assert result.error == f"timed out after 0.5 s {doing}"


GARBAGE = [
    ("http", answer_and_hold(b"SSH-2.0-OpenSSH_9.2\r\n"), "response", "did not answer with HTTP"),
    ("mysql", send_and_hold(b"SSH-2.0-OpenSSH_9.2\r\n"), "greeting", "did not answer like MySQL"),
    ("mysql", send_and_hold(b"\x05\x00\x00\x00\x09abcd"), "greeting", "did not answer like MySQL"),
    (
        "postgresql",
        answer_and_hold(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
        "greeting",
        "did not answer like PostgreSQL",
    ),
    ("redis", answer_and_hold(b"HTTP/1.1 400 Bad Request\r\n\r\n"), "greeting", "did not answer like Redis"),
    ("redis", answer_and_hold(b"x" * 20000), "greeting", "too long"),
]


@pytest.mark.parametrize(("kind", "handler", "stage", "error_part"), GARBAGE)
def test_it_reports_garbage_at_the_stage_it_arrived(
    serve: Serve, kind: str, handler: Handler, stage: str, error_part: str
) -> None:
    server = serve(handler)

    result = probe_sync(target_for(server, kind, timeout_s=1.0))

    assert_failed(result, stage, error_part)


def test_it_refuses_a_huge_mysql_greeting(serve: Serve) -> None:
    server = serve(send_and_hold(b"\xff\xff\xff\x00" + b"\x0a" * 200_000))

    result = probe_sync(target_for(server, "mysql", timeout_s=1.0))

    assert_failed(result, "greeting", "16777215-byte packet, more than the 64 KiB a probe accepts")


@pytest.mark.parametrize(
    ("kind", "stage"),
    [("http", "response"), ("mysql", "greeting"), ("postgresql", "greeting"), ("redis", "greeting")],
)
def test_it_reports_a_connection_reset(serve: Serve, kind: str, stage: str) -> None:
    server = serve(reset_connection)

    result = probe_sync(target_for(server, kind, timeout_s=1.0))

    assert_failed(result, stage)
    # Linux reports the RST; a peer that closed first would read as an early close.
    assert result.error in ("connection reset by peer", "the server closed the connection unexpectedly")


def test_it_keeps_probing_normally_among_hostile_servers(serve: Serve) -> None:
    hostile = [
        serve(never_answer),
        serve(reset_connection),
        serve(send_and_hold(b"\xff\xff\xff\x00" + bytes(100_000))),
        serve(answer_and_hold(b"garbage\r\n")),
    ]
    healthy = serve(http_response(200, "OK"))
    targets = [
        target_for(server, kind, timeout_s=0.5) for server in hostile for kind in ("http", "mysql", "redis")
    ]
    targets.append(target_for(healthy, "http", timeout_s=0.5))

    results = asyncio.run(probe_many(targets, concurrency=20))

    assert not any(result.ok for result in results[:-1])
    assert results[-1].ok and results[-1].server_info == "HTTP 200"
    assert probe_sync(target_for(healthy, "http")).ok  # and afterwards, in a fresh loop


# --------------------------------------------------------------------------------------------
# Names and policy
# --------------------------------------------------------------------------------------------


def test_it_refuses_the_cloud_metadata_address_without_connecting() -> None:
    result = probe_sync(
        ProbeTarget(kind="http", host="169.254.169.254", port=80), denied_networks=DEFAULT_DENIED
    )

    assert_failed(result, "policy")
    assert result.error == "169.254.169.254 is in a denied network (169.254.0.0/16)"
    assert result.address == "" and result.latency_ms is None


def test_it_never_connects_to_an_address_in_a_denied_network(serve: Serve) -> None:
    server = serve(close_at_once)
    denied = [*DEFAULT_DENIED, ipaddress.ip_network("127.0.0.0/8")]

    by_ip = probe_sync(target_for(server), denied_networks=denied)
    by_name = probe_sync(ProbeTarget(kind="tcp", host="localhost", port=server.port), denied_networks=denied)

    assert_failed(by_ip, "policy", "127.0.0.1 is in a denied network (127.0.0.0/8)")
    assert_failed(by_name, "policy", "127.0.0.1 is in a denied network (127.0.0.0/8)")
    assert server.connections_before_now() == 0


def test_it_judges_an_ipv4_mapped_ipv6_address_as_the_ipv4_address() -> None:
    assert is_denied("::ffff:169.254.169.254", DEFAULT_DENIED)
    assert is_denied("fe80::1", DEFAULT_DENIED)
    assert not is_denied("10.0.0.7", DEFAULT_DENIED)
    assert not is_denied("127.0.0.1", DEFAULT_DENIED)  # loopback is allowed unless denied


def test_it_resolves_a_name_and_reports_the_address_it_connected_to(serve: Serve) -> None:
    server = serve(http_response(200, "OK"))

    result = probe_sync(ProbeTarget(kind="http", host="localhost", port=server.port))

    assert result.ok and result.address in ("127.0.0.1", "::1")
    [client] = server.wait_for_clients(1)
    assert client.notes["headers"]["host"] == f"localhost:{server.port}"  # type: ignore[index]


def test_it_reports_an_unresolvable_name_at_the_dns_stage() -> None:
    result = probe_sync(ProbeTarget(kind="tcp", host="no-such-host.invalid", port=80, timeout_s=5))

    assert_failed(result, "dns", "cannot resolve no-such-host.invalid")
    assert result.address == "" and result.latency_ms is None


def test_it_probes_an_ipv6_loopback_listener(serve: Serve) -> None:
    try:
        server = serve(close_at_once, host="::1")
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")

    result = probe_sync(target_for(server))

    assert result.ok and result.address == "::1"


# --------------------------------------------------------------------------------------------
# MariaDB (real) and MySQL 8 (fake)
# --------------------------------------------------------------------------------------------


def mariadb_target(**options: object) -> ProbeTarget:
    service = require_service("mariadb")
    return ProbeTarget(kind="mysql", host=service.host, port=service.port, **options)  # type: ignore[arg-type]


def test_it_reads_the_mariadb_greeting_without_credentials() -> None:
    result = probe_sync(mariadb_target())

    assert result.ok, result
    assert result.server_info.startswith("MariaDB 10.")


def test_it_logs_in_to_mariadb_runs_a_query_and_quits_cleanly(mariadb_account: tuple[str, str]) -> None:
    user, password = mariadb_account
    aborted_before = mysql_as_root(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Aborted_clients', 'Aborted_connects')"
    )

    result = probe_sync(mariadb_target(username=user, password=password, database="test"))

    assert result.ok, result
    assert result.server_info.startswith("MariaDB 10.")
    # A probe that quit properly is neither an aborted client nor an aborted connection.
    aborted_after = mysql_as_root(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('Aborted_clients', 'Aborted_connects')"
    )
    assert aborted_after == aborted_before


def test_it_reports_a_wrong_mariadb_password_at_the_auth_stage_without_revealing_it(
    mariadb_account: tuple[str, str],
) -> None:
    user, _ = mariadb_account
    wrong = f"wrong-{secrets.token_hex(8)}"

    result = probe_sync(mariadb_target(username=user, password=wrong))

    assert_failed(result, "auth", f"Access denied for user '{user}'")
    assert wrong not in result.error and wrong not in repr(result)


def test_it_logs_in_with_caching_sha2_fast_auth(serve: Serve) -> None:
    server = serve(FakeMySQL(password="fast-secret"))

    result = probe_sync(target_for(server, "mysql", username="app", password="fast-secret", database="shop"))

    assert result.ok, result
    assert result.server_info == "MySQL 8.0.36"
    [client] = server.wait_for_clients(1)
    assert client.notes["plugin"] == "caching_sha2_password"
    assert client.notes["database"] == "shop"
    assert client.notes["query"] == "SELECT 1"
    assert client.notes["quit"] is True


def test_it_never_sends_the_password_to_a_mysql_server_that_wants_it_without_tls(
    serve: Serve, rsa_key: RsaKey
) -> None:
    # A hostile server: no TLS on offer, caching_sha2 full authentication, its own RSA key sent
    # unasked. Encrypted to that key, the password would be the server's to read.
    server = serve(FakeMySQL(password="full-secret", full_auth=True, rsa_key=rsa_key))

    result = probe_sync(target_for(server, "mysql", username="app", password="full-secret"))

    assert_failed(result, "auth", "the server wants the password in clear without TLS; refused")
    [client] = server.wait_for_clients(1)
    assert client.notes["full_auth_answer"] == b""  # neither a key request nor the password
    assert "encrypted_password" not in client.notes
    assert b"full-secret" not in client.received


def test_it_ends_a_refused_mysql_login_with_an_answer_the_server_counts_as_a_failed_login(
    serve: Serve,
) -> None:
    server = serve(FakeMySQL(password="full-secret", full_auth=True))

    result = probe_sync(target_for(server, "mysql", username="app", password="full-secret"))

    assert_failed(result, "auth", "the server wants the password in clear without TLS; refused")
    [client] = server.wait_for_clients(1)
    # The server finished the handshake with "Access denied", not with an interrupted one.
    assert client.notes["denied"] is True


def test_it_logs_in_to_mysql_over_tls_when_the_server_offers_it_and_sends_the_password_only_inside(
    serve: Serve, self_signed: tuple[Path, Path]
) -> None:
    tls = tls_server_context(*self_signed, [])
    server = serve(FakeMySQL(password="full-secret", full_auth=True, tls=tls))

    result = probe_sync(target_for(server, "mysql", username="app", password="full-secret", database="shop"))

    assert result.ok, result
    [client] = server.wait_for_clients(1)
    assert str(client.notes["tls_version"]).startswith("TLS")
    assert client.notes["full_auth_answer"] == b"full-secret\0"  # read by the server, inside TLS
    assert client.notes["database"] == "shop"
    assert client.notes["quit"] is True


def test_it_upgrades_a_fast_caching_sha2_login_to_tls_when_offered(
    serve: Serve, self_signed: tuple[Path, Path]
) -> None:
    server = serve(FakeMySQL(password="fast-secret", tls=tls_server_context(*self_signed, [])))

    result = probe_sync(target_for(server, "mysql", username="app", password="fast-secret"))

    assert result.ok, result
    [client] = server.wait_for_clients(1)
    assert str(client.notes["tls_version"]).startswith("TLS")
    assert client.notes["query"] == "SELECT 1"


def test_it_reports_a_wrong_caching_sha2_password_at_the_auth_stage(serve: Serve) -> None:
    server = serve(FakeMySQL(password="right-secret"))

    result = probe_sync(target_for(server, "mysql", username="app", password="wrong-secret"))

    assert_failed(result, "auth", "Access denied for user 'app'@'localhost' (using password: YES)")
    assert "wrong-secret" not in result.error


def test_it_follows_an_auth_switch_to_mysql_native_password(serve: Serve) -> None:
    server = serve(FakeMySQL(password="native-secret", account_plugin="mysql_native_password"))

    result = probe_sync(target_for(server, "mysql", username="legacy", password="native-secret"))

    assert result.ok, result
    [client] = server.wait_for_clients(1)
    assert client.notes["quit"] is True


def test_it_finishes_the_handshake_when_the_account_uses_an_unsupported_plugin(serve: Serve) -> None:
    server = serve(FakeMySQL(password="x", account_plugin="client_ed25519"))

    result = probe_sync(target_for(server, "mysql", username="app", password="x"))

    assert_failed(result, "auth", "client_ed25519 authentication plugin, which the probe does not support")
    assert server.wait_for_connections(1) == 1


def test_it_reports_a_mysql_server_that_blocks_this_host(serve: Serve) -> None:
    server = serve(send_and_hold(blocked_host_greeting()))

    result = probe_sync(target_for(server, "mysql"))

    assert_failed(result, "greeting", "Host '10.0.0.9' is blocked because of many connection errors")


# --------------------------------------------------------------------------------------------
# PostgreSQL (real, trust authentication) and password authentication (fake)
# --------------------------------------------------------------------------------------------


def postgres_target(**options: object) -> ProbeTarget:
    service = require_service("postgres")
    return ProbeTarget(kind="postgresql", host=service.host, port=service.port, **options)  # type: ignore[arg-type]


def test_it_does_the_postgresql_ssl_exchange_without_credentials() -> None:
    result = probe_sync(postgres_target())

    assert result.ok, result
    assert result.server_info in ("PostgreSQL (SSL available)", "PostgreSQL (no SSL)")


def test_it_logs_in_to_postgresql_and_reports_the_version() -> None:
    service = require_service("postgres")

    result = probe_sync(postgres_target(username=service.user))

    assert result.ok, result
    assert result.server_info.startswith("PostgreSQL 15")


def test_it_reports_an_unknown_postgresql_role_at_the_auth_stage() -> None:
    result = probe_sync(postgres_target(username="kato_probe_nobody"))

    assert_failed(result, "auth", 'role "kato_probe_nobody" does not exist')


def test_it_logs_in_with_scram_sha_256(serve: Serve) -> None:
    server = serve(FakePostgres(user="app", password="scram-secret"))

    result = probe_sync(
        target_for(server, "postgresql", username="app", password="scram-secret", database="shop")
    )

    assert result.ok, result
    assert result.server_info == "PostgreSQL 16.4"
    [client] = server.wait_for_clients(1)
    assert client.notes["mechanism"] == "SCRAM-SHA-256"
    assert client.notes["startup"]["database"] == "shop"  # type: ignore[index]
    assert client.notes["query"] == "SELECT 1"
    assert client.notes["terminated"] is True
    assert b"scram-secret" not in client.received


def test_it_reports_a_wrong_scram_password_at_the_auth_stage(serve: Serve) -> None:
    server = serve(FakePostgres(user="app", password="scram-secret"))

    result = probe_sync(target_for(server, "postgresql", username="app", password="not-it"))

    assert_failed(result, "auth", 'password authentication failed for user "app"')


def test_it_refuses_a_server_that_cannot_prove_it_knows_the_password(serve: Serve) -> None:
    server = serve(FakePostgres(user="app", password="scram-secret", forge_server_signature=True))

    result = probe_sync(target_for(server, "postgresql", username="app", password="scram-secret"))

    assert_failed(result, "auth", "SCRAM signature is wrong")


def test_it_logs_in_with_md5(serve: Serve) -> None:
    server = serve(FakePostgres(user="app", password="md5-secret", method="md5"))

    result = probe_sync(target_for(server, "postgresql", username="app", password="md5-secret"))

    assert result.ok, result
    [client] = server.wait_for_clients(1)
    assert client.notes["startup"]["database"] == "app"  # type: ignore[index]  # defaults to the user


def test_it_logs_in_to_postgresql_over_tls_when_the_server_offers_it(
    serve: Serve, self_signed: tuple[Path, Path]
) -> None:
    tls = tls_server_context(*self_signed, [])
    server = serve(FakePostgres(user="app", password="clear-secret", method="password", tls=tls))

    result = probe_sync(target_for(server, "postgresql", username="app", password="clear-secret"))

    assert result.ok, result
    [client] = server.wait_for_clients(1)
    assert str(client.notes["tls_version"]).startswith("TLS")  # the password went encrypted
    assert client.notes["terminated"] is True


def test_it_refuses_to_send_a_postgresql_password_in_clear_without_tls(serve: Serve) -> None:
    # A hostile server: it answers the SSLRequest with N, then asks for the password in clear.
    server = serve(FakePostgres(user="app", password="clear-secret", method="password"))

    result = probe_sync(target_for(server, "postgresql", username="app", password="clear-secret"))

    assert_failed(result, "auth", "the server wants the password in clear without TLS; refused")
    [client] = server.wait_for_clients(1)
    assert b"clear-secret" not in client.received
    assert bytes(client.received).endswith(b"X\x00\x00\x00\x04")  # Terminate: a clean goodbye


def test_it_says_so_when_postgresql_wants_a_password_and_none_is_configured(serve: Serve) -> None:
    server = serve(FakePostgres(user="app", password="scram-secret"))

    result = probe_sync(target_for(server, "postgresql", username="app"))

    assert_failed(result, "auth", "the server asks for a password and none is configured")


# --------------------------------------------------------------------------------------------
# Redis (real)
# --------------------------------------------------------------------------------------------


def redis_target(**options: object) -> ProbeTarget:
    service = require_service("redis")
    return ProbeTarget(kind="redis", host=service.host, port=service.port, **options)  # type: ignore[arg-type]


def test_it_pings_redis_and_reports_the_version() -> None:
    result = probe_sync(redis_target())

    assert result.ok, result
    assert result.server_info.startswith("Redis 7")


def test_it_only_greets_a_redis_without_tls_when_it_has_a_password(redis_account: tuple[str, str]) -> None:
    # AUTH would carry the password in clear: the probe greets, and says why it did not log in.
    user, _ = redis_account

    result = probe_sync(redis_target(username=user, password="definitely-wrong"))

    assert result.ok, result
    assert result.server_info.startswith("Redis 7")
    assert result.server_info.endswith("(greeting only: Redis would get the password in clear without TLS)")


@pytest.fixture(scope="module")
def tls_redis(
    tmp_path_factory: pytest.TempPathFactory, self_signed: tuple[Path, Path]
) -> Iterator[tuple[int, str]]:
    """A real Redis that talks TLS only and wants a password: (port, password)."""
    binary = require_redis_server_with_tls()
    certificate, key = self_signed
    password = f"pw-{secrets.token_hex(8)}"
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    folder = tmp_path_factory.mktemp("tls-redis")
    server = subprocess.Popen(
        [binary, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1"]
        + ["--tls-cert-file", str(certificate), "--tls-key-file", str(key), "--tls-auth-clients", "no"]
        + ["--requirepass", password, "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            assert server.poll() is None, "redis-server did not start with TLS"
            time.sleep(0.05)
        yield port, password
    finally:
        server.terminate()
        server.wait(10)


def test_it_logs_in_to_redis_only_inside_tls(tls_redis: tuple[int, str]) -> None:
    port, password = tls_redis
    target = ProbeTarget(
        kind="redis", host="127.0.0.1", port=port, tls=True, verify_tls=False, password=password
    )

    result = probe_sync(target)

    # Redis answers PING with NOAUTH to a client that has not logged in: a PONG means AUTH was sent,
    # and it went inside TLS, the only way this server talks.
    assert result.ok, result
    assert result.server_info.startswith("Redis ") and "greeting only" not in result.server_info


def test_it_reports_a_wrong_redis_password_over_tls_at_the_auth_stage(tls_redis: tuple[int, str]) -> None:
    port, _ = tls_redis
    wrong = f"not-{secrets.token_hex(8)}"
    target = ProbeTarget(
        kind="redis", host="127.0.0.1", port=port, tls=True, verify_tls=False, password=wrong
    )

    result = probe_sync(target)

    assert not result.ok and result.stage == "auth", result
    assert wrong not in result.error


def test_a_redis_that_wants_a_password_answered_a_greeting_only_probe(serve: Serve) -> None:
    server = serve(answer_and_hold(b"-NOAUTH Authentication required.\r\n" * 2))  # to PING and INFO

    result = probe_sync(target_for(server, "redis", password="hunter2"))

    assert result.ok, result
    assert "hunter2" not in server.wait_for_clients(1)[0].received.decode(errors="replace")


def test_it_reports_a_redis_that_wants_a_password_at_the_auth_stage(serve: Serve) -> None:
    server = serve(answer_and_hold(b"-NOAUTH Authentication required.\r\n"))

    result = probe_sync(target_for(server, "redis"))

    assert_failed(result, "auth", "NOAUTH Authentication required.")


# --------------------------------------------------------------------------------------------
# Many at once
# --------------------------------------------------------------------------------------------


def test_it_returns_the_results_of_many_probes_in_the_order_of_the_targets(serve: Serve) -> None:
    server = serve(close_at_once)
    closed = closed_port()
    targets = [
        ProbeTarget(kind="tcp", host="127.0.0.1", port=server.port if i % 3 else closed) for i in range(200)
    ]

    results = asyncio.run(probe_many(targets, concurrency=50))

    assert [result.ok for result in results] == [bool(i % 3) for i in range(200)]
    expected = sum(1 for i in range(200) if i % 3)
    assert server.wait_for_connections(expected) == expected


def test_it_never_runs_more_probes_at_once_than_the_concurrency(serve: Serve) -> None:
    release = threading.Event()
    server = serve(lambda client: release.wait(60))  # holds each connection until released
    targets = [target_for(server, "redis", timeout_s=30) for _ in range(12)]
    results: list[ProbeResult] = []
    runner = threading.Thread(target=lambda: results.extend(asyncio.run(probe_many(targets, concurrency=4))))
    runner.start()
    try:
        assert server.wait_for_connections(4, timeout=30) == 4
        # The four hold their slots: when the server accepts a connection of ours, made now, it has
        # accepted no fifth probe before it.
        assert server.connections_before_now() == 4
    finally:
        release.set()
        runner.join(60)

    assert len(results) == 12 and not any(result.ok for result in results)  # each was hung up on
    assert server.wait_for_connections(13) == 13  # then the other eight ran, and ours


def test_it_spreads_start_times_over_the_jitter_window(serve: Serve) -> None:
    server = serve(close_at_once)
    targets = [target_for(server) for _ in range(40)]

    started = time.monotonic()
    results = asyncio.run(probe_many(targets, concurrency=40, jitter_s=0.6))

    assert all(result.ok for result in results)
    offsets = sorted(accepted - started for accepted in server.accepted_at)
    assert offsets[-1] - offsets[0] > 0.3  # spread out, not all at once…
    assert offsets[-1] < 0.6 + 0.3  # …and within the window
    early = sum(1 for offset in offsets if offset < 0.3)
    assert 5 <= early <= 35  # roughly uniform: neither all early nor all late


def test_it_turns_an_unexpected_error_into_a_failed_result(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(close_at_once)

    async def explode(target: ProbeTarget, session: object) -> str:
        raise RuntimeError("bug in a probe")

    monkeypatch.setitem(probes._KIND_PROBES, "redis", explode)
    results = asyncio.run(probe_many([target_for(server, "redis"), target_for(server)], concurrency=2))

    assert_failed(results[0], "connect", "unexpected error (RuntimeError)")
    assert results[1].ok


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------


def test_it_never_shows_the_password_of_a_target() -> None:
    target = ProbeTarget(kind="mysql", host="db", port=3306, username="app", password="hunter2")

    assert "hunter2" not in repr(target) and "hunter2" not in str(target)


def test_it_blanks_out_a_password_a_server_echoes_back(serve: Serve) -> None:
    server = serve(answer_and_hold(b"-ERR AUTH failed for password hunter2\r\n"))

    result = probe_sync(target_for(server, "redis", password="hunter2"))

    assert_failed(result, "auth")
    assert "hunter2" not in result.error and "***" in result.error
