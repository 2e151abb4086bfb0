"""A delivery made into what its channel sends: a signed webhook POST, a Slack-compatible message, an
alert posted to Alertmanager's API v2, or an email (README, "Alerts"). No network here: ``sending`` does that.

Text a probed server returned (an error message) and names people typed travel inside these
messages, so each channel's escaping applies: Slack's ``&``, ``<`` and ``>`` (no ``<!channel>``
mention, no ``<http://x|disguised>`` link), and no control character in an email (no forged header
or line).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation

from core.validation import printable
from kato_console.alerts import payloads, sending
from kato_console.alerts.models import ChannelKind, Delivery

SIGNATURE_VERSION = "v1"
ALERTMANAGER_PATH = "/api/v2/alerts"


def build_message(delivery: Delivery, *, now: float | None = None) -> sending.WebhookPost | EmailMessage:
    """What this delivery sends, its texts in the channel's language; ``SendError`` (no retry) when it
    cannot be built."""
    with translation.override(delivery.channel.language or settings.LANGUAGE_CODE):
        return _build_message(delivery, now=now)


def _build_message(delivery: Delivery, *, now: float | None = None) -> sending.WebhookPost | EmailMessage:
    channel = delivery.channel
    if channel.kind == ChannelKind.EMAIL:
        return sending.email_message(
            recipients=channel.recipients,
            subject=printable(f"[Kato Console] {payloads.summary(delivery.payload)}")[:200],
            body=printable_lines(delivery.payload),
        )
    if channel.kind == ChannelKind.ALERTMANAGER:
        body = json.dumps([payloads.alertmanager_alert(delivery.payload)], separators=(",", ":")).encode()
        url = channel.target.rstrip("/") + ALERTMANAGER_PATH
        return sending.WebhookPost(url, body, {})
    if channel.kind == ChannelKind.SLACK:
        text = slack_escape(printable_lines(delivery.payload))
        return sending.WebhookPost(channel.target, json.dumps({"text": text}).encode(), {})
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = int(time.time() if now is None else now)
    headers = {
        "X-Kato-Signature": signature_header(
            channel.secret, timestamp=timestamp, key=delivery.key, body=body
        ),
        "X-Kato-Delivery": delivery.key,
    }
    return sending.WebhookPost(channel.target, body, headers)


def signature_header(secret: str, *, timestamp: int, key: str, body: bytes) -> str:
    """``t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<delivery key>.<body>">``: a receiver that checks
    the time is recent and remembers the keys it saw rejects a replayed request (docs/alerts.md)."""
    signed = f"{timestamp}.{key}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},{SIGNATURE_VERSION}={digest}"


def slack_escape(text: str) -> str:
    """Slack's escaping of message text: ``&``, ``<`` and ``>`` become entities, so nothing in it is a
    mention, a link or a command."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def printable_lines(payload: dict[str, Any]) -> str:
    """The message's lines, each made ``printable``: nothing inside a line can start another."""
    return "\n".join(printable(line) for line in payloads.text_lines(payload))
