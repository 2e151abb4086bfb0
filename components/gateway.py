"""Where the gateway serves a component's port (README, "The gateway"; docs/architecture.md, "The gateway").

Turning on a port's internal service gives it a port on the gateway's internal address, taken from
``KATO_GATEWAY_INTERNAL_PORTS`` and kept for the port's life, so that what dependents were given never
moves; the external service of a TCP port likewise takes one from ``KATO_GATEWAY_PUBLIC_PORTS``, and an
``http`` port is served by host name on the one HTTP port. This module holds those rules and the
addresses people are shown; ``kato_console.gateway`` turns the same rows into the proxy's configuration.
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext

from components.models import Component, Port, Protocol
from core.errors import ComponentError

# One lock for both ranges: allocations are rare (a switch turned on), so serialising them costs nothing.
_ALLOCATION_LOCK = 0x6B61746F


def routing_on() -> bool:
    return bool(settings.KATO_GATEWAY)


def port_range(text: str) -> range:
    """``"20000-24999"`` as a range (both ends included); ValueError with a sentence otherwise."""
    first, _, last = text.partition("-")
    try:
        low, high = int(first), int(last or first)
    except ValueError:
        raise ValueError(f"{text!r} is not a port range such as 20000-24999.") from None
    if not 1 <= low <= high <= 65535:
        raise ValueError(f"{text!r} is not a port range within 1-65535.")
    return range(low, high + 1)


def allocate_gateway_ports(port: Port) -> None:
    """Give ``port`` its gateway ports as its switches need them; a port keeps them once given."""
    changed = []
    if port.inner_service and port.gateway_port is None:
        port.gateway_port = _free_port("gateway_port", settings.KATO_GATEWAY_INTERNAL_PORTS)
        changed.append("gateway_port")
    if port.outer_service and port.protocol != Protocol.HTTP and port.public_port is None:
        port.public_port = _free_port("public_port", settings.KATO_GATEWAY_PUBLIC_PORTS)
        changed.append("public_port")
    if changed:
        port.save(update_fields=changed)


def _free_port(field: str, text: str) -> int:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_ALLOCATION_LOCK])
    numbers = port_range(text)
    taken = set(
        Port.objects.filter(**{f"{field}__gte": numbers.start, f"{field}__lt": numbers.stop}).values_list(
            field, flat=True
        )
    )
    for number in numbers:
        if number not in taken:
            return number
    raise ComponentError(
        gettext("Every gateway port in %(text)s is taken; ask an operator to widen the range.")
        % {"text": text}
    )


def http_host(component: Component) -> str:
    """The host name of an ``http`` port's external route, as Kato's default domains."""
    return route_host(component.service_name, component.application.slug)


def route_host(service_name: str, application_slug: str) -> str:
    return f"{service_name}-{application_slug}.{settings.KATO_GATEWAY_DOMAIN}"


def internal_address(port: Port) -> str | None:
    """``host:port`` where dependents reach ``port`` through the gateway; None when not routed."""
    if not routing_on() or not port.inner_service or port.gateway_port is None:
        return None
    return _join(settings.KATO_GATEWAY_HOST, port.gateway_port)


def external_address(port: Port) -> str | None:
    """``host:port`` (TCP) or the URL (``http``) where people reach ``port``; None when not exposed."""
    if not routing_on() or not port.outer_service:
        return None
    if port.protocol == Protocol.HTTP:
        http_port = settings.KATO_GATEWAY_HTTP_PORT
        suffix = "" if http_port == 80 else f":{http_port}"
        return f"http://{http_host(port.component)}{suffix}/"
    if port.public_port is None:
        return None
    return _join(settings.KATO_GATEWAY_PUBLIC_HOST, port.public_port)


def _join(host: str, number: int) -> str:
    return f"[{host}]:{number}" if ":" in host else f"{host}:{number}"
