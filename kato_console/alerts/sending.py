"""How a notification leaves the console: a POST to a webhook, or an email. Network only, no ORM.

A webhook's host is resolved here and every address it resolves to is checked against the denied
networks (``KATO_DENIED_NETWORKS``); the request then goes to the address that was checked, so a
name that resolves differently a moment later (DNS rebinding) cannot send it elsewhere. Errors
name the host, never the URL's path or query: a Slack-compatible URL carries its token there.
"""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import urllib3
from django.core.mail import BadHeaderError, EmailMessage, get_connection
from django.utils.translation import gettext
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Url, parse_url

from core.net import IPNetwork, network_containing, parse_ip


class SendError(Exception):
    """A notification was not delivered; the text is safe to show and log. ``retry`` is False when
    trying again cannot help (the URL is refused by policy)."""

    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


def webhook_url(url: str) -> Url:
    """The parsed URL of a webhook: http or https with a host, or ``SendError``."""
    try:
        parts = parse_url(url)
    except ValueError:
        raise SendError(gettext("The URL is not valid."), retry=False) from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise SendError(gettext("Use an http:// or https:// URL with a host."), retry=False)
    return parts


def allowed_addresses(url: str, denied_networks: Sequence[IPNetwork]) -> list[str]:
    """The IP addresses the URL's host resolves to, when none is in a denied network.

    Every address is checked, not only the first: a host that resolves to one allowed and one
    denied address is refused, since a client may connect to either.
    """
    parts = webhook_url(url)
    host = (parts.host or "").strip("[]")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise SendError(gettext("The host %(host)s does not resolve.") % {"host": host}) from None
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    for address in addresses:
        ip = parse_ip(address.partition("%")[0])
        network = network_containing(ip, denied_networks) if ip is not None else None
        if network is not None:
            raise SendError(
                gettext("The host %(host)s resolves to %(address)s, in the denied network %(network)s.")
                % {"host": host, "address": address, "network": network},
                retry=False,
            )
    return addresses


def post_json(
    url: str, *, body: bytes, headers: dict[str, str], timeout_s: float, denied_networks: Sequence[IPNetwork]
) -> int:
    """POST ``body`` to ``url`` at an allowed address; returns the status, or raises ``SendError`` for
    a network failure or an answer other than 2xx. Redirects are not followed."""
    parts = webhook_url(url)
    address = allowed_addresses(url, denied_networks)[0]
    pool = _pool(parts, address, timeout_s)
    host_header = (parts.host or "") if parts.port is None else f"{parts.host}:{parts.port}"
    try:
        response = pool.urlopen(
            "POST",
            parts.request_uri,
            body=body,
            headers={"Host": host_header, "Content-Type": "application/json", **headers},
            redirect=False,
            retries=False,
        )
    except HTTPError as error:
        raise SendError(f"{parts.host}: {_describe(error)}") from None
    finally:
        pool.close()
    if not 200 <= response.status < 300:
        raise SendError(f"{parts.host} answered {response.status}.")
    return response.status


def _pool(parts: Url, address: str, timeout_s: float) -> urllib3.HTTPConnectionPool:
    timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if parts.scheme == "https":
        # Connected to the checked address, with the name's certificate verified and sent in SNI.
        return urllib3.HTTPSConnectionPool(
            address,
            port,
            timeout=timeout,
            maxsize=1,
            cert_reqs="CERT_REQUIRED",
            server_hostname=parts.host,
            assert_hostname=parts.host,
        )
    return urllib3.HTTPConnectionPool(address, port, timeout=timeout, maxsize=1)


def _describe(error: HTTPError) -> str:
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return "no answer within the timeout."
    if isinstance(error, SSLError):
        return "the TLS handshake failed (certificate or protocol)."
    if isinstance(error, NewConnectionError):
        return "the connection was refused or the host is unreachable."
    if isinstance(error, ProtocolError):
        return "the connection broke before an answer."
    return f"the request failed ({type(error).__name__})."


@dataclass(frozen=True)
class WebhookPost:
    """A webhook's request, built and signed: only the network is left to do."""

    url: str
    body: bytes
    headers: dict[str, str]


def email_message(*, recipients: Sequence[str], subject: str, body: str) -> EmailMessage:
    """The email, its headers checked now: ``SendError`` (no retry) when it cannot be built, for
    example when an address holds a line break."""
    message = EmailMessage(subject=subject, body=body, to=list(recipients))
    try:
        message.message()
    except (BadHeaderError, ValueError):
        raise SendError(
            "The email could not be built: an address or the subject holds a line break or another "
            "character a mail header cannot carry.",
            retry=False,
        ) from None
    return message


def send(
    message: WebhookPost | EmailMessage, *, timeout_s: float, denied_networks: Sequence[IPNetwork]
) -> None:
    """Send a built message; ``SendError`` when it was not delivered."""
    if isinstance(message, WebhookPost):
        post_json(
            message.url,
            body=message.body,
            headers=message.headers,
            timeout_s=timeout_s,
            denied_networks=denied_networks,
        )
    else:
        send_email(message, timeout_s=timeout_s)


def send_email(message: EmailMessage, *, timeout_s: float) -> None:
    """Send through Django's email backend (the EMAIL_* settings); ``SendError`` when it fails."""
    try:
        message.connection = get_connection(timeout=timeout_s)
        message.send()
    except (smtplib.SMTPException, OSError) as error:
        # SMTP's own errors name the server's reply, never the password.
        raise SendError(
            f"The mail server refused or could not be reached ({type(error).__name__})."
        ) from None
