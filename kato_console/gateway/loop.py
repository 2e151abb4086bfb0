"""The control loop: keep one Envoy in step with the database, with no worker in between.

Triggers on the instance, port, health-check and component tables (migration
``instances.0006_gateway_notify``) send a NOTIFY on ``kato_gateway``, with the component's id, when a
column that changes routing changes; the loop LISTENs on its own connection, reads those components
again as soon as one arrives (after a few milliseconds in which the rest of a burst is gathered), and
sends Envoy only what changed: usually one cluster's endpoints (``kato_console.gateway.xds``). A slow poll catches what no trigger sees (a DNS record that changed, a lost
connection). Several gateways may run against one database; each LISTENs and builds for itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from components import gateway
from kato_console.gateway.config import Placement, Policy, Resources, Sources, Upstream, build
from kato_console.gateway.drain import Drain, can_close_connections, close_upstream_connections
from kato_console.gateway.envoy import Envoy, EnvoyError
from kato_console.gateway.snapshot import routed_upstreams

logger = logging.getLogger(__name__)

CHANNEL = "kato_gateway"
# Notifications that arrive this close together are one change (a bulk write, a sweep's results).
_GATHER_S = 0.02
# How often the loop looks up from waiting, to notice a stop request or a dead Envoy.
_TICK_S = 0.25


class _Everything(set[int]):
    """Every component: a change the loop cannot narrow down."""


EVERYTHING: set[int] = _Everything()
Changes = set[int]


@dataclass(frozen=True)
class GatewayOptions:
    host: str
    public_host: str
    http_port: int
    admin_port: int
    drain_s: int
    poll_s: float
    allow_loopback: bool
    concurrency: int = 0

    @classmethod
    def from_settings(cls, **overrides: object) -> GatewayOptions:
        values: dict[str, object] = {
            "host": settings.KATO_GATEWAY_HOST,
            "public_host": settings.KATO_GATEWAY_PUBLIC_HOST,
            "http_port": settings.KATO_GATEWAY_HTTP_PORT,
            "admin_port": settings.KATO_GATEWAY_ADMIN_PORT,
            "drain_s": settings.KATO_GATEWAY_DRAIN_S,
            "poll_s": settings.KATO_GATEWAY_POLL_S,
            "allow_loopback": settings.KATO_GATEWAY_ALLOW_LOOPBACK,
            "concurrency": settings.KATO_GATEWAY_CONCURRENCY,
        }
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)  # type: ignore[arg-type]

    def placement(self) -> Placement:
        return Placement(host=self.host, public_host=self.public_host, http_port=self.http_port)

    def policy(self) -> Policy:
        return Policy(
            denied_networks=tuple(settings.KATO_DENIED_NETWORKS),
            allow_loopback=self.allow_loopback,
            own_addresses=own_addresses(self.host, self.public_host),
            ca_file=ca_file(),
        )


def ca_file() -> str:
    """``KATO_GATEWAY_CA_FILE``, or the system's bundle of certificate authorities."""
    if settings.KATO_GATEWAY_CA_FILE:
        return str(settings.KATO_GATEWAY_CA_FILE)
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.exists(candidate):
            return candidate
    return "/etc/ssl/certs/ca-certificates.crt"


def own_addresses(*hosts: str) -> frozenset[str]:
    """The gateway's own addresses: where it listens, and what this machine's name resolves to."""
    found = set(hosts)
    with contextlib.suppress(OSError):
        found.update(str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None))
    return frozenset(found)


class RoutingState:
    """The upstreams the gateway routes, by component, refreshed whole or one component at a time."""

    def __init__(self, options: GatewayOptions, sources: Sources) -> None:
        self.options = options
        self.sources = sources
        self.by_component: dict[int, list[Upstream]] = {}

    def refresh(self, component_ids: set[int] | None = None) -> Resources:
        """Read every component again (``None``) or only ``component_ids``; the resources to apply."""
        # KATO_GATEWAY=0: routing is off, and the gateway (still started by `make run`) serves nothing.
        fresh = routed_upstreams(component_ids=component_ids) if gateway.routing_on() else []
        if component_ids is None:
            self.by_component = {}
        else:
            for component_id in component_ids:
                self.by_component.pop(component_id, None)
        for upstream in fresh:
            self.by_component.setdefault(upstream.component_id, []).append(upstream)
        upstreams = [upstream for group in self.by_component.values() for upstream in group]
        return build(
            upstreams, placement=self.options.placement(), policy=self.options.policy(), sources=self.sources
        )


def run(
    options: GatewayOptions,
    *,
    stop: threading.Event,
    on_ready: Callable[[Envoy], None] | None = None,
    on_apply: Callable[[bool], None] | None = None,
) -> None:
    """Run Envoy and keep it in step until ``stop`` is set; raises EnvoyError if Envoy dies."""
    envoy = Envoy(admin_port=options.admin_port, drain_s=options.drain_s, concurrency=options.concurrency)
    state = RoutingState(options, envoy)
    drain = Drain(options.drain_s)
    if not can_close_connections():
        logger.warning(
            "This system does not let the gateway close Envoy's connections (pidfd_getfd): connections "
            "to an instance that stops routing carry on until they close, past KATO_GATEWAY_DRAIN_S."
        )
    listener = _listen()
    try:
        envoy.start(state.refresh())
        drain.update_clusters(envoy.written("endpoints"))
        if on_ready is not None:
            on_ready(envoy)
        next_poll = time.monotonic() + options.poll_s
        while not stop.is_set():
            if not envoy.running():
                raise EnvoyError("Envoy stopped by itself.")
            listener, changed = _wait(listener, min(_TICK_S, max(0.0, next_poll - time.monotonic())))
            polling = time.monotonic() >= next_poll
            if changed or polling:
                applied = _refresh(envoy, state, None if polling or changed is EVERYTHING else changed)
                if applied:
                    drain.update_clusters(envoy.written("endpoints"))
                if polling:
                    next_poll = time.monotonic() + options.poll_s
                if on_apply is not None:
                    on_apply(applied)
            _close_drained(envoy, drain)
    finally:
        envoy.stop()
        if listener is not None:
            listener.close()
        connection.close()


def _close_drained(envoy: Envoy, drain: Drain) -> None:
    """Close Envoy's connections to the addresses that stopped routing a drain time ago."""
    due = drain.due()
    if due and envoy.process is not None:
        closed = close_upstream_connections(envoy.process.pid, due, envoy.listening_ports())
        if closed:
            logger.info("Drain time over: %d connection(s) to addresses that no longer route closed.", closed)


def _refresh(envoy: Envoy, state: RoutingState, component_ids: set[int] | None) -> bool:
    try:
        close_old_connections()
        return envoy.apply(state.refresh(component_ids))
    except DatabaseError:
        # The database is away: keep routing as it was, and try again at the next wake-up.
        logger.exception("The gateway could not read the routes; it keeps the last ones.")
        connection.close()
        return False


def _listen() -> psycopg.Connection | None:
    if connection.vendor != "postgresql":
        return None  # no NOTIFY elsewhere: the loop polls
    try:
        listener = psycopg.connect(**connection.get_connection_params(), autocommit=True)
        listener.execute(f"LISTEN {CHANNEL}")
        return listener
    except psycopg.Error:
        logger.warning("The gateway cannot LISTEN for changes now; it polls until it can.")
        return None


def _wait(listener: psycopg.Connection | None, timeout: float) -> tuple[psycopg.Connection | None, Changes]:
    """Wait up to ``timeout`` for changes: (the connection, now or reopened; the components that
    changed, EVERYTHING when it cannot tell, an empty set when nothing came)."""
    if listener is None:
        time.sleep(timeout)
        if connection.vendor != "postgresql":
            return None, set()
        listener = _listen()
        # Whatever happened while nobody listened is read now.
        return listener, EVERYTHING if listener is not None else set()
    try:
        payloads = [notice.payload for notice in listener.notifies(timeout=timeout, stop_after=1)]
        if payloads:
            payloads += [notice.payload for notice in listener.notifies(timeout=_GATHER_S)]
        return listener, _components(payloads)
    except psycopg.Error:
        listener.close()
        return None, EVERYTHING


def _components(payloads: list[str]) -> Changes:
    """The trigger sends the changed row's component id; anything else means "read everything"."""
    try:
        return {int(payload) for payload in payloads}
    except ValueError:
        return EVERYTHING
