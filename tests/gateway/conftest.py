"""Real gateways (Envoy processes) and real backends on loopback, each answering with its own name."""

from __future__ import annotations

import contextlib
import http.server
import os
import random
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from kato_console.gateway.envoy import Envoy
from kato_console.gateway.loop import GatewayOptions, run

pytestmark = pytest.mark.gateway
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/gateway" in str(item.fspath):
            item.add_marker(pytest.mark.gateway)


def _bindable(port: int, hosts: tuple[str, ...] = ("127.0.0.1", "127.0.0.2")) -> bool:
    for host in hosts:
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                return False
    return True


def free_range(size: int) -> str:
    """``"first-last"``: ``size`` consecutive ports free now on 127.0.0.1 and 127.0.0.2."""
    for _ in range(200):
        # Below Linux's ephemeral ports (32768 and up by default), which any outgoing connection or
        # port-0 server may take between this check and the gateway's bind.
        first = random.randrange(10000, 32768 - size)
        if all(_bindable(port) for port in range(first, first + size)):
            return f"{first}-{first + size - 1}"
    raise RuntimeError("no free port range")


def free_port() -> int:
    return int(free_range(1).partition("-")[0])


def eventually(check: Callable[[], bool], *, within: float = 5.0, step: float = 0.05) -> bool:
    """Poll ``check`` until it holds or ``within`` seconds pass: a bounded wait, not a timing assertion."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


# Backends


class NamedTcpServer(socketserver.ThreadingTCPServer):
    """Answers every connection with its name and a newline, then echoes until the client closes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.name = name
        self.connections = 0
        super().__init__((host, port), _NamedHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _NamedHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: NamedTcpServer = self.server  # type: ignore[assignment]
        server.connections += 1
        self.request.sendall(server.name.encode() + b"\n")
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except OSError:
            pass


class NamedHttpServer(http.server.ThreadingHTTPServer):
    """Answers every GET with its name and the Host header it received."""

    daemon_threads = True

    def __init__(self, name: str, host: str = "127.0.0.1") -> None:
        self.name = name
        super().__init__((host, 0), _NamedHttpHandler)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _NamedHttpHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        server: NamedHttpServer = self.server  # type: ignore[assignment]
        body = f"{server.name} host={self.headers.get('Host', '')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def tcp_backends() -> Iterator[Callable[..., NamedTcpServer]]:
    started: list[NamedTcpServer] = []

    def start(name: str, host: str = "127.0.0.1", port: int = 0) -> NamedTcpServer:
        server = NamedTcpServer(name, host, port)
        started.append(server)
        return server

    yield start
    for server in started:
        with contextlib.suppress(OSError):
            server.stop()


@pytest.fixture
def http_backends() -> Iterator[Callable[[str], NamedHttpServer]]:
    started: list[NamedHttpServer] = []

    def start(name: str) -> NamedHttpServer:
        server = NamedHttpServer(name)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def greeting(host: str, port: int, timeout: float = 2.0) -> str:
    """The first line a TCP server through ``host:port`` sends, or "" when the connection is refused or closed."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            data = b""
            while not data.endswith(b"\n"):
                chunk = conn.recv(100)
                if not chunk:
                    break
                data += chunk
            return data.decode().strip()
    except OSError:
        return ""


# The gateway


@dataclass
class RunningGateway:
    options: GatewayOptions
    envoy: Envoy
    thread: threading.Thread
    stop: threading.Event


@pytest.fixture
def gateway_settings(settings, transactional_db) -> object:
    settings.KATO_GATEWAY = True
    settings.KATO_GATEWAY_INTERNAL_PORTS = free_range(8)
    settings.KATO_GATEWAY_PUBLIC_PORTS = free_range(8)
    settings.KATO_GATEWAY_HTTP_PORT = free_port()
    settings.KATO_GATEWAY_ALLOW_LOOPBACK = True
    settings.KATO_GATEWAY_HOST = "127.0.0.1"
    settings.KATO_GATEWAY_PUBLIC_HOST = "127.0.0.1"
    return settings


@pytest.fixture
def start_gateway(gateway_settings) -> Iterator[Callable[..., RunningGateway]]:
    """Start gateways (the control loop in a thread, Envoy as a real process); all stop at teardown."""
    running: list[RunningGateway] = []

    def start(**overrides: object) -> RunningGateway:
        options = GatewayOptions.from_settings(**{"poll_s": 30, **overrides})
        ready = threading.Event()
        holder: dict[str, Envoy] = {}
        failure: list[BaseException] = []
        stop = threading.Event()

        def on_ready(envoy: Envoy) -> None:
            holder["envoy"] = envoy
            ready.set()

        def target() -> None:
            try:
                run(options, stop=stop, on_ready=on_ready)
            except BaseException as error:  # reported to the test below
                failure.append(error)
                ready.set()

        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        assert ready.wait(30), "the gateway did not start"
        assert not failure, failure
        gateway = RunningGateway(options=options, envoy=holder["envoy"], thread=thread, stop=stop)
        running.append(gateway)
        return gateway

    yield start
    for gateway in running:
        gateway.stop.set()
        gateway.thread.join(20)
        assert not gateway.envoy.running()


def manage_env(settings: object, **environment: str) -> dict[str, str]:
    """The environment of a ``manage.py`` process that works on the test database with the test's gateway settings."""
    database = connection.settings_dict
    url = f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
    names = ("KATO_GATEWAY_HOST", "KATO_GATEWAY_PUBLIC_HOST", "KATO_GATEWAY_HTTP_PORT")
    return {
        **os.environ,
        "DATABASE_URL": url,
        "KATO_GATEWAY": "1",
        "KATO_GATEWAY_ALLOW_LOOPBACK": "1",
        **{name: str(getattr(settings, name)) for name in names},
        "KATO_GATEWAY_INTERNAL_PORTS": str(settings.KATO_GATEWAY_INTERNAL_PORTS),  # type: ignore[attr-defined]
        "KATO_GATEWAY_PUBLIC_PORTS": str(settings.KATO_GATEWAY_PUBLIC_PORTS),  # type: ignore[attr-defined]
        **environment,
    }


@pytest.fixture
def gateway_command(gateway_settings) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start ``manage.py run_gateway`` as its own process on the test database; stopped (SIGTERM) at teardown."""
    processes: list[subprocess.Popen[str]] = []

    def start(**environment: str) -> subprocess.Popen[str]:
        env = manage_env(gateway_settings, **environment)
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_gateway"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        processes.append(process)
        assert process.stdout is not None
        seen = []
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Gateway:"):
                return process
        raise AssertionError("run_gateway did not start: " + "".join(seen))

    yield start
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
