"""The Redis probe: PING and INFO server, with AUTH first when the target carries credentials and the
connection is encrypted.

Redis's AUTH carries the password as it is: like the PostgreSQL and MySQL probes, this one sends a
password only inside TLS. Over a plain connection a credentialed probe only greets the server (a
``NOAUTH`` answer is a Redis that answered), and its server information says why it did not log in.
"""

from __future__ import annotations

import asyncio
import re

from instances.probes._net import (
    MESSAGE_LIMIT,
    ProbeFailure,
    ProbeTarget,
    Session,
    printable,
    read_line,
    start_tls,
    tls_context,
)

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
GREETING_ONLY_IN_CLEAR = "greeting only: Redis would get the password in clear without TLS"


async def probe_redis(target: ProbeTarget, session: Session) -> str:
    if target.tls:
        # Redis's TLS starts with the connection (no STARTTLS), on a port of its own.
        await start_tls(session, tls_context(target.verify_tls), server_hostname=target.host)
    reader, writer = session.streams
    has_credentials = bool(target.username or target.password)
    authenticate = has_credentials and session.encrypted
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
    if has_credentials and not authenticate:
        await _redis_expect(reader, b"+PONG", stage="greeting", or_noauth=True)
        session.stage = "query"
        return f"{await _redis_server_info(reader)} ({GREETING_ONLY_IN_CLEAR})"
    await _redis_expect(reader, b"+PONG", stage="greeting")
    session.stage = "query"
    return await _redis_server_info(reader)


def _redis_command(*parts: str) -> bytes:
    encoded = [part.encode("utf-8") for part in parts]
    return f"*{len(encoded)}\r\n".encode() + b"".join(
        b"$%d\r\n%s\r\n" % (len(part), part) for part in encoded
    )


async def _redis_expect(
    reader: asyncio.StreamReader, expected: bytes, *, stage: str, or_noauth: bool = False
) -> None:
    line = await _redis_line(reader)
    if line == expected or (or_noauth and line.upper().startswith(b"-NOAUTH")):
        return
    if line.startswith(b"-"):
        message = printable(line[1:])
        is_auth_error = message.upper().startswith(_REDIS_AUTH_ERRORS)
        raise ProbeFailure("auth" if is_auth_error else stage, message)
    raise ProbeFailure(stage, f"the server did not answer like Redis ({printable(line, 60)!r})")


async def _redis_line(reader: asyncio.StreamReader) -> bytes:
    line = await read_line(reader)
    if not line:
        raise asyncio.IncompleteReadError(line, None)
    return line.rstrip(b"\r\n")


async def _redis_server_info(reader: asyncio.StreamReader) -> str:
    header = await _redis_line(reader)
    if header.startswith(b"-"):
        # INFO may be forbidden to the probing user by an ACL; the server answered, which is enough.
        return "Redis"
    if not header.startswith(b"$") or not header[1:].isdigit() or int(header[1:]) > MESSAGE_LIMIT:
        raise ProbeFailure("query", f"the server did not answer INFO like Redis ({printable(header, 60)!r})")
    body = await reader.readexactly(int(header[1:]) + 2)
    match = _REDIS_VERSION.search(body)
    return f"Redis {match.group(1).decode('ascii', 'replace').strip()}" if match else "Redis"
