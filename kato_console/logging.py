"""A logging filter that keeps secrets out of log lines.

Secrets are never passed to a logger on purpose; this filter is the second line of defence for
request bodies and query strings that a library might log (Django logs the path of a failed
request, and a script may put ``?secret_key=`` in it).
"""

from __future__ import annotations

import logging
import re

_SECRET_PATTERNS = [
    re.compile(r"(secret_key[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+", re.IGNORECASE),
    re.compile(r"(Authorization:\s*(?:Bearer|Token)\s+)\S+", re.IGNORECASE),
    re.compile(r"(password[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+", re.IGNORECASE),
]


def redact(text: str) -> str:
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(r"\1[redacted]", text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
