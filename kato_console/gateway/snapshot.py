"""What the gateway routes right now, read from the database in two queries.

One upstream per component port whose internal service is on; its endpoints are the component's
**routed** instances (``Instance.objects.routed()``: online, and healthy or with the check off). An
instance registered with a port serves the component's port of that number (or the only port of a
component that has one); an instance without a port serves every port at the port's own number. A DNS
name contributes each address it resolves to now.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import defaultdict
from collections.abc import Callable, Iterable

from components.gateway import http_host
from components.models import Port, Protocol
from instances.models import Instance
from kato_console.gateway.config import Endpoint, Upstream

Resolver = Callable[[str, int], list[str]]


def resolve(name: str, port: int) -> list[str]:
    """Every address ``name`` resolves to now (none when it does not resolve)."""
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})


def routed_upstreams(*, resolver: Resolver = resolve) -> list[Upstream]:
    ports = list(
        Port.objects.filter(inner_service=True, gateway_port__isnull=False)
        .select_related("component__application")
        .order_by("pk")
    )
    by_component: dict[int, list[Port]] = defaultdict(list)
    for port in ports:
        by_component[port.component_id].append(port)
    rows = (
        Instance.objects.routed()
        .filter(component_id__in=list(by_component))
        .values_list("component_id", "host", "port")
    )
    endpoints: dict[int, list[Endpoint]] = defaultdict(list)
    resolver = _once_per_name(resolver)
    for component_id, host, instance_port in rows:
        for port in _served_ports(by_component[component_id], instance_port):
            endpoints[port.pk] += _endpoints(host, instance_port or port.number, resolver)
    return [_upstream(port, endpoints[port.pk]) for port in ports]


def _once_per_name(resolver: Resolver) -> Resolver:
    """A name registered for several components or ports is looked up once per snapshot."""
    answers: dict[str, list[str]] = {}

    def lookup(name: str, port: int) -> list[str]:
        if name not in answers:
            answers[name] = resolver(name, port)
        return answers[name]

    return lookup


def _served_ports(ports: list[Port], instance_port: int | None) -> Iterable[Port]:
    if instance_port is None:
        return ports
    matching = [port for port in ports if port.number == instance_port]
    if matching:
        return matching
    return ports if len(ports) == 1 else []


def _endpoints(host: str, port: int, resolver: Resolver) -> list[Endpoint]:
    try:
        return [Endpoint(ip=str(ipaddress.ip_address(host)), port=port)]
    except ValueError:
        return [Endpoint(ip=ip, port=port, hostname=host) for ip in resolver(host, port)]


def _upstream(port: Port, endpoints: list[Endpoint]) -> Upstream:
    component = port.component
    exposed = port.outer_service
    assert port.gateway_port is not None  # noqa: S101 (filtered above)
    return Upstream(
        name=f"port-{port.pk}",
        label=f"{component.application.slug}.{component.service_name}.{port.number}",
        internal_port=port.gateway_port,
        endpoints=tuple(endpoints),
        public_port=port.public_port if exposed and port.protocol != Protocol.HTTP else None,
        http_host=http_host(component) if exposed and port.protocol == Protocol.HTTP else "",
    )
