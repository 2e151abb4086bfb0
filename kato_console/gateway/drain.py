"""Drain: the connections Envoy still holds to an address that no longer routes are closed after the drain time.

An instance that leaves a port's upstream (taken offline, unhealthy, removed) stops getting new
connections as soon as Envoy has the new cluster; the connections already open to it carry on, since
Envoy has no per-host close for ``tcp_proxy`` and a cluster that is replaced lets its connections
run. ``Drain`` remembers when each address stopped routing; once ``KATO_GATEWAY_DRAIN_S`` has passed
and the address still routes nowhere, ``close_upstream_connections`` closes Envoy's connections to it:
the gateway, Envoy's parent, takes a copy of each such socket (Linux's ``pidfd_getfd``) and shuts it
down, so Envoy sees the upstream close and closes the client's side too. An address that routes again
before its deadline is kept, connections and all.
"""

from __future__ import annotations

import contextlib
import ctypes
import ipaddress
import logging
import os
import socket
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

logger = logging.getLogger(__name__)

Address = tuple[str, int]
_SYS_PIDFD_GETFD = {"x86_64": 438, "aarch64": 438}


class Drain:
    """Which addresses stopped routing, and when their open connections are to be closed."""

    def __init__(self, drain_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.drain_s = drain_s
        self.clock = clock
        self.deadlines: dict[Address, float] = {}
        # How many clusters route each address, and each cluster's addresses as last read.
        self._routing: Counter[Address] = Counter()
        self._clusters: dict[str, tuple[dict[str, Any], frozenset[Address]]] = {}

    def update(self, routed: Iterable[Address]) -> None:
        """The addresses that route now: those that left get a deadline, those back lose theirs."""
        self._replace("", frozenset(routed))

    def update_clusters(self, assignments: Iterable[dict[str, Any]]) -> None:
        """``update`` from the clusters' endpoints (Envoy's ClusterLoadAssignments), reading again only
        the clusters whose endpoints changed: an unchanged assignment is the same object
        (``config.load_assignment`` is cached), so a change among thousands of clusters costs that
        cluster's endpoints, not all of them."""
        present = set()
        for item in assignments:
            name = item["cluster_name"]
            present.add(name)
            kept = self._clusters.get(name)
            if kept is None or kept[0] is not item:
                self._replace(name, routed_addresses([item]), item)
        for name in [name for name in self._clusters if name and name not in present]:
            self._replace(name, frozenset())

    def _replace(self, key: str, addresses: frozenset[Address], item: dict[str, Any] | None = None) -> None:
        old = self._clusters.pop(key, (None, frozenset()))[1]
        if addresses or item is not None:
            self._clusters[key] = (item or {}, addresses)
        now = self.clock()
        for address in old - addresses:
            self._routing[address] -= 1
            if self._routing[address] <= 0:
                del self._routing[address]
                self.deadlines.setdefault(address, now + self.drain_s)
        for address in addresses - old:
            self._routing[address] += 1
            self.deadlines.pop(address, None)

    def due(self) -> set[Address]:
        """The addresses whose drain time is over (each returned once)."""
        now = self.clock()
        over = {address for address, deadline in self.deadlines.items() if deadline <= now}
        for address in over:
            del self.deadlines[address]
        return over


def routed_addresses(assignments: Iterable[dict[str, Any]]) -> frozenset[Address]:
    """Every endpoint address in these clusters' endpoints (``config.load_assignment``'s shape). The snapshot writes
    IP addresses in their canonical form already (``ipaddress``), as ``getpeername`` gives them; this
    runs on every change, over every endpoint, so it parses nothing."""
    found = set()
    for assignment in assignments:
        for group in assignment["endpoints"]:
            for lb_endpoint in group["lb_endpoints"]:
                socket_address = lb_endpoint["endpoint"]["address"]["socket_address"]
                found.add((socket_address["address"], socket_address["port_value"]))
    return frozenset(found)


def _canonical(ip: str) -> str:
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def can_close_connections() -> bool:
    """Whether this system lets the gateway take a copy of a process's socket (``pidfd_getfd``): tried on
    the gateway's own standard input, which a seccomp filter (Docker's default profile without
    ``SYS_PTRACE``) or an old kernel refuses as it would for Envoy."""
    number = _SYS_PIDFD_GETFD.get(os.uname().machine) if sys.platform.startswith("linux") else None
    if number is None:
        return False
    try:
        pidfd = os.pidfd_open(os.getpid())
    except OSError:
        return False
    probe = os.open(os.devnull, os.O_RDONLY)
    try:
        copy = ctypes.CDLL(None, use_errno=True).syscall(number, pidfd, probe, 0)
        if copy < 0:
            return False
        os.close(copy)
        return True
    finally:
        os.close(probe)
        os.close(pidfd)


def close_upstream_connections(pid: int, addresses: set[Address], listening_ports: set[int]) -> int:
    """Shut down every TCP connection process ``pid`` (Envoy) has open to one of ``addresses``; how many.

    A socket whose own port is one of Envoy's listeners is a client's connection, never closed here.
    Where the system does not allow it (not Linux, no permission), nothing is closed and the
    connections carry on until they end by themselves.
    """
    if not addresses or not sys.platform.startswith("linux"):
        return 0
    number = _SYS_PIDFD_GETFD.get(os.uname().machine)
    if number is None:
        return 0
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return 0
    closed = 0
    try:
        for fd in _socket_fds(pid):
            copy = libc.syscall(number, pidfd, fd, 0)
            if copy < 0:
                if ctypes.get_errno() == 1:  # EPERM: this system does not let the gateway do it
                    logger.warning("The gateway may not close Envoy's connections here; they carry on.")
                    return closed
                continue
            with socket.socket(fileno=copy) as sock:
                if _is_upstream_to(sock, addresses, listening_ports):
                    with contextlib.suppress(OSError):
                        sock.shutdown(socket.SHUT_RDWR)
                        closed += 1
    finally:
        os.close(pidfd)
    return closed


def _socket_fds(pid: int) -> list[int]:
    directory = f"/proc/{pid}/fd"
    found = []
    with contextlib.suppress(OSError):
        for name in os.listdir(directory):
            with contextlib.suppress(OSError):
                if os.readlink(f"{directory}/{name}").startswith("socket:"):
                    found.append(int(name))
    return found


def _is_upstream_to(sock: socket.socket, addresses: set[Address], listening_ports: set[int]) -> bool:
    if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.type != socket.SOCK_STREAM:
        return False
    try:
        peer = sock.getpeername()
        own = sock.getsockname()
    except OSError:
        return False  # a listening socket
    return (_canonical(peer[0]), peer[1]) in addresses and own[1] not in listening_ports
