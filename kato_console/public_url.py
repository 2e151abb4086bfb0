"""The address the console is served at, as a user or script should use it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def public_url(request: HttpRequest | None, path: str) -> str:
    """``path`` under ``KATO_PUBLIC_URL``, or, when it is unset, under the request's scheme and host.

    With no public URL configured, the address the browser (or script) used is the one that works
    when copied: ``make run`` on another port, a container behind a mapped port, a proxy that
    passes the Host header. Without a request either, the path alone is the honest answer.
    """
    if settings.KATO_PUBLIC_URL:
        return f"{settings.KATO_PUBLIC_URL}{path}"
    if request is None:
        return path
    return request.build_absolute_uri(path)
