"""The MySQL (and MariaDB) probe: the greeting, or with credentials a login, SELECT 1 and COM_QUIT."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

from instances.probes._net import (
    MESSAGE_LIMIT,
    ProbeFailure,
    ProbeTarget,
    Session,
    database_tls_context,
    printable,
    start_tls,
    xor,
)

# --------------------------------------------------------------------------------------------
# mysql (and MariaDB)
# --------------------------------------------------------------------------------------------

_CLIENT_LONG_PASSWORD = 0x1
_CLIENT_CONNECT_WITH_DB = 0x8
_CLIENT_PROTOCOL_41 = 0x200
_CLIENT_SSL = 0x800
_CLIENT_TRANSACTIONS = 0x2000
_CLIENT_SECURE_CONNECTION = 0x8000
_CLIENT_PLUGIN_AUTH = 0x80000
_MYSQL_UTF8_GENERAL_CI = 33  # understood by every server since 4.1
_MYSQL_NATIVE = "mysql_native_password"
_MYSQL_CACHING_SHA2 = "caching_sha2_password"
_REFUSED_IN_CLEAR = "the server wants the password in clear without TLS; refused"


@dataclass(frozen=True)
class _MySQLGreeting:
    version: str
    capabilities: int
    scramble: bytes
    plugin: str


class _MySQLPackets:
    """MySQL packet framing: 3-byte length, 1-byte sequence number, payload."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.reader, self.writer = session.streams
        self.sequence = 0

    async def read(self) -> bytes:
        header = await self.reader.readexactly(4)
        length = int.from_bytes(header[:3], "little")
        if length > MESSAGE_LIMIT:
            raise ProbeFailure(self.session.stage, _mysql_oversized(header, length))
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
        f"the server sent a {length}-byte packet, more than the {MESSAGE_LIMIT // 1024} KiB a probe accepts"
    )


async def probe_mysql(target: ProbeTarget, session: Session) -> str:
    session.stage = "greeting"
    packets = _MySQLPackets(session)
    greeting = _mysql_parse_greeting(await packets.read())
    server_info = _mysql_server_info(greeting.version)
    if not target.username:
        # Greeting only. The server counts this as an interrupted handshake towards
        # max_connect_errors (after 100 in a row without a successful login from this host, it
        # blocks the host): the UI must say so. The credentialed probe always finishes the login.
        return server_info
    if greeting.capabilities & _CLIENT_SSL:
        await _mysql_start_tls(packets, greeting, target)
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
        raise ProbeFailure("greeting", _mysql_error_text(payload))
    if payload[:1] != b"\x0a":
        raise ProbeFailure("greeting", "the server did not answer like MySQL (unknown protocol version)")
    try:
        return _mysql_greeting_fields(payload)
    except (IndexError, ValueError):
        raise ProbeFailure("greeting", "the server sent a malformed MySQL greeting") from None


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
    number = match.group(0) if match else printable(version.encode(), 40)
    flavour = "MariaDB" if "mariadb" in version.lower() else "MySQL"
    return f"{flavour} {number}"


def _mysql_error_text(payload: bytes) -> str:
    """The message of an ERR packet: 0xff, code, optional '#' + SQL state, message."""
    message = payload[3:]
    if message[:1] == b"#":
        message = message[6:]
    return printable(message) or "the server refused the connection"


async def _mysql_login(packets: _MySQLPackets, greeting: _MySQLGreeting, target: ProbeTarget) -> None:
    required = _CLIENT_PROTOCOL_41 | _CLIENT_SECURE_CONNECTION
    if greeting.capabilities & required != required:
        raise ProbeFailure("auth", "the server is too old for the probe (no protocol 4.1 authentication)")
    plugin = greeting.plugin if greeting.plugin in _MYSQL_AUTH else _MYSQL_NATIVE
    scramble = greeting.scramble
    encrypted = packets.session.encrypted
    packets.write(_mysql_handshake_response(greeting, target, plugin, encrypted=encrypted))
    # Round trips: the answer, an AuthSwitchRequest, caching_sha2's extra steps; more is a loop.
    for _ in range(6):
        packet = await packets.read()
        if packet[:1] == b"\x00":
            return
        if packet[:1] == b"\xff":
            raise ProbeFailure("auth", _mysql_error_text(packet))
        if packet[:1] == b"\xfe":
            plugin, scramble = _mysql_auth_switch(packet)
            await _mysql_answer_switch(packets, plugin, scramble, target.password)
        elif packet[:1] == b"\x01" and plugin == _MYSQL_CACHING_SHA2:
            await _caching_sha2_more(packets, packet[1:], target.password)
        else:
            raise ProbeFailure("auth", "the server sent an unexpected packet during login")
    raise ProbeFailure("auth", "the login did not finish")


async def _mysql_start_tls(packets: _MySQLPackets, greeting: _MySQLGreeting, target: ProbeTarget) -> None:
    """The SSLRequest (the handshake response's first 32 bytes, with CLIENT_SSL), then TLS; the
    handshake response follows encrypted, in the same packet sequence."""
    packets.write(_mysql_client_header(_mysql_client_flags(greeting, target, encrypted=True)))
    await start_tls(packets.session, database_tls_context(), server_hostname=None)


def _mysql_client_flags(greeting: _MySQLGreeting, target: ProbeTarget, *, encrypted: bool) -> int:
    flags = _CLIENT_LONG_PASSWORD | _CLIENT_PROTOCOL_41 | _CLIENT_TRANSACTIONS | _CLIENT_SECURE_CONNECTION
    flags |= greeting.capabilities & _CLIENT_PLUGIN_AUTH
    if target.database:
        flags |= _CLIENT_CONNECT_WITH_DB
    if encrypted:
        flags |= _CLIENT_SSL
    return flags


def _mysql_client_header(flags: int) -> bytes:
    """Capabilities, maximum packet size, character set and 23 reserved bytes."""
    return (
        flags.to_bytes(4, "little")
        + (1 << 24).to_bytes(4, "little")
        + bytes([_MYSQL_UTF8_GENERAL_CI])
        + bytes(23)
    )


def _mysql_handshake_response(
    greeting: _MySQLGreeting, target: ProbeTarget, plugin: str, *, encrypted: bool
) -> bytes:
    flags = _mysql_client_flags(greeting, target, encrypted=encrypted)
    auth = _MYSQL_AUTH[plugin](target.password, greeting.scramble)
    payload = _mysql_client_header(flags)
    payload += target.username.encode("utf-8") + b"\0" + bytes([len(auth)]) + auth
    if target.database:
        payload += target.database.encode("utf-8") + b"\0"
    if flags & _CLIENT_PLUGIN_AUTH:
        payload += plugin.encode("ascii") + b"\0"
    return payload


def _mysql_auth_switch(packet: bytes) -> tuple[str, bytes]:
    if len(packet) == 1:
        raise ProbeFailure("auth", "the server asks for the pre-4.1 password scheme, which the probe refuses")
    name, _, data = packet[1:].partition(b"\0")
    return name.decode("ascii", "replace"), data.removesuffix(b"\0")[:20]


async def _mysql_answer_switch(packets: _MySQLPackets, plugin: str, scramble: bytes, password: str) -> None:
    if plugin in _MYSQL_AUTH:
        packets.write(_MYSQL_AUTH[plugin](password, scramble))
        return
    await _mysql_finish_refused(packets)
    raise ProbeFailure(
        "auth", f"the account uses the {plugin} authentication plugin, which the probe does not support"
    )


def _mysql_native_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    stage1 = hashlib.sha1(password.encode("utf-8")).digest()  # noqa: S324 — the protocol's own hash
    stage2 = hashlib.sha1(stage1).digest()  # noqa: S324
    return xor(stage1, hashlib.sha1(scramble + stage2).digest())  # noqa: S324


def _caching_sha2_password(password: str, scramble: bytes) -> bytes:
    if not password:
        return b""
    digest1 = hashlib.sha256(password.encode("utf-8")).digest()
    digest2 = hashlib.sha256(hashlib.sha256(digest1).digest() + scramble).digest()
    return xor(digest1, digest2)


_MYSQL_AUTH: dict[str, Callable[[str, bytes], bytes]] = {
    _MYSQL_NATIVE: _mysql_native_password,
    _MYSQL_CACHING_SHA2: _caching_sha2_password,
}


async def _caching_sha2_more(packets: _MySQLPackets, data: bytes, password: str) -> None:
    """caching_sha2_password after the scramble: 3 = fast auth passed (OK follows), 4 = the server
    has no cached hash and wants the password itself.

    The password goes only over TLS. Without it the protocol's alternative is to encrypt it to an
    RSA key the server supplies, which protects nothing from a server that is not the one it
    claims to be (Connector/J's allowPublicKeyRetrieval=false): refused.
    """
    if data == b"\x03":
        return
    if data != b"\x04":
        raise ProbeFailure("auth", "the server sent an unexpected caching_sha2_password step")
    if packets.session.encrypted:
        packets.write(password.encode("utf-8") + b"\0")
        return
    await _mysql_finish_refused(packets)
    raise ProbeFailure("auth", _REFUSED_IN_CLEAR)


async def _mysql_finish_refused(packets: _MySQLPackets) -> None:
    """Answer with an empty packet, which the server takes for a wrong password: it ends the
    handshake with "Access denied" instead of counting an interrupted one towards blocking this
    host (max_connect_errors). Whatever it answers, the login has failed."""
    packets.write(b"")
    with contextlib.suppress(ProbeFailure, asyncio.IncompleteReadError, OSError):
        await packets.read()


async def _mysql_select_one(packets: _MySQLPackets) -> None:
    """Run SELECT 1 and read the whole result set: column count, definitions, EOF, rows, EOF."""
    packets.command(b"\x03SELECT 1")
    first = await packets.read()
    if first[:1] == b"\xff":
        raise ProbeFailure("query", _mysql_error_text(first))
    if first[:1] == b"\x00":
        return
    eof_packets = 0
    while eof_packets < 2:
        packet = await packets.read()
        if packet[:1] == b"\xff":
            raise ProbeFailure("query", _mysql_error_text(packet))
        # An EOF packet is 0xfe and short; a row may also start with 0xfe but is then 9+ bytes.
        if packet[:1] == b"\xfe" and len(packet) < 9:
            eof_packets += 1
