"""The HTTP probe: GET the check's path, success below 400, no redirects followed."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import quote

from instances.probes._net import (
    LINE_LIMIT,
    ProbeFailure,
    ProbeTarget,
    Session,
    printable,
    read_line,
    start_tls,
    tls_context,
)

# --------------------------------------------------------------------------------------------
# http
# --------------------------------------------------------------------------------------------

_HTTP_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?: |\r?\n|$)")


async def probe_http(target: ProbeTarget, session: Session) -> str:
    if target.tls:
        # Offer only HTTP/1.1 so a server preferring HTTP/2 still answers in the protocol we speak.
        context = tls_context(target.verify_tls, ("http/1.1",))
        await start_tls(session, context, server_hostname=target.host)
    session.stage = "response"
    reader, writer = session.streams
    writer.write(_http_request(target))
    status = await _http_final_status(reader)
    info = f"HTTP {status}"
    if status >= 400:
        raise ProbeFailure("response", info, server_info=info)
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
    raise ProbeFailure("response", "the server sent only interim (1xx) responses")


async def _http_status(reader: asyncio.StreamReader) -> int:
    line = await read_line(reader)
    if not line:
        raise ProbeFailure("response", "the server closed the connection without answering")
    match = _HTTP_STATUS_LINE.match(line)
    if match is None:
        raise ProbeFailure("response", f"the server did not answer with HTTP ({printable(line, 60)!r})")
    return int(match.group(1))


async def _http_skip_headers(reader: asyncio.StreamReader) -> None:
    total = 0
    while (line := await read_line(reader)) not in (b"\r\n", b"\n", b""):
        total += len(line)
        if total > LINE_LIMIT:
            raise ProbeFailure("response", "the server's headers are too long")
