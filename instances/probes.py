"""Connectivity probes: does a third-party service answer, and is it the service we think it is?

This module does network I/O only. It never imports the ORM: callers turn instances and health
checks into ``ProbeTarget`` values and store the ``ProbeResult`` themselves (see ``sweep.py`` and
``services.record_probe_results``).

The protocols are written by hand on asyncio streams rather than with client libraries, because a
sweep runs thousands of probes at once and each must cost well under a millisecond of CPU; it also
keeps name resolution, the denied-network policy and the stage a failure happened in under our
control. A target being down is a result, never an exception: ``probe()`` returns a failed
``ProbeResult`` saying where it failed (``stage``) and why (``error``), and it never puts the
password in anything it returns or logs.
"""

from __future__ import annotations

import asyncio
import base64
import errno
import functools
import hashlib
import hmac
import logging
import os
import random
import re
import socket
import ssl
import stringprep
import time
import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote

from instances.addresses import IPNetwork, network_containing, parse_ip

logger = logging.getLogger(__name__)

PROBE_KINDS = ("tcp", "http", "mysql", "postgresql", "redis")

# The longest line (HTTP status line, Redis reply line) and the largest protocol message we accept.
# Anything bigger is not what a healthy server sends to a probe, and reading it would cost memory
# and CPU across thousands of concurrent probes.
_LINE_LIMIT = 16 * 1024
_MESSAGE_LIMIT = 64 * 1024

# What the probe was doing, for "timed out after 2.0 s while waiting for the greeting".
_DOING = {
    "dns": "while resolving the name",
    "connect": "while connecting",
    "tls": "during the TLS handshake",
    "greeting": "while waiting for the greeting",
    "auth": "while logging in",
    "query": "while running the query",
    "response": "while waiting for the response",
}

# Kinds whose probe ends by sending a goodbye (COM_QUIT, Terminate, QUIT) that must be flushed.
_SAYS_GOODBYE = frozenset({"mysql", "postgresql", "redis"})

# Name resolution blocks a thread. A pool of our own keeps slow resolvers from starving the event
# loop's default executor, and lets probe_sync() return at its timeout instead of waiting, as
# asyncio.run() does for the default executor, for a lookup that is still hanging.
_DNS_EXECUTOR = ThreadPoolExecutor(max_workers=32, thread_name_prefix="kato-probe-dns")


@dataclass(frozen=True)
class ProbeTarget:
    kind: str  # one of PROBE_KINDS
    host: str  # IPv4, IPv6 (no brackets) or DNS name
    port: int
    timeout_s: float = 3.0  # hard limit for DNS + connect + TLS + exchange
    path: str = "/"  # http
    tls: bool = False  # http: https
    verify_tls: bool = True  # http: certificate verification (per-check switch)
    username: str = ""  # mysql/postgresql/redis credentials; empty = greeting-only / no AUTH
    password: str = ""
    database: str = ""  # mysql/postgresql, optional

    def __post_init__(self) -> None:
        # A wrong kind or port is a programming error in the caller, not a property of the target.
        if self.kind not in PROBE_KINDS:
            raise ValueError(f"unknown probe kind {self.kind!r}; expected one of {', '.join(PROBE_KINDS)}")
        if not 1 <= self.port <= 65535:
            raise ValueError(f"port {self.port} is outside 1-65535")

    def __repr__(self) -> str:
        # Targets end up in logs and tracebacks; the password must not.
        secret = "'***'" if self.password else "''"
        return (
            f"ProbeTarget(kind={self.kind!r}, host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, password={secret})"
        )


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    latency_ms: float | None = None
    stage: str = ""  # where it failed: dns, policy, connect, tls, greeting, auth, query, response
    error: str = ""  # short sentence a person understands; never contains the password
    server_info: str = ""  # e.g. "MariaDB 10.11.19", "PostgreSQL 15.19", "Redis 7.0.15", "HTTP 200"
    address: str = ""  # the IP actually connected to (useful when DNS returned several)


class _ProbeFailure(Exception):
    """The target answered wrongly or not at all; ``stage`` says where, ``message`` says what."""

    def __init__(self, stage: str, message: str, *, server_info: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.server_info = server_info


class _Session:
    """One probe's progress (for timeouts and errors) and, once connected, its streams."""

    def __init__(self) -> None:
        self.stage = "dns"
        self.address = ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @property
    def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        assert self.reader is not None and self.writer is not None
        return self.reader, self.writer


# --------------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------------


async def probe(target: ProbeTarget, *, denied_networks: Sequence[IPNetwork] = ()) -> ProbeResult:
    """Probe one target within ``target.timeout_s``; never raises for anything the target does."""
    session = _Session()
    started = time.perf_counter()
    deadline = asyncio.timeout(target.timeout_s)
    try:
        async with deadline:
            server_info = await _run(target, session, denied_networks)
    except TimeoutError as exc:
        failure = _timeout_failure(target, session) if deadline.expired() else _describe(exc, session)
        return _failed(target, session, failure, started)
    except _ProbeFailure as failure:
        return _failed(target, session, failure, started)
    except Exception as exc:  # anything else the network throws at us is still a result
        return _failed(target, session, _describe(exc, session), started)
    return ProbeResult(
        ok=True, latency_ms=_elapsed_ms(started), server_info=server_info, address=session.address
    )


def probe_sync(target: ProbeTarget, *, denied_networks: Sequence[IPNetwork] = ()) -> ProbeResult:
    """Probe from synchronous code (the wizard, "probe now") in a fresh event loop."""
    return asyncio.run(probe(target, denied_networks=denied_networks))


async def probe_many(
    targets: Sequence[ProbeTarget],
    *,
    concurrency: int,
    jitter_s: float = 0.0,
    denied_networks: Sequence[IPNetwork] = (),
    on_result: Callable[[int, ProbeResult], object] | None = None,
) -> list[ProbeResult]:
    """Probe all targets, at most ``concurrency`` at a time, each start delayed by a random amount
    in [0, jitter_s) so that a round does not hit a shared server all at once.

    Returns the results in the order of ``targets``. One target's failure, expected or not, is
    that target's result and never stops the others. ``on_result(index, result)``, when given, is
    called as each probe finishes (the sweep stores the quick answers while slow probes still run).
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def probe_one(index: int, target: ProbeTarget) -> ProbeResult:
        if jitter_s > 0:
            await asyncio.sleep(random.random() * jitter_s)
        async with semaphore:
            result = await probe(target, denied_networks=denied_networks)
        if on_result is not None:
            on_result(index, result)
        return result

    return list(await asyncio.gather(*(probe_one(index, target) for index, target in enumerate(targets))))


def is_denied(ip: str, denied_networks: Sequence[IPNetwork]) -> bool:
    """Whether an IP address (string) falls in one of the denied networks."""
    return _denying_network(ip, denied_networks) is not None


# --------------------------------------------------------------------------------------------
# Running a probe, and turning what went wrong into a sentence
# --------------------------------------------------------------------------------------------


async def _run(target: ProbeTarget, session: _Session, denied_networks: Sequence[IPNetwork]) -> str:
    sock = await _connect(target, session, denied_networks)
    if target.kind == "tcp":
        # Connecting was the test. The bare socket spares a TCP probe the transport and streams.
        sock.close()
        return ""
    try:
        session.reader, session.writer = await asyncio.open_connection(sock=sock, limit=_LINE_LIMIT)
    except BaseException:
        sock.close()
        raise
    writer = session.writer
    try:
        server_info = await _KIND_PROBES[target.kind](target, session)
    except BaseException:
        # A failed or timed-out exchange is dropped at once: no TLS goodbye, no lingering socket.
        writer.transport.abort()
        raise
    if target.kind in _SAYS_GOODBYE:
        writer.close()  # flushes the goodbye, then closes
    else:
        writer.transport.abort()  # nothing left to send, and the rest of the answer is not wanted
    return server_info


def _failed(target: ProbeTarget, session: _Session, failure: _ProbeFailure, started: float) -> ProbeResult:
    # Latency means nothing before a connection was attempted.
    latency = None if failure.stage in ("dns", "policy") else _elapsed_ms(started)
    return ProbeResult(
        ok=False,
        latency_ms=latency,
        stage=failure.stage,
        error=_redact(failure.message, target.password),
        server_info=_redact(failure.server_info, target.password),
        address=session.address,
    )


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def _timeout_failure(target: ProbeTarget, session: _Session) -> _ProbeFailure:
    doing = _DOING.get(session.stage, "")
    return _ProbeFailure(session.stage, f"timed out after {_seconds(target.timeout_s)} s {doing}".rstrip())


def _seconds(value: float) -> str:
    """2 -> "2.0", 0.5 -> "0.5", 0.25 -> "0.25"."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ECONNABORTED: "connection aborted",
    errno.EPIPE: "the server closed the connection",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
    errno.ETIMEDOUT: "connection timed out",
    errno.EADDRNOTAVAIL: "address not available",
}


def _describe(exc: BaseException, session: _Session) -> _ProbeFailure:
    """A short sentence for an exception raised by the network or by a malformed answer."""
    stage = session.stage
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _ProbeFailure("tls", f"certificate verify failed: {exc.verify_message or exc.reason}")
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc)).replace("_", " ").lower()
        return _ProbeFailure(stage, f"TLS error: {reason}")
    if isinstance(exc, asyncio.IncompleteReadError):
        return _ProbeFailure(stage, "the server closed the connection unexpectedly")
    if isinstance(exc, asyncio.LimitOverrunError):
        return _ProbeFailure(stage, "the server's answer is too long")
    if isinstance(exc, OSError):
        text = _ERRNO_TEXT.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__).lower()
        return _ProbeFailure(stage, text)
    logger.error("probe failed unexpectedly at stage %s", stage, exc_info=exc)
    return _ProbeFailure(stage, f"unexpected error ({type(exc).__name__})")


def _redact(text: str, password: str) -> str:
    # A server could echo what we sent; the password must never reach the UI or the database.
    return text.replace(password, "***") if password else text


def _printable(data: bytes, limit: int = 200) -> str:
    """Server-supplied text, made safe to show: decoded, control characters removed, shortened."""
    text = data.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Name resolution, policy, connection, TLS
# --------------------------------------------------------------------------------------------


async def _connect(
    target: ProbeTarget, session: _Session, denied_networks: Sequence[IPNetwork]
) -> socket.socket:
    """Resolve, drop denied addresses, and connect to the first allowed address that accepts."""
    session.stage = "dns"
    addresses = await _resolve(target.host, target.port)
    session.stage = "policy"
    allowed = _allowed_addresses(addresses, denied_networks)
    session.stage = "connect"
    last_error: OSError | None = None
    for address in allowed:
        session.address = address
        try:
            return await _connect_socket(address, target.port)
        except OSError as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


async def _connect_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def _resolve(host: str, port: int) -> list[str]:
    host = host.strip().removeprefix("[").removesuffix("]")
    if parse_ip(host) is not None:
        return [host]
    if not host:
        raise _ProbeFailure("dns", "no host name given")
    loop = asyncio.get_running_loop()
    lookup = functools.partial(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    try:
        infos = await loop.run_in_executor(_DNS_EXECUTOR, lookup)
    except (socket.gaierror, ValueError) as exc:  # ValueError: not encodable, or a NUL in it
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise _ProbeFailure("dns", f"cannot resolve {host}: {(reason or 'unknown error').lower()}") from None
    # getaddrinfo lists one address several times (per protocol); keep the first of each, in order.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _allowed_addresses(addresses: list[str], denied_networks: Sequence[IPNetwork]) -> list[str]:
    allowed = [address for address in addresses if not is_denied(address, denied_networks)]
    if not allowed:
        address = addresses[0]
        network = _denying_network(address, denied_networks)
        raise _ProbeFailure("policy", f"{address} is in a denied network ({network})")
    return allowed


def _denying_network(ip: str, denied_networks: Sequence[IPNetwork]) -> IPNetwork | None:
    address = parse_ip(ip)
    if address is None:
        raise ValueError(f"{ip!r} is not an IP address")
    return network_containing(address, denied_networks)


@functools.cache
def _tls_context(verify: bool, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
    # Building a context loads the CA store (milliseconds of CPU), so each variant is built once.
    if verify:
        context = ssl.create_default_context()
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context


async def _read_line(reader: asyncio.StreamReader) -> bytes:
    """One line including its newline; at end of stream whatever came (maybe nothing).

    Unlike ``readline()``, a line over the stream limit raises LimitOverrunError, which is
    reported as an answer too long rather than as an unexpected error.
    """
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial


async def _start_tls(session: _Session, context: ssl.SSLContext, server_hostname: str | None) -> None:
    session.stage = "tls"
    _, writer = session.streams
    await writer.start_tls(context, server_hostname=server_hostname)


# --------------------------------------------------------------------------------------------
# http
# --------------------------------------------------------------------------------------------

_HTTP_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?: |\r?\n|$)")


async def _probe_http(target: ProbeTarget, session: _Session) -> str:
    if target.tls:
        # Offer only HTTP/1.1 so a server preferring HTTP/2 still answers in the protocol we speak.
        context = _tls_context(target.verify_tls, ("http/1.1",))
        await _start_tls(session, context, server_hostname=target.host)
    session.stage = "response"
    reader, writer = session.streams
    writer.write(_http_request(target))
    status = await _http_final_status(reader)
    info = f"HTTP {status}"
    if status >= 400:
        raise _ProbeFailure("response", info, server_info=info)
    return info


def _http_request(target: ProbeTarget) -> bytes:
    path = target.path if target.path.startswith("/") else "/" + target.path
    # The fragment is never sent; spaces, controls and non-ASCII are escaped so the path cannot
    # break the request line or smuggle headers.
    path = quote(path.split("#", 1)[0], safe="!$%&'()*+,/:;=?@[]~-._")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {_http_host_header(target)}",
        "User-Agent: KatoConsole-probe",
        "Accept: */*",
        "Connection: close",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def _http_host_header(target: ProbeTarget) -> str:
    host = target.host
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    elif not host.isascii():
        host = host.encode("idna").decode("ascii")
    default_port = 443 if target.tls else 80
    return host if target.port == default_port else f"{host}:{target.port}"


async def _http_final_status(reader: asyncio.StreamReader) -> int:
    """The status of the final response, skipping interim 1xx responses (103 Early Hints)."""
    for _ in range(5):
        status = await _http_status(reader)
        if status >= 200:
            return status
        await _http_skip_headers(reader)
    raise _ProbeFailure("response", "the server sent only interim (1xx) responses")


async def _http_status(reader: asyncio.StreamReader) -> int:
    line = await _read_line(reader)
    if not line:
        raise _ProbeFailure("response", "the server closed the connection without answering")
    match = _HTTP_STATUS_LINE.match(line)
    if match is None:
        raise _ProbeFailure("response", f"the server did not answer with HTTP ({_printable(line, 60)!r})")
    return int(match.group(1))


async def _http_skip_headers(reader: asyncio.StreamReader) -> None:
    total = 0
    while (line := await _read_line(reader)) not in (b"\r\n", b"\n", b""):
        total += len(line)
        if total > _LINE_LIMIT:
            raise _ProbeFailure("response", "the server's headers are too long")


# --------------------------------------------------------------------------------------------
# redis
# --------------------------------------------------------------------------------------------

_REDIS_AUTH_ERRORS = (
    "NOAUTH",
    "WRONGPASS",
    "NOPERM",
    "ERR AUTH",
    "ERR INVALID PASSWORD",
    "ERR CLIENT SENT AUTH",
)
_REDIS_VERSION = re.compile(rb"^redis_version:([^\r\n]+)", re.MULTILINE)


async def _probe_redis(target: ProbeTarget, session: _Session) -> str:
    reader, writer = session.streams
    authenticate = bool(target.username or target.password)
    # One write for the whole conversation: Redis answers pipelined commands in order, and each
    # answer is still read and judged on its own.
    commands: list[list[str]] = []
    if authenticate:
        commands.append(
            ["AUTH", target.username, target.password] if target.username else ["AUTH", target.password]
        )
    commands += [["PING"], ["INFO", "server"], ["QUIT"]]
    writer.write(b"".join(_redis_command(*command) for command in commands))
    if authenticate:
        session.stage = "auth"
        await _redis_expect(reader, b"+OK", stage="auth")
    session.stage = "greeting"
    await _redis_expect(reader, b"+PONG", stage="greeting")
    session.stage = "query"
    return await _redis_server_info(reader)


def _redis_command(*parts: str) -> bytes:
    encoded = [part.encode("utf-8") for part in parts]
    return f"*{len(encoded)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


async def _redis_expect(reader: asyncio.StreamReader, expected: bytes, *, stage: str) -> None:
    line = await _redis_line(reader)
    if line == expected:
        return
    if line.startswith(b"-"):
        message = _printable(line[1:])
        is_auth_error = message.upper().startswith(_REDIS_AUTH_ERRORS)
        raise _ProbeFailure("auth" if is_auth_error else stage, message)
    raise _ProbeFailure(stage, f"the server did not answer like Redis ({_printable(line, 60)!r})")


async def _redis_line(reader: asyncio.StreamReader) -> bytes:
    line = await _read_line(reader)
    if not line:
        raise asyncio.IncompleteReadError(line, None)
    return line.rstrip(b"\r\n")


async def _redis_server_info(reader: asyncio.StreamReader) -> str:
    header = await _redis_line(reader)
    if header.startswith(b"-"):
        # INFO may be forbidden to the probing user by an ACL; the server answered, which is enough.
        return "Redis"
    if not header.startswith(b"$") or not header[1:].isdigit() or int(header[1:]) > _MESSAGE_LIMIT:
        raise _ProbeFailure(
            "query", f"the server did not answer INFO like Redis ({_printable(header, 60)!r})"
        )
    body = await reader.readexactly(int(header[1:]) + 2)
    match = _REDIS_VERSION.search(body)
    return f"Redis {match.group(1).decode('ascii', 'replace').strip()}" if match else "Redis"


# --------------------------------------------------------------------------------------------
# mysql (and MariaDB)
# --------------------------------------------------------------------------------------------

_CLIENT_LONG_PASSWORD = 0x1
_CLIENT_CONNECT_WITH_DB = 0x8
_CLIENT_PROTOCOL_41 = 0x200
_CLIENT_TRANSACTIONS = 0x2000
_CLIENT_SECURE_CONNECTION = 0x8000
_CLIENT_PLUGIN_AUTH = 0x80000
_MYSQL_UTF8_GENERAL_CI = 33  # understood by every server since 4.1
_MYSQL_NATIVE = "mysql_native_password"
_MYSQL_CACHING_SHA2 = "caching_sha2_password"


@dataclass(frozen=True)
class _MySQLGreeting:
    version: str
    capabilities: int
    scramble: bytes
    plugin: str


class _MySQLPackets:
    """MySQL packet framing: 3-byte length, 1-byte sequence number, payload."""

    def __init__(self, session: _Session) -> None:
        self.session = session
        self.reader, self.writer = session.streams
        self.sequence = 0

    async def read(self) -> bytes:
        header = await self.reader.readexactly(4)
        length = int.from_bytes(header[:3], "little")
        if length > _MESSAGE_LIMIT:
            raise _ProbeFailure(self.session.stage, _mysql_oversized(header, length))
        self.sequence = (header[3] + 1) & 0xFF
        return await self.reader.readexactly(length)

    def write(self, payload: bytes) -> None:
        self.writer.write(len(payload).to_bytes(3, "little") + bytes([self.sequence]) + payload)
        self.sequence = (self.sequence + 1) & 0xFF

    def command(self, payload: bytes) -> None:
        # Every command starts a new sequence.
        self.sequence = 0
        self.write(payload)


def _mysql_oversized(header: bytes, length: int) -> str:
    if all(32 <= byte < 127 for byte in header):
        # Text where a binary length should be: another protocol (SSH, HTTP…) is listening.
        return f"the server did not answer like MySQL (it starts with {header.decode('ascii')!r})"
    return (
        f"the server sent a {length}-byte packet, more than the {_MESSAGE_LIMIT // 1024} KiB a probe accepts"
    )


async def _probe_mysql(target: ProbeTarget, session: _Session) -> str:
    session.stage = "greeting"
    packets = _MySQLPackets(session)
    greeting = _mysql_parse_greeting(await packets.read())
    server_info = _mysql_server_info(greeting.version)
    if not target.username:
        # Greeting only. The server counts this as an interrupted handshake towards
        # max_connect_errors (after 100 in a row without a successful login from this host, it
        # blocks the host): the UI must say so. The credentialed probe always finishes the login.
        return server_info
    session.stage = "auth"
    await _mysql_login(packets, greeting, target)
    session.stage = "query"
    await _mysql_select_one(packets)
    packets.command(b"\x01")  # COM_QUIT: end the session the way a client should
    return server_info


def _mysql_parse_greeting(payload: bytes) -> _MySQLGreeting:
    if payload[:1] == b"\xff":
        # The server refused us before the handshake, e.g. "Host '10.0.0.9' is blocked because of
        # many connection errors" or "Too many connections".
        raise _ProbeFailure("greeting", _mysql_error_text(payload))
    if payload[:1] != b"\x0a":
        raise _ProbeFailure("greeting", "the server did not answer like MySQL (unknown protocol version)")
    try:
        return _mysql_greeting_fields(payload)
    except (IndexError, ValueError):
        raise _ProbeFailure("greeting", "the server sent a malformed MySQL greeting") from None


def _mysql_greeting_fields(payload: bytes) -> _MySQLGreeting:
    version_end = payload.index(b"\0", 1)
    version = payload[1:version_end].decode("utf-8", "replace")
    pos = version_end + 1 + 4  # connection id
    scramble = payload[pos : pos + 8]
    pos += 8 + 1  # scramble part 1, filler
    capabilities = int.from_bytes(payload[pos : pos + 2], "little")
    plugin = ""
    if len(payload) > pos + 2:
        capabilities |= int.from_bytes(payload[pos + 5 : pos + 7], "little") << 16
        scramble_length = payload[pos + 7]
        pos += 2 + 1 + 2 + 2 + 1 + 10  # capabilities, charset, status, capabilities, length, reserved
        if capabilities & _CLIENT_SECURE_CONNECTION:
            part2_length = max(13, scramble_length - 8)
            scramble += payload[pos : pos + part2_length].rstrip(b"\0")
            pos += part2_length
        if capabilities & _CLIENT_PLUGIN_AUTH:
            plugin = payload[pos:].split(b"\0", 1)[0].decode("ascii", "replace")
    if len(version) == 0 or len(scramble) < 8:
        raise ValueError("greeting too short")
    return _MySQLGreeting(version, capabilities, scramble[:20], plugin)


def _mysql_server_info(version: str) -> str:
    # MariaDB 10 prefixes its version with "5.5.5-" so that old replication clients accept it.
    version = version.removeprefix("5.5.5-")
    match = re.match(r"\d+(?:\.\d+)*", version)
    number = match.group(0) if match else _printable(version.encode(), 40)
    flavour = "MariaDB" if "mariadb" in version.lower() else "MySQL"
    return f"{flavour} {number}"


def _mysql_error_text(payload: bytes) -> str:
    """The message of an ERR packet: 0xff, code, optional '#' + SQL state, message."""
    message = payload[3:]
    if message[:1] == b"#":
        message = message[6:]
    return _printable(message) or "the server refused the connection"


async def _mysql_login(packets: _MySQLPackets, greeting: _MySQLGreeting, target: ProbeTarget) -> None:
    required = _CLIENT_PROTOCOL_41 | _CLIENT_SECURE_CONNECTION
    if greeting.capabilities & required != required:
        raise _ProbeFailure("auth", "the server is too old for the probe (no protocol 4.1 authentication)")
    plugin = greeting.plugin if greeting.plugin in _MYSQL_AUTH else _MYSQL_NATIVE
    scramble = greeting.scramble
    packets.write(_mysql_handshake_response(greeting, target, plugin))
    # Round trips: the answer, an AuthSwitchRequest, caching_sha2's extra steps; more is a loop.
    for _ in range(6):
        packet = await packets.read()
        if packet[:1] == b"\x00":
            return
        if packet[:1] == b"\xff":
            raise _ProbeFailure("auth", _mysql_error_text(packet))
        if packet[:1] == b"\xfe":
            plugin, scramble = _mysql_auth_switch(packet)
            await _mysql_answer_switch(packets, plugin, scramble, target.password)
        elif packet[:1] == b"\x01" and plugin == _MYSQL_CACHING_SHA2:
            await _caching_sha2_more(packets, packet[1:], scramble, target.password)
        else:
            raise _ProbeFailure("auth", "the server sent an unexpected packet during login")
    raise _ProbeFailure("auth", "the login did not finish")


def _mysql_handshake_response(greeting: _MySQLGreeting, target: ProbeTarget, plugin: str) -> bytes:
    flags = _CLIENT_LONG_PASSWORD | _CLIENT_PROTOCOL_41 | _CLIENT_TRANSACTIONS | _CLIENT_SECURE_CONNECTION
    flags |= greeting.capabilities & _CLIENT_PLUGIN_AUTH
    if target.database:
        flags |= _CLIENT_CONNECT_WITH_DB
    auth = _MYSQL_AUTH[plugin](target.password, greeting.scramble)
    payload = flags.to_bytes(4, "little") + (1 << 24).to_bytes(4, "little")
    payload += bytes([_MYSQL_UTF8_GENERAL_CI]) + bytes(23)
    payload += target.username.encode("utf-8") + b"\0" + bytes([len(auth)]) + auth
    if target.database:
        payload += target.database.encode("utf-8") + b"\0"
    if flags & _CLIENT_PLUGIN_AUTH:
        payload += plugin.encode("ascii") + b"\0"
    return payload


def _mysql_auth_switch(packet: bytes) -> tuple[str, bytes]:
    if len(packet) == 1:
        raise _ProbeFailure(
            "auth", "the server asks for the pre-4.1 password scheme, which the probe refuses"
        )
    name, _, data = packet[1:].partition(b"\0")
    return name.decode("ascii", "replace"), data.removesuffix(b"\0")[:20]


async def _mysql_answer_switch(packets: _MySQLPackets, plugin: str, scramble: bytes, password: str) -> None:
    if plugin in _MYSQL_AUTH:
        packets.write(_MYSQL_AUTH[plugin](password, scramble))
        return
    # An empty answer lets the server finish the handshake with "Access denied" rather than see an
    # interrupted one, which would count towards blocking this host (max_connect_errors).
    packets.write(b"")
    await packets.read()
    raise _ProbeFailure(
        "auth", f"the account uses the {plugin} authentication plugin, which the probe does not support"
    )


def _mysql_native_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 — the protocol's own hash
    stage2 = hashlib.sha1(stage1).digest()  # noqa: S324
    return _xor(stage1, hashlib.sha1(scramble + stage2).digest())  # noqa: S324


def _caching_sha2_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    digest1 = hashlib.sha256(password.encode("utf-8")).digest()
    digest2 = hashlib.sha256(hashlib.sha256(digest1).digest() + scramble).digest()
    return _xor(digest1, digest2)


_MYSQL_AUTH: dict[str, Callable[[str, bytes], bytes]] = {
    _MYSQL_NATIVE: _mysql_native_password,
    _MYSQL_CACHING_SHA2: _caching_sha2_password,
}


async def _caching_sha2_more(packets: _MySQLPackets, data: bytes, scramble: bytes, password: str) -> None:
    """caching_sha2_password after the scramble: 3 = fast auth passed (OK follows), 4 = the server
    has no cached hash and wants the password itself. Without TLS the password goes encrypted
    with the server's RSA key, which we ask for (as pymysql does), since a probe has no pinned key.
    """
    if data == b"\x03":
        return
    if data != b"\x04":
        raise _ProbeFailure("auth", "the server sent an unexpected caching_sha2_password step")
    packets.write(b"\x02")  # request the public key
    answer = await packets.read()
    if answer[:1] == b"\xff":
        raise _ProbeFailure("auth", _mysql_error_text(answer))
    if answer[:1] != b"\x01":
        raise _ProbeFailure("auth", "the server did not send its RSA public key")
    cleartext = _xor(password.encode("utf-8") + b"\0", scramble)
    packets.write(_rsa_oaep_encrypt(answer[1:], cleartext))


async def _mysql_select_one(packets: _MySQLPackets) -> None:
    """Run SELECT 1 and read the whole result set: column count, definitions, EOF, rows, EOF."""
    packets.command(b"\x03SELECT 1")
    first = await packets.read()
    if first[:1] == b"\xff":
        raise _ProbeFailure("query", _mysql_error_text(first))
    if first[:1] == b"\x00":
        return
    eof_packets = 0
    while eof_packets < 2:
        packet = await packets.read()
        if packet[:1] == b"\xff":
            raise _ProbeFailure("query", _mysql_error_text(packet))
        # An EOF packet is 0xfe and short; a row may also start with 0xfe but is then 9+ bytes.
        if packet[:1] == b"\xfe" and len(packet) < 9:
            eof_packets += 1


def _xor(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with ``key`` repeated to its length."""
    return bytes(byte ^ key[index % len(key)] for index, byte in enumerate(data))


# RSA-OAEP (SHA-1, MGF1-SHA-1) encryption, as MySQL's RSA_PKCS1_OAEP_PADDING expects, written out
# so that the probe needs no compiled crypto package for the one message it ever encrypts.

_MAX_RSA_BITS = 16384  # a hostile server must not make us exponentiate with a gigantic modulus


def _rsa_oaep_encrypt(pem: bytes, message: bytes) -> bytes:
    try:
        modulus, exponent = _rsa_public_key(pem)
    except (IndexError, ValueError):
        raise _ProbeFailure("auth", "the server sent an unreadable RSA public key") from None
    if modulus.bit_length() > _MAX_RSA_BITS or not 3 <= exponent < (1 << 64):
        raise _ProbeFailure("auth", "the server sent an unusable RSA public key")
    key_length = (modulus.bit_length() + 7) // 8
    hash_length = 20
    if len(message) > key_length - 2 * hash_length - 2:
        raise _ProbeFailure("auth", "the password is too long for the server's RSA key")
    padding = bytes(key_length - len(message) - 2 * hash_length - 2)
    block = hashlib.sha1(b"").digest() + padding + b"\x01" + message  # noqa: S324 — OAEP's label hash
    seed = os.urandom(hash_length)
    masked_block = _xor(block, _mgf1(seed, len(block)))
    masked_seed = _xor(seed, _mgf1(masked_block, hash_length))
    encoded = int.from_bytes(b"\0" + masked_seed + masked_block, "big")
    return pow(encoded, exponent, modulus).to_bytes(key_length, "big")


def _mgf1(seed: bytes, length: int) -> bytes:
    output = b""
    counter = 0
    while len(output) < length:
        output += hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()  # noqa: S324
        counter += 1
    return output[:length]


def _rsa_public_key(pem: bytes) -> tuple[int, int]:
    """(modulus, exponent) from a PEM "PUBLIC KEY" (SubjectPublicKeyInfo) or "RSA PUBLIC KEY"."""
    body = b"".join(line for line in pem.strip().splitlines() if not line.startswith(b"-----"))
    der = base64.b64decode(body, validate=False)
    _, sequence, _ = _der_item(der, 0)
    tag, first, after = _der_item(sequence, 0)
    if tag == 0x30:  # SubjectPublicKeyInfo: AlgorithmIdentifier, then BIT STRING of the RSA key
        _, bit_string, _ = _der_item(sequence, after)
        _, sequence, _ = _der_item(bit_string[1:], 0)
        tag, first, after = _der_item(sequence, 0)
    _, exponent, _ = _der_item(sequence, after)
    if tag != 0x02:
        raise ValueError("not an RSA key")
    return int.from_bytes(first, "big"), int.from_bytes(exponent, "big")


def _der_item(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """One DER item at ``pos``: (tag, contents, position after it)."""
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        size = length & 0x7F
        length = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    if pos + length > len(data):
        raise ValueError("truncated DER")
    return tag, data[pos : pos + length], pos + length


# --------------------------------------------------------------------------------------------
# postgresql
# --------------------------------------------------------------------------------------------

_PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
_PG_PROTOCOL_3 = (196608).to_bytes(4, "big")
_PG_TERMINATE = b"X" + (4).to_bytes(4, "big")
_SCRAM_MAX_ITERATIONS = 100_000  # PostgreSQL uses 4096; a hostile server must not buy our CPU


async def _probe_postgresql(target: ProbeTarget, session: _Session) -> str:
    session.stage = "greeting"
    ssl_available = await _pg_ssl_request(session)
    if not target.username:
        return "PostgreSQL (SSL available)" if ssl_available else "PostgreSQL (no SSL)"
    if ssl_available:
        # Like libpq's default sslmode=prefer: encrypt when offered, without verifying the
        # certificate, so that a server accepting only TLS connections can be logged in to. SNI
        # is sent as libpq does, since proxies in front of managed databases route by it.
        await _start_tls(session, _tls_context(verify=False), server_hostname=target.host)
    session.stage = "auth"
    parameters = await _pg_login(session, target)
    session.stage = "query"
    await _pg_select_one(session)
    version = parameters.get("server_version", "").split(" ")[0]
    return f"PostgreSQL {version}".strip()


async def _pg_ssl_request(session: _Session) -> bool:
    reader, writer = session.streams
    writer.write(_PG_SSL_REQUEST)
    answer = await reader.readexactly(1)
    if answer in (b"S", b"N"):
        return answer == b"S"
    if answer == b"E":
        raise _ProbeFailure("greeting", "the server refused the SSL request with an error")
    raise _ProbeFailure("greeting", f"the server did not answer like PostgreSQL ({_printable(answer)!r})")


async def _pg_read(session: _Session) -> tuple[bytes, bytes]:
    reader, _ = session.streams
    header = await reader.readexactly(5)
    length = int.from_bytes(header[1:], "big")
    if not 4 <= length <= _MESSAGE_LIMIT:
        raise _ProbeFailure(session.stage, "the server sent a malformed PostgreSQL message")
    return header[:1], await reader.readexactly(length - 4)


def _pg_message(kind: bytes, body: bytes) -> bytes:
    return kind + (len(body) + 4).to_bytes(4, "big") + body


def _pg_startup(target: ProbeTarget) -> bytes:
    database = target.database or target.username or "postgres"
    parameters = {"user": target.username, "database": database, "application_name": "kato-console-probe"}
    body = (
        _PG_PROTOCOL_3 + b"".join(f"{key}\0{value}\0".encode() for key, value in parameters.items()) + b"\0"
    )
    return (len(body) + 4).to_bytes(4, "big") + body


async def _pg_login(session: _Session, target: ProbeTarget) -> dict[str, str]:
    """Start up and authenticate; returns the ParameterStatus values (server_version…)."""
    _, writer = session.streams
    writer.write(_pg_startup(target))
    parameters: dict[str, str] = {}
    scram: _ScramClient | None = None
    for _ in range(200):  # a login is a few dozen messages; more means a misbehaving server
        kind, body = await _pg_read(session)
        if kind == b"R":
            scram = _pg_authenticate(session, target, body, scram)
        elif kind == b"E":
            raise _ProbeFailure("auth", _pg_error_text(body))
        elif kind == b"S":
            name, _, rest = body.partition(b"\0")
            value = rest.partition(b"\0")[0]
            parameters[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        elif kind == b"Z":
            return parameters
        elif kind not in (b"K", b"N", b"v"):
            raise _ProbeFailure("auth", "the server sent an unexpected message during login")
    raise _ProbeFailure("auth", "the login did not finish")


def _pg_authenticate(
    session: _Session, target: ProbeTarget, body: bytes, scram: _ScramClient | None
) -> _ScramClient | None:
    """Answer one Authentication message; returns the SCRAM exchange in progress, if any."""
    _, writer = session.streams
    code = int.from_bytes(body[:4], "big")
    if code == 0:  # AuthenticationOk
        return scram
    if code in (3, 5, 10) and not target.password:
        # libpq refuses to send an empty password too; the server would only say it is wrong.
        writer.write(_PG_TERMINATE)
        raise _ProbeFailure("auth", "the server asks for a password and none is configured")
    if code == 3:  # cleartext password (only over TLS, one hopes)
        writer.write(_pg_message(b"p", target.password.encode("utf-8") + b"\0"))
    elif code == 5:  # md5
        writer.write(_pg_message(b"p", _pg_md5_password(target.username, target.password, body[4:8])))
    elif code == 10:  # SASL: choose SCRAM-SHA-256
        return _pg_scram_start(writer, body[4:], target.password)
    elif code == 11 and scram is not None:  # SASLContinue
        writer.write(_pg_message(b"p", scram.final_message(body[4:])))
    elif code == 12 and scram is not None:  # SASLFinal
        scram.verify_server(body[4:])
    else:
        writer.write(_PG_TERMINATE)
        raise _ProbeFailure(
            "auth", f"the server asks for an authentication method the probe does not support ({code})"
        )
    return scram


def _pg_md5_password(username: str, password: str, salt: bytes) -> bytes:
    inner = hashlib.md5((password + username).encode("utf-8")).hexdigest()  # noqa: S324 — the protocol's own
    return b"md5" + hashlib.md5(inner.encode("ascii") + salt).hexdigest().encode("ascii") + b"\0"  # noqa: S324


def _pg_scram_start(writer: asyncio.StreamWriter, mechanisms: bytes, password: str) -> _ScramClient:
    if b"SCRAM-SHA-256" not in mechanisms.split(b"\0"):
        writer.write(_PG_TERMINATE)
        raise _ProbeFailure("auth", "the server offers no SASL mechanism the probe supports")
    scram = _ScramClient(password)
    first = scram.first_message()
    body = b"SCRAM-SHA-256\0" + len(first).to_bytes(4, "big") + first
    writer.write(_pg_message(b"p", body))
    return scram


def _pg_error_text(body: bytes) -> str:
    """The 'M' (message) field of an ErrorResponse."""
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return _printable(field[1:])
    return "the server refused the login"


async def _pg_select_one(session: _Session) -> None:
    _, writer = session.streams
    # Query and Terminate in one write: the server answers the query, then ends the session.
    writer.write(_pg_message(b"Q", b"SELECT 1\0") + _PG_TERMINATE)
    error = ""
    while True:
        kind, body = await _pg_read(session)
        if kind == b"E":
            error = _pg_error_text(body)
        elif kind == b"Z":
            break
    if error:
        raise _ProbeFailure("query", error)


class _ScramClient:
    """The client side of SCRAM-SHA-256 (RFC 5802/7677) without channel binding."""

    def __init__(self, password: str) -> None:
        self._password = _saslprep(password).encode("utf-8")
        self._nonce = base64.b64encode(os.urandom(18)).decode("ascii")
        # PostgreSQL takes the user name from the startup message, so the SCRAM one stays empty.
        self._first_bare = f"n=,r={self._nonce}"
        self._server_signature = b""

    def first_message(self) -> bytes:
        return f"n,,{self._first_bare}".encode("ascii")

    def final_message(self, server_first: bytes) -> bytes:
        fields = _scram_fields(server_first)
        nonce, salt, iterations = fields.get("r", ""), fields.get("s", ""), fields.get("i", "")
        if not nonce.startswith(self._nonce) or not salt or not iterations.isdigit():
            raise _ProbeFailure("auth", "the server's SCRAM challenge is malformed")
        if int(iterations) > _SCRAM_MAX_ITERATIONS:
            raise _ProbeFailure(
                "auth", f"the server asks for {iterations} SCRAM iterations, more than the probe allows"
            )
        # PBKDF2 costs a few milliseconds of CPU per login (4096 rounds): inherent to SCRAM.
        salted = hashlib.pbkdf2_hmac("sha256", self._password, _b64decode(salt), int(iterations))
        final_without_proof = f"c=biws,r={nonce}"
        auth_message = b",".join([self._first_bare.encode(), server_first, final_without_proof.encode()])
        client_key = _hmac_sha256(salted, b"Client Key")
        signature = _hmac_sha256(hashlib.sha256(client_key).digest(), auth_message)
        self._server_signature = _hmac_sha256(_hmac_sha256(salted, b"Server Key"), auth_message)
        proof = base64.b64encode(_xor(client_key, signature)).decode("ascii")
        return f"{final_without_proof},p={proof}".encode("ascii")

    def verify_server(self, server_final: bytes) -> None:
        # The server proves it knows the password too; a man in the middle cannot.
        signature = _b64decode(_scram_fields(server_final).get("v", ""))
        if not hmac.compare_digest(signature, self._server_signature):
            raise _ProbeFailure("auth", "the server's SCRAM signature is wrong")


def _scram_fields(message: bytes) -> dict[str, str]:
    text = message.decode("ascii", "replace")
    return {part[0]: part[2:] for part in text.split(",") if len(part) >= 2 and part[1] == "="}


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise _ProbeFailure("auth", "the server's SCRAM message is malformed") from None


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def _saslprep(password: str) -> str:
    """SASLprep (RFC 4013) as PostgreSQL applies it: on a prohibited character, the raw password."""
    if password.isascii():
        return password
    mapped = "".join(
        " " if stringprep.in_table_c12(ch) else ch for ch in password if not stringprep.in_table_b1(ch)
    )
    normalized = unicodedata.normalize("NFKC", mapped)
    prohibited = (
        stringprep.in_table_c12,
        stringprep.in_table_c21_c22,
        stringprep.in_table_c3,
        stringprep.in_table_c4,
        stringprep.in_table_c5,
        stringprep.in_table_c6,
        stringprep.in_table_c7,
        stringprep.in_table_c8,
        stringprep.in_table_c9,
    )
    if any(check(ch) for ch in normalized for check in prohibited):
        return password
    return normalized


_KIND_PROBES: dict[str, Callable[[ProbeTarget, _Session], Awaitable[str]]] = {
    "http": _probe_http,
    "mysql": _probe_mysql,
    "postgresql": _probe_postgresql,
    "redis": _probe_redis,
}
