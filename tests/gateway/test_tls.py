"""An https (or rediss) instance is spoken to over TLS: its name as SNI, its certificate checked against the
authorities the gateway trusts (KATO_GATEWAY_CA_FILE), whatever the client speaks to the gateway."""

from __future__ import annotations

import http.client
import ssl
from pathlib import Path

import pytest
import redis
import trustme

from components import services
from instances import services as instance_services
from instances.addresses import parse_address
from tests.gateway.conftest import NamedHttpServer, eventually
from tests.instances.test_probe_credentials import SECRET
from tests.instances.test_redis_tls import certificate_files, redis_server

pytestmark = pytest.mark.gateway


class TlsHttpServer(NamedHttpServer):
    """A NamedHttpServer behind TLS with a certificate of ``ca`` for ``name``; it keeps the SNI names it is sent."""

    def __init__(self, label: str, ca: trustme.CA, name: str) -> None:
        self.sni_seen: list[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(name).configure_cert(context)
        context.sni_callback = lambda _sock, sni, _ctx: self.sni_seen.append(sni or "")  # type: ignore[assignment]
        self._context = context
        super().__init__(label)

    def server_bind(self) -> None:
        super().server_bind()
        self.socket = self._context.wrap_socket(self.socket, server_side=True)


@pytest.fixture
def tls_servers():
    started: list[TlsHttpServer] = []

    def start(label: str, ca: trustme.CA, name: str = "localhost") -> TlsHttpServer:
        server = TlsHttpServer(label, ca, name)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _get(port: int, host_header: str) -> tuple[int, str]:
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        conn.request("GET", "/", headers={"Host": host_header})
        response = conn.getresponse()
        return response.status, response.read().decode()
    except OSError:
        return 0, ""


@pytest.fixture
def trusted_ca(gateway_settings, tmp_path: Path) -> trustme.CA:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    gateway_settings.KATO_GATEWAY_CA_FILE = str(tmp_path / "ca.pem")
    return ca


def _https_component(component, actor, server: TlsHttpServer):
    instance_services.health_check_update(component=component, enabled=False, actor=actor)
    instance_services.instance_add(
        component=component, address=parse_address(f"https://localhost:{server.port}"), actor=actor
    )
    return services.port_create(
        component=component,
        number=server.port,
        protocol="http",
        inner_service=True,
        outer_service=True,
        actor=actor,
    )


def test_an_https_instance_is_reached_over_tls_with_its_name_as_sni(
    static_component, alice_actor, trusted_ca, tls_servers, start_gateway, gateway_settings
):
    server = tls_servers("secure-1", trusted_ca)
    port = _https_component(static_component, alice_actor, server)
    start_gateway()
    # Plain HTTP to the internal address; the gateway speaks TLS to the instance.
    assert eventually(lambda: _get(port.gateway_port, "localhost")[0] == 200)
    assert _get(port.gateway_port, "localhost")[1] == "secure-1 host=localhost"
    # And by host name on the HTTP routes, the instance's name as Host.
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    status, body = _get(http_port, f"mysql-shop.localhost:{http_port}")
    assert (status, body) == (200, "secure-1 host=localhost")
    assert server.sni_seen and set(server.sni_seen) == {"localhost"}


def test_a_certificate_the_gateway_does_not_trust_gets_no_traffic(
    static_component, alice_actor, trusted_ca, tls_servers, start_gateway, gateway_settings
):
    stranger = tls_servers("stranger", trustme.CA())  # a certificate for the right name, another authority
    _https_component(static_component, alice_actor, stranger)
    start_gateway()
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    host = f"mysql-shop.localhost:{http_port}"
    # The route exists; the handshake fails, so the client gets Envoy's 503, never the stranger's page.
    assert eventually(lambda: _get(http_port, host)[0] == 503)
    assert "stranger" not in _get(http_port, host)[1]
    assert stranger.sni_seen  # the gateway did try it, with SNI


def test_a_certificate_for_another_name_gets_no_traffic(
    static_component, alice_actor, trusted_ca, tls_servers, start_gateway, gateway_settings
):
    wrong = tls_servers("wrong-name", trusted_ca, name="elsewhere.example")
    _https_component(static_component, alice_actor, wrong)
    start_gateway()
    http_port = gateway_settings.KATO_GATEWAY_HTTP_PORT
    host = f"mysql-shop.localhost:{http_port}"
    assert eventually(lambda: _get(http_port, host)[0] == 503)
    assert "wrong-name" not in _get(http_port, host)[1]


def test_a_rediss_instance_is_reached_over_tls_by_a_plain_redis_client(
    static_component, alice_actor, trusted_ca, start_gateway, tmp_path: Path
):
    with redis_server(tmp_path / "data", tls=certificate_files(trusted_ca, tmp_path)) as server:
        instance_services.health_check_update(component=static_component, enabled=False, actor=alice_actor)
        instance_services.instance_add(
            component=static_component,
            address=parse_address(f"rediss://localhost:{server.port}"),
            actor=alice_actor,
        )
        port = services.port_create(
            component=static_component,
            number=server.port,
            protocol="tcp",
            inner_service=True,
            actor=alice_actor,
        )
        start_gateway()
        # Plain Redis to the internal address (the password as the dependents have it); the gateway
        # speaks TLS to the instance, which speaks nothing else.
        client = redis.Redis(host="127.0.0.1", port=port.gateway_port, password=SECRET, socket_timeout=3)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        try:
            assert eventually(answers)
            assert client.set("through", "the gateway") and server.watcher.get("through") == b"the gateway"
        finally:
            client.close()
