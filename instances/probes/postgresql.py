"""The PostgreSQL probe: the SSLRequest exchange, or with credentials a login and SELECT 1."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import stringprep
import unicodedata

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
# postgresql
# --------------------------------------------------------------------------------------------

_PG_SSL_REQUEST = (8).to_bytes(4, "big") + (80877103).to_bytes(4, "big")
_PG_PROTOCOL_3 = (196608).to_bytes(4, "big")
_PG_TERMINATE = b"X" + (4).to_bytes(4, "big")
_SCRAM_MAX_ITERATIONS = 100_000  # PostgreSQL uses 4096; a hostile server must not buy our CPU


async def probe_postgresql(target: ProbeTarget, session: Session) -> str:
    session.stage = "greeting"
    ssl_available = await _pg_ssl_request(session)
    if not target.username:
        return "PostgreSQL (SSL available)" if ssl_available else "PostgreSQL (no SSL)"
    if ssl_available:
        # Like libpq's default sslmode=prefer: encrypt when offered, without verifying the
        # certificate, so that a server accepting only TLS connections can be logged in to. SNI
        # is sent as libpq does, since proxies in front of managed databases route by it.
        await start_tls(session, database_tls_context(), server_hostname=target.host)
    session.stage = "auth"
    parameters = await _pg_login(session, target)
    session.stage = "query"
    await _pg_select_one(session)
    version = parameters.get("server_version", "").split(" ")[0]
    return f"PostgreSQL {version}".strip()


async def _pg_ssl_request(session: Session) -> bool:
    reader, writer = session.streams
    writer.write(_PG_SSL_REQUEST)
    answer = await reader.readexactly(1)
    if answer in (b"S", b"N"):
        return answer == b"S"
    if answer == b"E":
        raise ProbeFailure("greeting", "the server refused the SSL request with an error")
    raise ProbeFailure("greeting", f"the server did not answer like PostgreSQL ({printable(answer)!r})")


async def _pg_read(session: Session) -> tuple[bytes, bytes]:
    reader, _ = session.streams
    header = await reader.readexactly(5)
    length = int.from_bytes(header[1:], "big")
    if not 4 <= length <= MESSAGE_LIMIT:
        raise ProbeFailure(session.stage, "the server sent a malformed PostgreSQL message")
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


async def _pg_login(session: Session, target: ProbeTarget) -> dict[str, str]:
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
            raise ProbeFailure("auth", _pg_error_text(body))
        elif kind == b"S":
            name, _, rest = body.partition(b"\0")
            value = rest.partition(b"\0")[0]
            parameters[name.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
        elif kind == b"Z":
            return parameters
        elif kind not in (b"K", b"N", b"v"):
            raise ProbeFailure("auth", "the server sent an unexpected message during login")
    raise ProbeFailure("auth", "the login did not finish")


def _pg_authenticate(
    session: Session, target: ProbeTarget, body: bytes, scram: _ScramClient | None
) -> _ScramClient | None:
    """Answer one Authentication message; returns the SCRAM exchange in progress, if any."""
    _, writer = session.streams
    code = int.from_bytes(body[:4], "big")
    if code == 0:  # AuthenticationOk
        return scram
    if code in (3, 5, 10) and not target.password:
        # libpq refuses to send an empty password too; the server would only say it is wrong.
        writer.write(_PG_TERMINATE)
        raise ProbeFailure("auth", "the server asks for a password and none is configured")
    if code == 3 and not session.encrypted:
        # The password itself, readable by anyone on the way: only ever sent over TLS.
        writer.write(_PG_TERMINATE)
        raise ProbeFailure("auth", "the server wants the password in clear without TLS; refused")
    if code == 3:  # cleartext password, inside TLS
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
        raise ProbeFailure(
            "auth", f"the server asks for an authentication method the probe does not support ({code})"
        )
    return scram


def _pg_md5_password(username: str, password: str, salt: bytes) -> bytes:
    inner = hashlib.md5((password + username).encode("utf-8")).hexdigest()  # noqa: S324 — the protocol's own
    return b"md5" + hashlib.md5(inner.encode("ascii") + salt).hexdigest().encode("ascii") + b"\0"  # noqa: S324


def _pg_scram_start(writer: asyncio.StreamWriter, mechanisms: bytes, password: str) -> _ScramClient:
    if b"SCRAM-SHA-256" not in mechanisms.split(b"\0"):
        writer.write(_PG_TERMINATE)
        raise ProbeFailure("auth", "the server offers no SASL mechanism the probe supports")
    scram = _ScramClient(password)
    first = scram.first_message()
    body = b"SCRAM-SHA-256\0" + len(first).to_bytes(4, "big") + first
    writer.write(_pg_message(b"p", body))
    return scram


def _pg_error_text(body: bytes) -> str:
    """The 'M' (message) field of an ErrorResponse."""
    for field in body.split(b"\0"):
        if field[:1] == b"M":
            return printable(field[1:])
    return "the server refused the login"


async def _pg_select_one(session: Session) -> None:
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
        raise ProbeFailure("query", error)


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
            raise ProbeFailure("auth", "the server's SCRAM challenge is malformed")
        if int(iterations) > _SCRAM_MAX_ITERATIONS:
            raise ProbeFailure(
                "auth", f"the server asks for {iterations} SCRAM iterations, more than the probe allows"
            )
        # PBKDF2 costs a few milliseconds of CPU per login (4096 rounds): inherent to SCRAM.
        salted = hashlib.pbkdf2_hmac("sha256", self._password, _b64decode(salt), int(iterations))
        final_without_proof = f"c=biws,r={nonce}"
        auth_message = b",".join([self._first_bare.encode(), server_first, final_without_proof.encode()])
        client_key = _hmac_sha256(salted, b"Client Key")
        signature = _hmac_sha256(hashlib.sha256(client_key).digest(), auth_message)
        self._server_signature = _hmac_sha256(_hmac_sha256(salted, b"Server Key"), auth_message)
        proof = base64.b64encode(xor(client_key, signature)).decode("ascii")
        return f"{final_without_proof},p={proof}".encode("ascii")

    def verify_server(self, server_final: bytes) -> None:
        # The server proves it knows the password too; a man in the middle cannot.
        signature = _b64decode(_scram_fields(server_final).get("v", ""))
        if not hmac.compare_digest(signature, self._server_signature):
            raise ProbeFailure("auth", "the server's SCRAM signature is wrong")


def _scram_fields(message: bytes) -> dict[str, str]:
    text = message.decode("ascii", "replace")
    return {part[0]: part[2:] for part in text.split(",") if len(part) >= 2 and part[1] == "="}


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise ProbeFailure("auth", "the server's SCRAM message is malformed") from None


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
