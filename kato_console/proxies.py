"""The client's address behind reverse proxies the console trusts.

By default the client is the connection's peer (``REMOTE_ADDR``), and ``X-Forwarded-For`` is ignored:
anyone can send it. When ``KATO_TRUSTED_PROXIES`` names the proxies' networks, a request that comes
from one of them takes its client from ``X-Forwarded-For``: the rightmost address that is not itself a
trusted proxy (addresses further left were written by the client and prove nothing). The instance
API's wrong-secret throttle and the audit trail then tell clients apart instead of seeing the proxy.

Likewise ``X-Forwarded-Proto`` (``SECURE_PROXY_SSL_HEADER``, set only when there are trusted proxies)
says the client's connection was HTTPS only when a trusted proxy sends it: a request from any other
peer loses the header, so that it is never taken for a secure one.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed
from django.http import HttpRequest, HttpResponse

from core.net import client_ip, network_containing, parse_ip


def client_address(request: HttpRequest) -> str | None:
    """The client's address as the console sees it (after ``TrustedProxies``): for django-axes."""
    return client_ip(request.META.get("REMOTE_ADDR"))


class TrustedProxies:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.networks = tuple(settings.KATO_TRUSTED_PROXIES)
        if not self.networks:
            raise MiddlewareNotUsed  # Nothing to do on any request.
        self.get_response = get_response
        proto = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
        self.proto_header = proto[0] if proto else "HTTP_X_FORWARDED_PROTO"

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if not self._trusted(meta.get("REMOTE_ADDR", "")):
            meta.pop(self.proto_header, None)
            return self.get_response(request)
        forwarded = meta.get("HTTP_X_FORWARDED_FOR")
        if forwarded:
            meta["REMOTE_ADDR"] = self._client(meta["REMOTE_ADDR"], forwarded)
        return self.get_response(request)

    def _client(self, peer: str, forwarded: str) -> str:
        client = peer
        for hop in reversed(forwarded.split(",")):
            address = parse_ip(hop.strip())
            if address is None:
                break  # Not an address: nothing to its left can be trusted either.
            client = str(address)
            if not self._trusted(client):
                break
        return client

    def _trusted(self, address: str) -> bool:
        ip = parse_ip(address)
        return ip is not None and network_containing(ip, self.networks, embedded=False) is not None
