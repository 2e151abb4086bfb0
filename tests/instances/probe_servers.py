"""Loopback servers for the probe tests: well-behaved, fake and hostile ones.

Each server listens on an ephemeral port of a loopback address and serves every connection in a
thread of its own with a *handler*: a function given a ``Client`` (the accepted socket plus what it
received). The fakes speak just enough MySQL and PostgreSQL to check what the probe sends (the
scramble, the SCRAM proof, the quit message) the way a real server would.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import trustme


class Client:
    """One accepted connection, as a handler sees it. Reads give up when the server stops."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.received = bytearray()
        self.notes: dict[str, object] = {}  # what a handler observed, for the test to assert
        self._stopping = stopping
        self._unread = bytearray()
        sock.settimeout(0.05)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv_some(self, timeout: float = 5.0, limit: int = 65536) -> bytes:
        """The next bytes from the peer (at most ``limit``); b"" when it closed, the server stops, or
        time runs out."""
        if self._unread:
            data, self._unread = bytes(self._unread[:limit]), self._unread[limit:]
            return data
        deadline = time.monotonic() + timeout
        while not self._stopping.is_set() and time.monotonic() < deadline:
            try:
                data = self.sock.recv(limit)
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except OSError:
                return b""
            self.received += data
            return data
        return b""

    def recv_exactly(self, size: int, timeout: float = 5.0) -> bytes:
        # Never more than asked for: a client that starts TLS right after a request (MySQL's and
        # PostgreSQL's SSLRequest) may have its ClientHello in the same segment, and bytes read here
        # would be lost to the handshake.
        data = bytearray()
        while len(data) < size:
            chunk = self.recv_some(timeout, limit=size - len(data))
            if not chunk:
                raise ConnectionError(f"peer closed after {len(data)} of {size} bytes")
            data += chunk
        self._unread = data[size:] + self._unread
        return bytes(data[:size])

    def recv_until(self, marker: bytes, timeout: float = 5.0) -> bytes:
        data = bytearray()
        while marker not in data:
            chunk = self.recv_some(timeout)
            if not chunk:
                raise ConnectionError("peer closed before the marker")
            data += chunk
        end = data.index(marker) + len(marker)
        self._unread = data[end:] + self._unread
        return bytes(data[:end])

    def start_tls(self, context: ssl.SSLContext) -> None:
        """Switch to TLS on this connection, as the server side."""
        assert not self._unread, "bytes read past the request that starts TLS would be lost"
        self.sock.settimeout(10)  # a loaded machine may take seconds over a handshake
        self.sock = context.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(0.05)

    def hold(self) -> None:
        """Keep the connection open, reading and never answering, until the peer or server ends it."""
        while not self._stopping.is_set():
            try:
                if not self.sock.recv(65536):
                    return
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except OSError:
                return

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN (SO_LINGER with a zero timeout)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


Handler = Callable[[Client], None]


class LoopbackServer:
    """A threaded TCP server on ``host``:0; ``close()`` stops it and every connection."""

    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", tls: ssl.SSLContext | None = None
    ) -> None:
        self.handler = handler
        self.tls = tls
        self.clients: list[Client] = []
        self.accepted_at: list[float] = []
        self.peers: list[tuple[str, int]] = []
        self.max_open = 0
        self._open = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(512)
        self._listener.settimeout(0.05)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self._accepting = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepting.start()

    @property
    def connection_count(self) -> int:
        with self._lock:
            return len(self.accepted_at)

    def wait_for_connections(self, count: int, timeout: float = 2.0) -> int:
        """How many connections were accepted, once ``count`` were or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        while self.connection_count < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.connection_count

    def connections_before_now(self, timeout: float = 10.0) -> int:
        """How many connections were made to the server before this call, waiting on an event
        rather than for a while: it connects once more itself and waits until the server has
        accepted that connection. A listener accepts in the order connections were made, so every
        earlier one has been counted by then; its own is not counted."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as mine:
            me = mine.getsockname()[:2]
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with self._lock:
                    if me in self.peers:
                        return self.peers.index(me)
                time.sleep(0.01)
        raise AssertionError(f"the server did not accept a connection within {timeout} s")

    def wait_for_clients(self, count: int, timeout: float = 2.0) -> list[Client]:
        """The first ``count`` clients once their handlers have finished."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                threads = list(self._threads)
            if len(threads) >= count and not any(thread.is_alive() for thread in threads[:count]):
                break
            time.sleep(0.01)
        with self._lock:
            return self.clients[:count]

    def close(self) -> None:
        self._stopping.set()
        self._accepting.join(timeout=2)
        self._listener.close()
        for thread in list(self._threads):
            thread.join(timeout=2)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted_at.append(time.monotonic())
                self.peers.append(sock.getpeername()[:2])
                thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
                self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        with self._lock:
            self._open += 1
            self.max_open = max(self.max_open, self._open)
        client = Client(sock, self._stopping)
        try:
            if self.tls is not None:
                client.start_tls(self.tls)
            with self._lock:
                self.clients.append(client)
            self.handler(client)
        except (OSError, ConnectionError, ValueError):
            pass  # the probe hung up, or refused our certificate: that is what is being tested
        finally:
            with self._lock:
                self._open -= 1
            client.sock.close()
            sock.close()


Serve = Callable[..., LoopbackServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start loopback servers with a handler; all are stopped after the test.

    A test module takes it by assignment (``serve = probe_servers.serve``), which pytest collects.
    """
    servers: list[LoopbackServer] = []

    def start(handler: Handler, **options: Any) -> LoopbackServer:
        server = LoopbackServer(handler, **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    return closed_ports(1)[0]


def closed_ports(count: int) -> list[int]:
    """Distinct loopback ports nothing listens on: all bound at once, so none repeats, then released."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


# --------------------------------------------------------------------------------------------
# Generic handlers
# --------------------------------------------------------------------------------------------


def close_at_once(client: Client) -> None:
    """Accept and close: enough for a TCP probe."""


def never_answer(client: Client) -> None:
    client.hold()


def send_and_hold(data: bytes) -> Handler:
    """Send ``data`` at once (before any request) and keep the connection open."""

    def handler(client: Client) -> None:
        client.send(data)
        client.hold()

    return handler


def answer_and_hold(data: bytes) -> Handler:
    """Wait for the probe's first bytes, answer with ``data`` and keep the connection open."""

    def handler(client: Client) -> None:
        client.recv_some()
        client.send(data)
        client.hold()

    return handler


def reset_connection(client: Client) -> None:
    """Let the probe send what it sends first (if anything), then reset the connection."""
    client.recv_some(timeout=0.1)
    client.reset()


def http_response(status: int, reason: str, headers: dict[str, str] | None = None) -> Handler:
    """Answer one request with an empty body; ``notes`` keep the request line and headers."""

    def handler(client: Client) -> None:
        head = client.recv_until(b"\r\n\r\n").decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        client.notes["request_line"] = request_line
        client.notes["headers"] = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines if line)
        }
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        client.send(
            f"HTTP/1.1 {status} {reason}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )

    return handler


# --------------------------------------------------------------------------------------------
# Certificates and keys, made with the openssl CLI
# --------------------------------------------------------------------------------------------


def make_self_signed_certificate(directory: Path, common_name: str = "localhost") -> tuple[Path, Path]:
    certificate, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        + ["-keyout", str(key), "-out", str(certificate), "-days", "2", "-subj", f"/CN={common_name}"]
        + ["-addext", f"subjectAltName=DNS:{common_name}"],
        check=True,
        capture_output=True,
    )
    return certificate, key


def tls_server_context(certificate: Path, key: Path, sni_seen: list[str]) -> ssl.SSLContext:
    """A server context that records the SNI name each client sends."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)

    def remember_sni(_sock: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        sni_seen.append(name or "")

    context.sni_callback = remember_sni  # type: ignore[assignment]
    return context


@dataclass(frozen=True)
class RsaKey:
    private_pem: Path
    public_pem: bytes

    def decrypt_oaep(self, ciphertext: bytes) -> bytes:
        """Decrypt with OpenSSL (RSA-OAEP, SHA-1): an implementation independent of the probe's."""
        result = subprocess.run(
            [
                "openssl",
                "pkeyutl",
                "-decrypt",
                "-inkey",
                str(self.private_pem),
                "-pkeyopt",
                "rsa_padding_mode:oaep",
            ],
            input=ciphertext,
            capture_output=True,
            check=True,
        )
        return result.stdout


def make_rsa_key(directory: Path) -> RsaKey:
    private = directory / "rsa.pem"
    subprocess.run(
        ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", str(private)],
        check=True,
        capture_output=True,
    )
    public = subprocess.run(
        ["openssl", "pkey", "-in", str(private), "-pubout"], check=True, capture_output=True
    ).stdout
    return RsaKey(private, public)


# --------------------------------------------------------------------------------------------
# A fake MySQL 8 server
# --------------------------------------------------------------------------------------------

_CAPABILITIES = 0x1 | 0x8 | 0x200 | 0x2000 | 0x8000 | 0x80000
_CLIENT_SSL = 0x800


@dataclass
class FakeMySQL:
    """Speaks the server side of a MySQL 8 login for one account, and a SELECT 1.

    ``account_plugin`` is the account's authentication plugin; when it differs from
    ``default_plugin`` (announced in the greeting) the server sends an AuthSwitchRequest, as a
    real one does. ``full_auth`` makes caching_sha2_password skip its cache and ask for the
    password itself: over TLS (``tls``: the greeting offers CLIENT_SSL) it takes it as it comes;
    without TLS a hostile one sends ``rsa_key`` unasked and waits for the password encrypted to
    it, and one without a key takes whatever came for a wrong password ("Access denied").
    ``notes["full_auth_answer"]`` is what the client answered to the full-authentication request.
    """

    password: str
    version: str = "8.0.36"
    default_plugin: str = "caching_sha2_password"
    account_plugin: str = "caching_sha2_password"
    full_auth: bool = False
    rsa_key: RsaKey | None = None
    tls: ssl.SSLContext | None = None
    scrambles: list[bytes] = field(default_factory=list)

    def __call__(self, client: Client) -> None:
        scramble = _mysql_scramble()
        _send_packet(client, 0, self._greeting(scramble))
        sequence, response = _read_packet(client)
        if self.tls is not None and len(response) == 32 and _flags(response) & _CLIENT_SSL:
            client.start_tls(self.tls)  # the SSLRequest: the handshake response follows in TLS
            client.notes["tls_version"] = client.sock.version()  # type: ignore[attr-defined]
            sequence, response = _read_packet(client)
        client.notes.update(_parse_handshake_response(response))
        answer: bytes = client.notes["auth_response"]  # type: ignore[assignment]
        if client.notes["plugin"] != self.account_plugin:
            scramble = _mysql_scramble()
            switch = b"\xfe" + self.account_plugin.encode() + b"\0" + scramble + b"\0"
            _send_packet(client, sequence + 1, switch)
            sequence, answer = _read_packet(client)
        accepted, sequence = self._authenticate(client, sequence, scramble, answer)
        if not accepted:
            user = client.notes["username"]
            message = f"Access denied for user '{user}'@'localhost' (using password: YES)"
            _send_packet(client, sequence + 1, b"\xff\x15\x04#28000" + message.encode())
            client.notes["denied"] = True
            return
        _send_packet(client, sequence + 1, b"\x00\x00\x00\x02\x00\x00\x00")
        self._serve_commands(client)

    @property
    def _capabilities(self) -> int:
        return _CAPABILITIES | (_CLIENT_SSL if self.tls is not None else 0)

    def _greeting(self, scramble: bytes) -> bytes:
        return (
            b"\x0a"
            + self.version.encode()
            + b"\0"
            + (42).to_bytes(4, "little")
            + scramble[:8]
            + b"\0"
            + (self._capabilities & 0xFFFF).to_bytes(2, "little")
            + bytes([255])
            + (2).to_bytes(2, "little")
            + (self._capabilities >> 16).to_bytes(2, "little")
            + bytes([21])
            + bytes(10)
            + scramble[8:]
            + b"\0"
            + self.default_plugin.encode()
            + b"\0"
        )

    def _authenticate(
        self, client: Client, sequence: int, scramble: bytes, answer: bytes
    ) -> tuple[bool, int]:
        if self.account_plugin == "mysql_native_password":
            return hmac.compare_digest(answer, native_scramble(self.password, scramble)), sequence
        if self.account_plugin != "caching_sha2_password":
            return False, sequence  # a plugin the fake does not verify: the login is refused
        if not self.full_auth:
            if not hmac.compare_digest(answer, caching_sha2_scramble(self.password, scramble)):
                return False, sequence
            _send_packet(client, sequence + 1, b"\x01\x03")  # fast auth success, then OK
            return True, sequence + 1
        return self._full_auth(client, sequence, scramble)

    def _full_auth(self, client: Client, sequence: int, scramble: bytes) -> tuple[bool, int]:
        _send_packet(client, sequence + 1, b"\x01\x04")  # perform full authentication
        sequence, answer = _read_packet(client)
        client.notes["full_auth_answer"] = answer
        if self.tls is not None:
            return answer == self.password.encode() + b"\0", sequence
        if self.rsa_key is None:
            return False, sequence
        _send_packet(client, sequence + 1, b"\x01" + self.rsa_key.public_pem)
        sequence, encrypted = _read_packet(client)
        client.notes["encrypted_password"] = encrypted
        password = _xor(self.rsa_key.decrypt_oaep(encrypted), scramble)
        return password == self.password.encode() + b"\0", sequence

    def _serve_commands(self, client: Client) -> None:
        while True:
            _, command = _read_packet(client)
            if command[:1] == b"\x01":
                client.notes["quit"] = True
                return
            client.notes["query"] = command[1:].decode()
            column = b"".join(_lenenc(text) for text in (b"def", b"", b"", b"", b"1", b""))
            column += (
                b"\x0c" + (63).to_bytes(2, "little") + (1).to_bytes(4, "little") + b"\x08\x81\x00\x00\x00\x00"
            )
            for sequence, packet in enumerate(
                [b"\x01", column, b"\xfe\0\0\x02\0", b"\x011", b"\xfe\0\0\x02\0"], 1
            ):
                _send_packet(client, sequence, packet)


def blocked_host_greeting() -> bytes:
    """The error packet MariaDB sends instead of a greeting once a host is blocked."""
    message = b"Host '10.0.0.9' is blocked because of many connection errors; unblock with 'mariadb-admin flush-hosts'"
    payload = b"\xff\x69\x04" + message
    return len(payload).to_bytes(3, "little") + b"\0" + payload


def native_scramble(password: str, scramble: bytes) -> bytes:
    stage1 = hashlib.sha1(password.encode()).digest()
    return _xor(stage1, hashlib.sha1(scramble + hashlib.sha1(stage1).digest()).digest())


def caching_sha2_scramble(password: str, scramble: bytes) -> bytes:
    digest1 = hashlib.sha256(password.encode()).digest()
    return _xor(digest1, hashlib.sha256(hashlib.sha256(digest1).digest() + scramble).digest())


def _mysql_scramble() -> bytes:
    # Real servers avoid NUL (and '$') in the scramble so it survives as a C string.
    return bytes(1 + byte % 126 for byte in os.urandom(20))


def _send_packet(client: Client, sequence: int, payload: bytes) -> None:
    client.send(len(payload).to_bytes(3, "little") + bytes([sequence & 0xFF]) + payload)


def _read_packet(client: Client) -> tuple[int, bytes]:
    header = client.recv_exactly(4)
    return header[3], client.recv_exactly(int.from_bytes(header[:3], "little"))


def _flags(payload: bytes) -> int:
    return int.from_bytes(payload[:4], "little")


def _parse_handshake_response(payload: bytes) -> dict[str, object]:
    flags = _flags(payload)
    pos = 4 + 4 + 1 + 23
    username, pos = _cstring(payload, pos)
    auth_length = payload[pos]
    auth = payload[pos + 1 : pos + 1 + auth_length]
    pos += 1 + auth_length
    database = ""
    if flags & 0x8:
        database, pos = _cstring(payload, pos)
    plugin, _ = _cstring(payload, pos) if flags & 0x80000 else ("", pos)
    return {"username": username, "database": database, "plugin": plugin, "auth_response": auth}


def _cstring(data: bytes, pos: int) -> tuple[str, int]:
    end = data.index(b"\0", pos)
    return data[pos:end].decode(), end + 1


def _lenenc(text: bytes) -> bytes:
    return bytes([len(text)]) + text


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(byte ^ key[index % len(key)] for index, byte in enumerate(data))


# --------------------------------------------------------------------------------------------
# A fake PostgreSQL server with password authentication
# --------------------------------------------------------------------------------------------


@dataclass
class FakePostgres:
    """Speaks the server side of a PostgreSQL login by SCRAM-SHA-256 or md5, and answers a query.

    ``method`` is "scram-sha-256", "md5" or "password" (cleartext). ``forge_server_signature``
    makes it end SCRAM with a signature it could not have computed without the password, as a man
    in the middle would. With ``tls`` it accepts the SSLRequest and switches to TLS.
    """

    user: str
    password: str
    method: str = "scram-sha-256"
    server_version: str = "16.4 (Debian 16.4-1)"
    forge_server_signature: bool = False
    tls: ssl.SSLContext | None = None

    def __call__(self, client: Client) -> None:
        length = int.from_bytes(client.recv_exactly(4), "big")
        body = client.recv_exactly(length - 4)
        if body == (80877103).to_bytes(4, "big"):  # SSLRequest
            client.send(b"S" if self.tls else b"N")
            if self.tls:
                client.start_tls(self.tls)
                client.notes["tls_version"] = client.sock.version()  # type: ignore[attr-defined]
            length = int.from_bytes(client.recv_exactly(4), "big")
            body = client.recv_exactly(length - 4)
        fields = body[4:].split(b"\0")
        client.notes["startup"] = {
            fields[i].decode(): fields[i + 1].decode() for i in range(0, len(fields) - 2, 2)
        }
        authenticate = {"scram-sha-256": self._scram, "md5": self._md5, "password": self._cleartext}[
            self.method
        ]
        authenticated = authenticate(client)
        if not authenticated:
            user = client.notes["startup"]["user"]  # type: ignore[index]
            _pg_send(client, b"E", _pg_error(f'password authentication failed for user "{user}"'))
            return
        _pg_send(client, b"R", (0).to_bytes(4, "big"))
        _pg_send(client, b"S", b"server_version\0" + self.server_version.encode() + b"\0")
        _pg_send(client, b"Z", b"I")
        self._serve_queries(client)

    def _scram(self, client: Client) -> bool:
        _pg_send(client, b"R", (10).to_bytes(4, "big") + b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0")
        initial = _pg_read(client, b"p")
        mechanism, _, rest = initial.partition(b"\0")
        client.notes["mechanism"] = mechanism.decode()
        client_first = rest[4:].decode()
        client_first_bare = client_first.split(",", 2)[2]
        client_nonce = client_first_bare.split("r=", 1)[1]
        salt, iterations = os.urandom(16), 4096
        server_first = f"r={client_nonce}{base64.b64encode(os.urandom(12)).decode()},s={base64.b64encode(salt).decode()},i={iterations}"
        _pg_send(client, b"R", (11).to_bytes(4, "big") + server_first.encode())
        client_final = _pg_read(client, b"p").decode()
        without_proof, _, proof = client_final.rpartition(",p=")
        salted = hashlib.pbkdf2_hmac("sha256", self.password.encode(), salt, iterations)
        client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
        stored_key = hashlib.sha256(client_key).digest()
        auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
        signature = hmac.new(stored_key, auth_message, hashlib.sha256).digest()
        recovered_key = _xor(base64.b64decode(proof), signature)
        if hashlib.sha256(recovered_key).digest() != stored_key:
            return False
        server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
        server_signature = hmac.new(server_key, auth_message, hashlib.sha256).digest()
        if self.forge_server_signature:
            server_signature = os.urandom(32)
        _pg_send(client, b"R", (12).to_bytes(4, "big") + b"v=" + base64.b64encode(server_signature))
        return True

    def _cleartext(self, client: Client) -> bool:
        _pg_send(client, b"R", (3).to_bytes(4, "big"))
        return _pg_read(client, b"p") == self.password.encode() + b"\0"

    def _md5(self, client: Client) -> bool:
        salt = os.urandom(4)
        _pg_send(client, b"R", (5).to_bytes(4, "big") + salt)
        answer = _pg_read(client, b"p")
        inner = hashlib.md5((self.password + self.user).encode()).hexdigest()
        expected = b"md5" + hashlib.md5(inner.encode() + salt).hexdigest().encode() + b"\0"
        return answer == expected

    def _serve_queries(self, client: Client) -> None:
        while True:
            kind = client.recv_exactly(1)
            body = client.recv_exactly(int.from_bytes(client.recv_exactly(4), "big") - 4)
            if kind == b"X":
                client.notes["terminated"] = True
                return
            client.notes["query"] = body.rstrip(b"\0").decode()
            _pg_send(client, b"C", b"SELECT 1\0")
            _pg_send(client, b"Z", b"I")


def _pg_send(client: Client, kind: bytes, body: bytes) -> None:
    client.send(kind + (len(body) + 4).to_bytes(4, "big") + body)


def _pg_read(client: Client, expected_kind: bytes) -> bytes:
    kind = client.recv_exactly(1)
    body = client.recv_exactly(int.from_bytes(client.recv_exactly(4), "big") - 4)
    if kind != expected_kind:
        raise ConnectionError(f"expected a {expected_kind!r} message, got {kind!r}")
    return body


def _pg_error(message: str) -> bytes:
    return b"SFATAL\0C28P01\0M" + message.encode() + b"\0\0"


# --------------------------------------------------------------------------------------------
# A fake Redis that records every command
# --------------------------------------------------------------------------------------------


def recording_redis(client: Client) -> None:
    """Answers like a Redis without a password and records each command in ``notes["commands"]``."""
    commands: list[list[bytes]] = []
    client.notes["commands"] = commands
    while True:
        command = _redis_read_command(client)
        commands.append(command)
        name = command[0].upper()
        if name == b"PING":
            client.send(b"+PONG\r\n")
        elif name == b"INFO":
            body = b"# Server\r\nredis_version:7.2.4\r\n"
            client.send(b"$%d\r\n%s\r\n" % (len(body), body))
        else:
            client.send(b"+OK\r\n")
        if name == b"QUIT":
            return


def _redis_read_command(client: Client) -> list[bytes]:
    count = int(client.recv_until(b"\r\n")[1:-2])
    parts = []
    for _ in range(count):
        length = int(client.recv_until(b"\r\n")[1:-2])
        parts.append(client.recv_exactly(length + 2)[:-2])
    return parts


def short_lived_tls(valid_for: timedelta, *names: str) -> tuple[ssl.SSLContext, datetime]:
    """A server context whose certificate (issued by a throwaway trustme CA for ``names``, localhost
    and 127.0.0.1 by default) stops being valid ``valid_for`` from now, to the second; and that end."""
    not_after = (datetime.now(UTC) + valid_for).replace(microsecond=0)
    leaf = trustme.CA().issue_cert(*(names or ("localhost", "127.0.0.1")), not_after=not_after)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    leaf.configure_cert(context)
    return context, not_after
