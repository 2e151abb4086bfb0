"""What every probe shares: the target and result values, the session, name resolution, the
denied-network policy, connecting, TLS, and turning what went wrong into a sentence."""

from __future__ import annotations

import asyncio
import errno
import functools
import logging
import socket
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from instances.addresses import IPNetwork, network_containing, parse_ip

logger = logging.getLogger("instances.probes")


PROBE_KINDS = ("tcp", "http", "mysql", "postgresql", "redis")

# The longest line (HTTP status line, Redis reply line) and the largest protocol message we accept.
# Anything bigger is not what a healthy server sends to a probe, and reading it would cost memory
# and CPU across thousands of concurrent probes.
LINE_LIMIT = 16 * 1024
MESSAGE_LIMIT = 64 * 1024

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
    tls: bool = False  # http: https; redis: TLS from the first byte (a rediss:// instance)
    verify_tls: bool = True  # http: certificate verification (per-check switch)
    username: str = ""  # mysql/postgresql/redis credentials; empty = greeting-only / no AUTH
    password: str = ""
    database: str = ""  # mysql/postgresql, optional
    # One address of ``host`` (a DNS name) to connect to instead of resolving it; the name still
    # gives the Host header and the TLS server name. Set when a name's addresses are probed one by one.
    address: str = ""

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
    """How one probe went (``failure`` names what failed, in a word a person reads)."""

    ok: bool
    latency_ms: float | None = None
    stage: str = ""  # where it failed: dns, policy, connect, tls, greeting, auth, query, response
    error: str = ""  # short sentence a person understands; never contains the password
    server_info: str = ""  # e.g. "MariaDB 10.11.19", "PostgreSQL 15.19", "Redis 7.0.15", "HTTP 200"
    address: str = ""  # the IP actually connected to (useful when DNS returned several)
    # A DNS name's target: every address it resolved to, in order, with that address's own result.
    # This result is then the first that passed, or the first failure when none did.
    each_address: tuple[tuple[str, ProbeResult], ...] = ()
    # When the certificate the server showed in a TLS handshake stops being valid (UTC).
    cert_expires_at: datetime | None = None

    @property
    def failure(self) -> str:
        return failure_label(self.stage, self.error)


# What failed, by the stage a probe stopped at: the address, the connection, TLS, the login…; a
# login refused is not "unreachable".
FAILURES = {
    "dns": "address not found",
    "policy": "address not allowed",
    "connect": "unreachable",
    "timeout": "no answer",
    "tls": "TLS failed",
    "greeting": "unexpected answer",
    "auth": "login failed",
    "query": "query failed",
    "response": "bad response",
}


def failure_label(stage: str, error: str = "") -> str:
    if error.startswith("timed out"):
        return "no answer"
    return FAILURES.get(stage, "failed")


class ProbeFailure(Exception):
    """The target answered wrongly or not at all; ``stage`` says where, ``message`` says what."""

    def __init__(self, stage: str, message: str, *, server_info: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.message = message
        self.server_info = server_info


class Session:
    """One probe's progress (for timeouts and errors) and, once connected, its streams."""

    def __init__(self) -> None:
        self.stage = "dns"
        self.address = ""
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        # Whether the conversation runs over TLS: a password in clear is sent only then.
        self.encrypted = False
        self.cert_expires_at: datetime | None = None

    @property
    def streams(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        assert self.reader is not None and self.writer is not None
        return self.reader, self.writer


def failed_result(
    target: ProbeTarget, session: Session, failure: ProbeFailure, started: float
) -> ProbeResult:
    # Latency means nothing before a connection was attempted.
    latency = None if failure.stage in ("dns", "policy") else elapsed_ms(started)
    return ProbeResult(
        ok=False,
        latency_ms=latency,
        stage=failure.stage,
        error=_redact(failure.message, target.password),
        server_info=_redact(failure.server_info, target.password),
        address=session.address,
        cert_expires_at=session.cert_expires_at,
    )


def elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def timeout_failure(target: ProbeTarget, session: Session) -> ProbeFailure:
    doing = _DOING.get(session.stage, "")
    return ProbeFailure(session.stage, f"timed out after {_seconds(target.timeout_s)} s {doing}".rstrip())


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


def describe(exc: BaseException, session: Session) -> ProbeFailure:
    """A short sentence for an exception raised by the network or by a malformed answer."""
    stage = session.stage
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ProbeFailure("tls", f"certificate verify failed: {exc.verify_message or exc.reason}")
    if isinstance(exc, ssl.SSLError):
        reason = (exc.reason or str(exc)).replace("_", " ").lower()
        return ProbeFailure(stage, f"TLS error: {reason}")
    if isinstance(exc, asyncio.IncompleteReadError):
        return ProbeFailure(stage, "the server closed the connection unexpectedly")
    if isinstance(exc, asyncio.LimitOverrunError):
        return ProbeFailure(stage, "the server's answer is too long")
    if isinstance(exc, OSError):
        text = _ERRNO_TEXT.get(exc.errno or 0) or (exc.strerror or str(exc) or type(exc).__name__).lower()
        return ProbeFailure(stage, text)
    logger.error("probe failed unexpectedly at stage %s", stage, exc_info=exc)
    return ProbeFailure(stage, f"unexpected error ({type(exc).__name__})")


def _redact(text: str, password: str) -> str:
    # A server could echo what we sent; the password must never reach the UI or the database.
    return text.replace(password, "***") if password else text


def printable(data: bytes, limit: int = 200) -> str:
    """Server-supplied text, made safe to show: decoded, control characters removed, shortened."""
    text = data.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Name resolution, policy, connection, TLS
# --------------------------------------------------------------------------------------------


async def connect(
    target: ProbeTarget, session: Session, denied_networks: Sequence[IPNetwork]
) -> socket.socket:
    """Resolve, drop denied addresses, and connect to the first allowed address that accepts."""
    session.stage = "dns"
    addresses = [target.address] if target.address else await resolve(target.host, target.port)
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


async def resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, in the resolver's order (an IP address: itself);
    ProbeFailure (stage ``dns``) when it does not resolve."""
    host = host.strip().removeprefix("[").removesuffix("]")
    if parse_ip(host) is not None:
        return [host]
    if not host:
        raise ProbeFailure("dns", "no host name given")
    loop = asyncio.get_running_loop()
    lookup = functools.partial(
        socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    try:
        infos = await loop.run_in_executor(_DNS_EXECUTOR, lookup)
    except (socket.gaierror, ValueError) as exc:  # ValueError: not encodable, or a NUL in it
        reason = exc.strerror if isinstance(exc, socket.gaierror) else "not a valid host name"
        raise ProbeFailure("dns", f"cannot resolve {host}: {(reason or 'unknown error').lower()}") from None
    # getaddrinfo lists one address several times (per protocol); keep the first of each, in order.
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _allowed_addresses(addresses: list[str], denied_networks: Sequence[IPNetwork]) -> list[str]:
    allowed = [address for address in addresses if denying_network(address, denied_networks) is None]
    if not allowed:
        address = addresses[0]
        network = denying_network(address, denied_networks)
        raise ProbeFailure("policy", f"{address} is in a denied network ({network})")
    return allowed


def denying_network(ip: str, denied_networks: Sequence[IPNetwork]) -> IPNetwork | None:
    address = parse_ip(ip)
    if address is None:
        raise ValueError(f"{ip!r} is not an IP address")
    return network_containing(address, denied_networks)


@functools.cache
def tls_context(verify: bool, alpn: tuple[str, ...] = ()) -> ssl.SSLContext:
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


# Encryption for a database login, as libpq's sslmode=prefer and MySQL's ssl-mode=PREFERRED do
# it: used whenever the server offers it, the certificate not verified (most database servers,
# MySQL 8 first, present a self-signed one). It keeps the password from whoever watches the
# network; it does not prove who the server is, which is why credentials only go to addresses the
# team trusts (instances.health).
def database_tls_context() -> ssl.SSLContext:
    return tls_context(verify=False)


async def read_line(reader: asyncio.StreamReader) -> bytes:
    """One line including its newline; at end of stream whatever came (maybe nothing).

    Unlike ``readline()``, a line over the stream limit raises LimitOverrunError, which is
    reported as an answer too long rather than as an unexpected error.
    """
    try:
        return await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial


async def start_tls(session: Session, context: ssl.SSLContext, server_hostname: str | None) -> None:
    session.stage = "tls"
    _, writer = session.streams
    await writer.start_tls(context, server_hostname=server_hostname)
    session.encrypted = True
    ssl_object = writer.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    session.cert_expires_at = certificate_expiry(der) if der else None


def certificate_expiry(der: bytes) -> datetime | None:
    """The end of a DER certificate's validity (its notAfter), read by ``cryptography`` (the check
    may not verify the certificate, and then ``ssl`` shows none of its fields); None when it does
    not parse."""
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def xor(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with ``key`` repeated to its length."""
    return bytes(byte ^ key[index % len(key)] for index, byte in enumerate(data))
