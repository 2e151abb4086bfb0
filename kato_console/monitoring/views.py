"""``/metrics``: the console's figures for Prometheus, for whoever holds ``KATO_METRICS_TOKEN``
(``Authorization: Bearer …``) and/or comes from ``KATO_METRICS_ALLOWED_NETWORKS``."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from core.net import client_ip, network_containing, parse_ip
from kato_console.monitoring.metrics import exposition

NOT_ENABLED = (
    "/metrics is off: set KATO_METRICS_TOKEN (a bearer token for Prometheus' scrape config) and/or "
    "KATO_METRICS_ALLOWED_NETWORKS (the networks Prometheus scrapes from) to turn it on.\n"
)


@login_not_required  # its own bearer token and networks
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    response = HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
    response["Cache-Control"] = "no-store"
    return response


def _refusal(request: HttpRequest) -> HttpResponse | None:
    """Why this request may not read the metrics, as the answer to give, or None when it may.
    Each protection that is configured must be passed."""
    token, networks = settings.KATO_METRICS_TOKEN, settings.KATO_METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return _plain(NOT_ENABLED, 403)
    if networks and not _from_allowed_network(request, networks):
        return _plain("Your address may not read the metrics (KATO_METRICS_ALLOWED_NETWORKS).\n", 403)
    if token and not _bearer_matches(request, token):
        response = _plain("A valid bearer token is required (Authorization: Bearer <token>).\n", 401)
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return None


def _from_allowed_network(request: HttpRequest, networks: list) -> bool:
    address = parse_ip(client_ip(request.META.get("REMOTE_ADDR")) or "")
    return address is not None and network_containing(address, networks, embedded=False) is not None


def _bearer_matches(request: HttpRequest, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time, as bytes: a wrong token takes as long however much of it is right.
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")
