"""What the gateway routes right now, read from the database in two queries (three with DNS names).

One upstream per component port whose internal service is on; its endpoints are the component's
**routed** instances (``Instance.objects.routed()``: online, and healthy or with the check off). An
instance registered with a port serves the component's port of that number (or the only port of a
component that has one); an instance without a port serves every port at the port's own number. A DNS
name whose component checks its instances contributes each address the sweep resolved it to that
passes its checks (``ResolvedAddress``, healthy); with the check off, each address it resolves to now.
"""

from __future__ import annotations

import ipaddress
import socket
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef

from components.gateway import route_host
from components.models import Port, Protocol
from instances.addresses import TLS_SCHEMES
from instances.models import Health, Instance, ResolvedAddress
from instances.probes import is_name
from kato_console.gateway.config import Endpoint, Upstream

Resolver = Callable[[str, int], list[str]]


def resolve(name: str, port: int) -> list[str]:
    """Every address ``name`` resolves to now (none when it does not resolve)."""
    try:
        found = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return sorted({str(info[4][0]) for info in found})


@dataclass(frozen=True)
class _PortRow:
    pk: int
    component_id: int
    number: int
    protocol: str
    outer_service: bool
    gateway_port: int
    public_port: int | None
    service_name: str
    application_slug: str


_PORT_FIELDS = (
    "pk",
    "component_id",
    "number",
    "protocol",
    "outer_service",
    "gateway_port",
    "public_port",
    "component__service_name",
    "component__application__slug",
)


def routed_upstreams(
    *, component_ids: Collection[int] | None = None, resolver: Resolver = resolve
) -> list[Upstream]:
    """The upstreams of every component (or of ``component_ids`` only), in two queries.

    Plain rows, not model instances: a full snapshot at 1,000 ports and 10,000 instances is read in
    the time the gateway has to act on a change (bench/gateway.py).
    """
    routed_ports = Port.objects.filter(inner_service=True, gateway_port__isnull=False)
    instances = Instance.objects.routed().filter(
        Exists(routed_ports.filter(component_id=OuterRef("component_id")))
    )
    if component_ids is not None:
        routed_ports = routed_ports.filter(component_id__in=component_ids)
        instances = instances.filter(component_id__in=component_ids)
    ports = [_PortRow(*row) for row in routed_ports.order_by("pk").values_list(*_PORT_FIELDS)]
    by_component: dict[int, list[_PortRow]] = defaultdict(list)
    for port in ports:
        by_component[port.component_id].append(port)
    endpoints: dict[int, list[Endpoint]] = defaultdict(list)
    resolver = _once_per_name(resolver)
    rows = list(
        instances.values_list(
            "pk", "component_id", "host", "port", "scheme", "component__health_check__enabled"
        )
    )
    passing = _passing_addresses([pk for pk, _, host, _, _, checked in rows if checked and is_name(host)])
    for pk, component_id, host, instance_port, scheme, checked in rows:
        tls = scheme in TLS_SCHEMES
        for port in _served_ports(by_component[component_id], instance_port):
            number = instance_port or port.number
            if checked and is_name(host):
                endpoints[port.pk] += [
                    Endpoint(ip=ip, port=number, hostname=host, tls=tls) for ip in passing[pk]
                ]
            else:
                endpoints[port.pk] += _endpoints(host, number, resolver, tls)
    return [_upstream(port, endpoints[port.pk]) for port in ports]


def _passing_addresses(instance_ids: list[int]) -> dict[int, list[str]]:
    """The addresses of these DNS-name instances that pass their checks now (``ResolvedAddress``),
    resolved by the sweep from the instance's current name."""
    passing: dict[int, list[str]] = defaultdict(list)
    if not instance_ids:
        return passing
    rows = ResolvedAddress.objects.filter(
        instance_id__in=instance_ids, health=Health.HEALTHY, name=F("instance__host")
    ).values_list("instance_id", "ip")
    for instance_id, ip in rows.order_by("instance_id", "ip"):
        passing[instance_id].append(ip)
    return passing


def _once_per_name(resolver: Resolver) -> Resolver:
    """A name registered for several components or ports is looked up once per snapshot."""
    answers: dict[str, list[str]] = {}

    def lookup(name: str, port: int) -> list[str]:
        if name not in answers:
            answers[name] = resolver(name, port)
        return answers[name]

    return lookup


def _served_ports(ports: list[_PortRow], instance_port: int | None) -> Iterable[_PortRow]:
    if instance_port is None:
        return ports
    matching = [port for port in ports if port.number == instance_port]
    if matching:
        return matching
    return ports if len(ports) == 1 else []


def _endpoints(host: str, port: int, resolver: Resolver, tls: bool) -> list[Endpoint]:
    try:
        return [Endpoint(ip=str(ipaddress.ip_address(host)), port=port, tls=tls)]
    except ValueError:
        return [Endpoint(ip=ip, port=port, hostname=host, tls=tls) for ip in resolver(host, port)]


def _upstream(port: _PortRow, endpoints: list[Endpoint]) -> Upstream:
    exposed = port.outer_service
    http = port.protocol == Protocol.HTTP
    return Upstream(
        name=f"port-{port.pk}",
        component_id=port.component_id,
        label=f"{port.application_slug}.{port.service_name}.{port.number}",
        internal_port=port.gateway_port,
        endpoints=tuple(endpoints),
        public_port=port.public_port if exposed and not http else None,
        http_host=route_host(port.service_name, port.application_slug) if exposed and http else "",
    )
