"""IP addresses as every layer of the console reads them: parsed once (cached), and tested against
networks with the IPv4 address an IPv6 address carries taken into account."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8192)
def parse_ip(text: str) -> IPAddress | None:
    """The IP address ``text`` writes, or None for anything else. Cached: the same addresses come
    back on every PUT and every sweep, and parsing is a visible share of either."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def network_containing(
    ip: IPAddress, networks: Sequence[IPNetwork], *, embedded: bool = True
) -> IPNetwork | None:
    """The first of ``networks`` that holds ``ip``.

    An IPv6 address that carries an IPv4 address is judged as that IPv4 address too: with
    ``embedded`` (the default, for deciding what is denied) every carrier a network may translate or
    tunnel to the IPv4 address (see ``embedded_ipv4``); without it only an IPv4-mapped address
    (::ffff:a.b.c.d), which is how a dual-stack socket names an IPv4 peer.
    """
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        candidates += embedded_ipv4(ip) if embedded else [ip.ipv4_mapped] if ip.ipv4_mapped else []
    for network in networks:
        for candidate in candidates:
            if candidate.version == network.version and candidate in network:
                return network
    return None


_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Where RFC 6052 puts the IPv4 address for the NAT64 prefix lengths a /48 allows (48, 56, 64,
# 96): (bit offset, bits) pieces of the 128-bit address, skipping the reserved octet at bits 64-71.
_RFC6052_LAYOUTS = (
    ((48, 16), (72, 16)),
    ((56, 8), (72, 24)),
    ((72, 32),),
    ((96, 32),),
)


@lru_cache(maxsize=8192)
def embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address reaches or carries: IPv4-mapped (::ffff:a.b.c.d),
    IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96, and every RFC 6052 layout of the local-use
    64:ff9b:1::/48, whose prefix length the operator chooses), 6to4 (2002::/16) and Teredo
    (2001::/32: the server and the client)."""
    found: list[ipaddress.IPv4Address] = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are IPv6's own.
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in _NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip in _NAT64_LOCAL:
        found += [_rfc6052_ipv4(int(ip), layout) for layout in _RFC6052_LAYOUTS]
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found += list(ip.teredo)
    return tuple(found)


def _rfc6052_ipv4(value: int, layout: tuple[tuple[int, int], ...]) -> ipaddress.IPv4Address:
    result = 0
    for offset, bits in layout:
        result = (result << bits) | ((value >> (128 - offset - bits)) & ((1 << bits) - 1))
    return ipaddress.IPv4Address(result)


def client_ip(remote_addr: str | None) -> str | None:
    """A client's address as the audit trail and the throttle record it: a plain IP address (an
    IPv6 zone such as %eth0 dropped), or None for anything else (a Unix socket, say)."""
    ip = parse_ip((remote_addr or "").partition("%")[0])
    return str(ip) if ip is not None else None
