"""A DNS name is probed address by address, each with the name as Host header."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Iterator

import pytest

from instances.probes import ProbeTarget, probe_sync
from tests.gateway.conftest import free_port

NAME = "web.kato.test"


class _Recording(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        self.server.hosts.append(self.headers.get("Host", ""))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def two_web_servers(dns_names) -> Iterator[tuple[int, dict[str, http.server.HTTPServer]]]:
    port = free_port()
    servers = {}
    for ip in ("127.0.0.1", "127.0.0.2"):
        server = http.server.ThreadingHTTPServer((ip, port), _Recording)
        server.hosts = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers[ip] = server
    dns_names[NAME] = list(servers)
    yield port, servers
    for server in servers.values():
        server.shutdown()
        server.server_close()


def test_each_address_is_asked_with_the_name_as_host(two_web_servers):
    port, servers = two_web_servers
    result = probe_sync(ProbeTarget(kind="http", host=NAME, port=port, timeout_s=2))
    assert result.ok and result.server_info == "HTTP 204"
    assert [(ip, each.ok) for ip, each in result.each_address] == [("127.0.0.1", True), ("127.0.0.2", True)]
    assert servers["127.0.0.1"].hosts == servers["127.0.0.2"].hosts == [f"{NAME}:{port}"]  # type: ignore[attr-defined]


def test_the_name_passes_while_one_address_does_and_says_which_failed(two_web_servers):
    port, servers = two_web_servers
    servers["127.0.0.1"].shutdown()
    servers["127.0.0.1"].server_close()
    result = probe_sync(ProbeTarget(kind="http", host=NAME, port=port, timeout_s=2))
    assert result.ok and result.address == "127.0.0.2"
    failed = dict(result.each_address)["127.0.0.1"]
    assert (failed.ok, failed.stage, failed.error) == (False, "connect", "connection refused")


def test_a_denied_address_of_a_name_is_not_contacted(two_web_servers):
    port, servers = two_web_servers
    denied = [ipaddress.ip_network("127.0.0.2/32")]
    result = probe_sync(ProbeTarget(kind="http", host=NAME, port=port, timeout_s=2), denied_networks=denied)
    assert result.ok
    refused = dict(result.each_address)["127.0.0.2"]
    assert (refused.ok, refused.stage) == (False, "policy")
    assert servers["127.0.0.2"].hosts == []  # type: ignore[attr-defined]
