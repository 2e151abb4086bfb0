"""``{{ port|internal_address }}`` and ``{{ port|external_address }}``: where the gateway serves a port."""

from __future__ import annotations

from django import template

from components import gateway
from components.models import Port, Protocol

register = template.Library()


@register.filter
def internal_address(port: Port) -> str | None:
    return gateway.internal_address(port)


@register.filter
def external_address(port: Port) -> str | None:
    return gateway.external_address(port)


@register.filter
def access_url(port: Port) -> str | None:
    """The URL a person opens for an ``http`` port whose external service is on (the *Access* link)."""
    return gateway.external_address(port) if port.protocol == Protocol.HTTP else None
