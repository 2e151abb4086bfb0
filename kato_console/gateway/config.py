"""The gateway's Envoy configuration, built from a snapshot of the routed upstreams (pure: no I/O).

One cluster per component port whose internal service is on, its endpoints the routed instances
that the safety policy lets through (a cluster's definition and its endpoints are two resources: the
endpoints, ``load_assignment``, reach Envoy through EDS, ``kato_console.gateway.xds``); a TCP listener on the internal address for each such port; a TCP
listener on the public address for a TCP port whose external service is on; and one HTTP listener on
the public address whose routes pick an ``http`` port by host name. Listeners and routes name their
cluster only, so an instance going offline changes one cluster's endpoints and nothing else: Envoy
replaces that cluster's hosts without touching a listener, a cluster definition or another cluster, and
the connections already open carry on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Any, Protocol

from kato_console.gateway.xds import EDS_CONFIG

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ROUTE_CONFIG_NAME = "kato_http_routes"
_TYPE = "type.googleapis.com/envoy."
# A connection to an instance that died since its last check goes to another one: the checks take a
# few rounds to mark it unhealthy, the gateway need not make a client wait for them.
CONNECT_ATTEMPTS = 3
CONNECT_TIMEOUT = "1s"
# Envoy's default circuit breakers stop at 1,024 connections per cluster; a gateway in front of a
# database pool must not be the limit.
_CIRCUIT_BREAKERS = {
    "thresholds": [
        {"max_connections": 1_000_000, "max_pending_requests": 1_000_000, "max_requests": 1_000_000}
    ]
}


# An HTTP request goes to another instance when its first cannot be connected to, as a TCP
# connection does (CONNECT_ATTEMPTS); nothing was sent yet, so any method may be tried again.
_HTTP_ROUTE = {
    "auto_host_rewrite": True,
    "retry_policy": {"retry_on": "connect-failure,reset-before-request", "num_retries": CONNECT_ATTEMPTS - 1},
}


def _cached_hash(value: Any) -> int:
    """A frozen dataclass's hash, computed once: the builder looks up a thousand upstreams in its cache
    on every change, and hashing one means hashing each of its endpoints."""
    kept = value.__dict__.get("_hash")
    if kept is None:
        kept = hash(tuple(getattr(value, item.name) for item in fields(value)))
        object.__setattr__(value, "_hash", kept)
    return int(kept)


@dataclass(frozen=True)
class Endpoint:
    """One address of a routed instance; ``hostname`` is the DNS name it was registered by, if any;
    ``tls``: the instance is an ``https://`` or ``rediss://`` one, spoken to over TLS."""

    ip: str
    port: int
    hostname: str = ""
    tls: bool = False


@dataclass(frozen=True)
class Upstream:
    """A component port with its internal service on, and where the gateway serves it."""

    name: str
    label: str
    internal_port: int
    endpoints: tuple[Endpoint, ...] = ()
    public_port: int | None = None
    http_host: str = ""
    component_id: int = 0

    def __hash__(self) -> int:
        return _cached_hash(self)


@dataclass(frozen=True)
class Policy:
    """Where the gateway never forwards to (docs/architecture.md, "The gateway", safety)."""

    denied_networks: tuple[IPNetwork, ...] = ()
    allow_loopback: bool = True
    own_addresses: frozenset[str] = field(default_factory=frozenset)
    # The PEM file of the authorities an https instance's certificate must chain to.
    ca_file: str = ""

    def __hash__(self) -> int:
        return _cached_hash(self)

    def allows(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if any(address in network for network in self.denied_networks):
            return False
        if self.allow_loopback:
            return True
        return not address.is_loopback and str(address) not in self.own_addresses


@dataclass(frozen=True)
class Placement:
    """Where this gateway listens; several gateways differ only here."""

    host: str
    public_host: str
    http_port: int


class Sources(Protocol):
    """Where Envoy reads the HTTP routes (``kato_console.gateway.envoy``)."""

    def rds(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Resources:
    """The discovery resources; equal resources mean nothing to tell Envoy. ``endpoints``: one
    ClusterLoadAssignment per cluster, in the clusters' order."""

    listeners: list[dict[str, Any]]
    clusters: list[dict[str, Any]]
    routes: list[dict[str, Any]]
    endpoints: list[dict[str, Any]] = field(default_factory=list)


def build(
    upstreams: Iterable[Upstream], *, placement: Placement, policy: Policy, sources: Sources
) -> Resources:
    """The listeners, clusters, endpoints and HTTP routes for ``upstreams``."""
    ordered = sorted(upstreams, key=lambda upstream: upstream.name)
    clusters = [cluster(upstream, policy) for upstream in ordered]
    endpoints = [load_assignment(upstream, policy) for upstream in ordered]
    # A port with no routed instance has no listener: a connection is refused at once, and Envoy closes
    # the connections the removed listener still had once the drain time is over.
    served = [u for u, a in zip(ordered, endpoints, strict=True) if _has_endpoints(a)]
    listeners = [_tcp_listener(f"{u.name}-internal", placement.host, u.internal_port, u) for u in served]
    listeners += [
        _tcp_listener(f"{u.name}-public", placement.public_host, u.public_port, u)
        for u in served
        if u.public_port is not None and not u.http_host
    ]
    hosts = [u for u in ordered if u.http_host]
    routes = [_route_configuration(hosts, placement.http_port)]
    if hosts:
        listeners.append(_http_listener(placement, sources.rds()))
    return Resources(listeners=listeners, clusters=clusters, routes=routes, endpoints=endpoints)


def _has_endpoints(assignment: dict[str, Any]) -> bool:
    return any(group["lb_endpoints"] for group in assignment["endpoints"])


def _socket(host: str, port: int) -> dict[str, Any]:
    return {"socket_address": {"address": host, "port_value": port}}


def _routed(upstream: Upstream, policy: Policy) -> list[Endpoint]:
    ordered = sorted(set(upstream.endpoints), key=lambda e: (e.ip, e.port, e.hostname, e.tls))
    return [endpoint for endpoint in ordered if policy.allows(endpoint.ip)]


@lru_cache(maxsize=16384)
def load_assignment(upstream: Upstream, policy: Policy) -> dict[str, Any]:
    """The port's endpoints (a ClusterLoadAssignment). Cached, and the same object while the upstream is
    the same: the gateway encodes and sends each one once (``envoy.Envoy.apply``)."""
    endpoints = []
    for endpoint in _routed(upstream, policy):
        entry: dict[str, Any] = {"address": _socket(endpoint.ip, endpoint.port)}
        if endpoint.hostname:
            # The route's auto_host_rewrite sends this name as the Host header (virtual hosting).
            entry["hostname"] = endpoint.hostname
        lb_endpoint: dict[str, Any] = {"endpoint": entry}
        if endpoint.tls:
            lb_endpoint["metadata"] = {
                "filter_metadata": {_TLS_MATCH: {"tls": endpoint.hostname or endpoint.ip}}
            }
        endpoints.append(lb_endpoint)
    return {"cluster_name": upstream.name, "endpoints": [{"lb_endpoints": endpoints}]}


def cluster(upstream: Upstream, policy: Policy) -> dict[str, Any]:
    """The port's cluster, its endpoints apart (``load_assignment``, through EDS). The same object while
    its definition is the same, whatever its endpoints do: ``cds.json`` is written again only when a
    cluster's own definition (its TLS names, the authorities' file) changes."""
    matches: dict[str, tuple[str, str, str]] = {}
    for endpoint in _routed(upstream, policy):
        if endpoint.tls:
            name = endpoint.hostname or endpoint.ip
            matches.setdefault(name, (name, endpoint.hostname, endpoint.ip))
    tls = tuple(matches[name] for name in sorted(matches))
    return _cluster_of(upstream.name, upstream.label, tls, policy.ca_file if tls else "")


@lru_cache(maxsize=16384)
def _cluster_of(name: str, label: str, tls: tuple[tuple[str, str, str], ...], ca_file: str) -> dict[str, Any]:
    built: dict[str, Any] = {
        "@type": _TYPE + "config.cluster.v3.Cluster",
        "name": name,
        "alt_stat_name": label,
        "type": "EDS",
        "eds_cluster_config": {"eds_config": EDS_CONFIG},
        "connect_timeout": CONNECT_TIMEOUT,
        "lb_policy": "ROUND_ROBIN",
        "circuit_breakers": _CIRCUIT_BREAKERS,
    }
    if tls:
        built["transport_socket_matches"] = [_tls_match(*match, ca_file) for match in tls]
    return built


_TLS_MATCH = "envoy.transport_socket_match"


def _tls_match(name: str, hostname: str, ip: str, ca_file: str) -> dict[str, Any]:
    """TLS to an https or rediss instance: its name as SNI, its certificate checked against ``ca_file`` and
    against its name (a DNS name) or its address (an instance registered by IP, sent no SNI)."""
    if hostname:
        san = {"san_type": "DNS", "matcher": {"exact": hostname}}
    else:
        san = {"san_type": "IP_ADDRESS", "matcher": {"exact": ip}}
    context: dict[str, Any] = {
        "@type": _TYPE + "extensions.transport_sockets.tls.v3.UpstreamTlsContext",
        "common_tls_context": {
            "validation_context": {
                "trusted_ca": {"filename": ca_file},
                "match_typed_subject_alt_names": [san],
            }
        },
    }
    if hostname:
        context["sni"] = hostname
    return {
        "name": f"tls-{name}",
        "match": {"tls": name},
        "transport_socket": {"name": "envoy.transport_sockets.tls", "typed_config": context},
    }


def _tcp_listener(name: str, host: str, port: int | None, upstream: Upstream) -> dict[str, Any]:
    return _tcp_listener_of(name, host, port, upstream.label, upstream.name)


@lru_cache(maxsize=16384)
def _tcp_listener_of(name: str, host: str, port: int | None, label: str, cluster_name: str) -> dict[str, Any]:
    """Cached, and the same object while nothing in it changes: Envoy is given it once, and a change
    elsewhere costs no listener."""
    proxy = {
        "@type": _TYPE + "extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": label,
        "cluster": cluster_name,
        "max_connect_attempts": CONNECT_ATTEMPTS,
    }
    return {
        "@type": _TYPE + "config.listener.v3.Listener",
        "name": name,
        "address": _socket(host, port or 0),
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy", "typed_config": proxy}]}],
    }


def _http_listener(placement: Placement, rds: dict[str, Any]) -> dict[str, Any]:
    manager = {
        "@type": _TYPE + "extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": "http",
        # Nothing here reads a request id; making one costs a random UUID per request.
        "generate_request_id": False,
        "rds": {"route_config_name": ROUTE_CONFIG_NAME, "config_source": rds},
        "http_filters": [
            {
                "name": "envoy.filters.http.router",
                "typed_config": {"@type": _TYPE + "extensions.filters.http.router.v3.Router"},
            }
        ],
    }
    chain = {"name": "envoy.filters.network.http_connection_manager", "typed_config": manager}
    return {
        "@type": _TYPE + "config.listener.v3.Listener",
        "name": "http",
        "address": _socket(placement.public_host, placement.http_port),
        "filter_chains": [{"filters": [chain]}],
    }


def _route_configuration(upstreams: list[Upstream], http_port: int) -> dict[str, Any]:
    virtual_hosts = [
        {
            "name": upstream.name,
            # Browsers send the port in Host unless it is the scheme's default.
            "domains": [upstream.http_host, f"{upstream.http_host}:{http_port}"],
            "routes": [{"match": {"prefix": "/"}, "route": {"cluster": upstream.name, **_HTTP_ROUTE}}],
        }
        for upstream in upstreams
    ]
    return {
        "@type": _TYPE + "config.route.v3.RouteConfiguration",
        "name": ROUTE_CONFIG_NAME,
        "virtual_hosts": virtual_hosts,
    }
