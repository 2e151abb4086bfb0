"""Connectivity probes: does a third-party service answer, and is it the service we think it is?

This package does network I/O only. It never imports the ORM: callers turn instances and health
checks into ``ProbeTarget`` values and store the ``ProbeResult`` themselves (see
``instances.sweep`` and ``instances.health.record_probe_results``).

The protocols are written by hand on asyncio streams rather than with client libraries, because a
sweep runs thousands of probes at once and each must cost well under a millisecond of CPU; it also
keeps name resolution, the denied-network policy and the stage a failure happened in under our
control. A target being down is a result, never an exception: ``probe()`` returns a failed
``ProbeResult`` saying where it failed (``stage``) and why (``error``), and it never puts the
password in anything it returns or logs.

``_net`` holds what every probe shares (connecting, DNS, the policy, TLS, the session, the
errors); ``http``, ``mysql``, ``postgresql`` and ``redis`` each speak one protocol. A TCP probe is
the connection itself (``_run``).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from instances.addresses import IPNetwork, parse_ip
from instances.probes._net import (
    LINE_LIMIT,
    PROBE_KINDS,
    ProbeFailure,
    ProbeResult,
    ProbeTarget,
    Session,
    connect,
    denying_network,
    describe,
    elapsed_ms,
    failed_result,
    failure_label,
    resolve,
    timeout_failure,
)
from instances.probes.http import probe_http
from instances.probes.mysql import probe_mysql
from instances.probes.postgresql import probe_postgresql
from instances.probes.redis import probe_redis

__all__ = [
    "PROBE_KINDS",
    "ProbeResult",
    "ProbeTarget",
    "failure_label",
    "is_denied",
    "is_name",
    "probe",
    "probe_each_address",
    "probe_many",
    "probe_sync",
]

# Kinds whose probe ends by sending a goodbye (COM_QUIT, Terminate, QUIT) that must be flushed.
_SAYS_GOODBYE = frozenset({"mysql", "postgresql", "redis"})

# --------------------------------------------------------------------------------------------
# Public interface
# --------------------------------------------------------------------------------------------


async def probe(target: ProbeTarget, *, denied_networks: Sequence[IPNetwork] = ()) -> ProbeResult:
    """Probe one target within ``target.timeout_s``; never raises for anything the target does.

    A target whose host is a DNS name is resolved once and each address is probed on its own
    (``probe_each_address``).
    """
    if not target.address and is_name(target.host):
        return await probe_each_address(target, denied_networks=denied_networks)
    session = Session()
    started = time.perf_counter()
    deadline = asyncio.timeout(target.timeout_s)
    try:
        async with deadline:
            server_info = await _run(target, session, denied_networks)
    except TimeoutError as exc:
        failure = timeout_failure(target, session) if deadline.expired() else describe(exc, session)
        return failed_result(target, session, failure, started)
    except ProbeFailure as failure:
        return failed_result(target, session, failure, started)
    except Exception as exc:  # anything else the network throws at us is still a result
        return failed_result(target, session, describe(exc, session), started)
    return ProbeResult(
        ok=True,
        latency_ms=elapsed_ms(started),
        server_info=server_info,
        address=session.address,
        cert_expires_at=session.cert_expires_at,
    )


def is_name(host: str) -> bool:
    """Whether ``host`` is a DNS name rather than an IP address."""
    return parse_ip(host.strip().removeprefix("[").removesuffix("]")) is None


async def probe_each_address(
    target: ProbeTarget, *, denied_networks: Sequence[IPNetwork] = ()
) -> ProbeResult:
    """Resolve the target's name and probe every address it resolves to at once, each with the
    name as Host header and TLS server name, and the denied networks applied to each.

    The result is the first address's that passed (or the first failure when none did), carrying
    every address's own result in ``each_address``; a name that does not resolve is a ``dns``
    failure with no addresses.
    """
    session = Session()
    started = time.perf_counter()
    deadline = asyncio.timeout(target.timeout_s)
    try:
        async with deadline:
            addresses = await resolve(target.host, target.port)
    except TimeoutError:
        return failed_result(target, session, timeout_failure(target, session), started)
    except ProbeFailure as failure:
        return failed_result(target, session, failure, started)
    probes = [
        probe(replace(target, address=address), denied_networks=denied_networks) for address in addresses
    ]
    # Most names have one address: awaited as it is, it spares the sweep a task per probe.
    results = [await probes[0]] if len(probes) == 1 else await asyncio.gather(*probes)
    chosen = next((result for result in results if result.ok), results[0])
    return replace(chosen, each_address=tuple(zip(addresses, results, strict=True)))


def probe_sync(target: ProbeTarget, *, denied_networks: Sequence[IPNetwork] = ()) -> ProbeResult:
    """Probe from synchronous code (the wizard, "probe now") in a fresh event loop."""
    return asyncio.run(probe(target, denied_networks=denied_networks))


async def probe_many(
    targets: Sequence[ProbeTarget],
    *,
    concurrency: int,
    jitter_s: float = 0.0,
    denied_networks: Sequence[IPNetwork] = (),
    on_result: Callable[[int, ProbeResult], object] | None = None,
) -> list[ProbeResult]:
    """Probe all targets, at most ``concurrency`` at a time, each start delayed by a random amount
    in [0, jitter_s) so that a round does not hit a shared server all at once.

    Returns the results in the order of ``targets``. One target's failure, expected or not, is
    that target's result and never stops the others. ``on_result(index, result)``, when given, is
    called as each probe finishes (the sweep stores the quick answers while slow probes still run).
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def probe_one(index: int, target: ProbeTarget) -> ProbeResult:
        if jitter_s > 0:
            await asyncio.sleep(random.random() * jitter_s)
        async with semaphore:
            result = await probe(target, denied_networks=denied_networks)
        if on_result is not None:
            on_result(index, result)
        return result

    return list(await asyncio.gather(*(probe_one(index, target) for index, target in enumerate(targets))))


def is_denied(ip: str, denied_networks: Sequence[IPNetwork]) -> bool:
    """Whether an IP address (string) falls in one of the denied networks."""
    return denying_network(ip, denied_networks) is not None


# --------------------------------------------------------------------------------------------
# Running a probe, and turning what went wrong into a sentence
# --------------------------------------------------------------------------------------------


async def _run(target: ProbeTarget, session: Session, denied_networks: Sequence[IPNetwork]) -> str:
    sock = await connect(target, session, denied_networks)
    if target.kind == "tcp":
        # Connecting was the test. The bare socket spares a TCP probe the transport and streams.
        sock.close()
        return ""
    try:
        session.reader, session.writer = await asyncio.open_connection(sock=sock, limit=LINE_LIMIT)
    except BaseException:
        sock.close()
        raise
    writer = session.writer
    try:
        server_info = await _KIND_PROBES[target.kind](target, session)
    except BaseException:
        # A failed or timed-out exchange is dropped at once: no TLS goodbye, no lingering socket.
        writer.transport.abort()
        raise
    if target.kind in _SAYS_GOODBYE:
        writer.close()  # flushes the goodbye, then closes
    else:
        writer.transport.abort()  # nothing left to send, and the rest of the answer is not wanted
    return server_info


_KIND_PROBES: dict[str, Callable[[ProbeTarget, Session], Awaitable[str]]] = {
    "http": probe_http,
    "mysql": probe_mysql,
    "postgresql": probe_postgresql,
    "redis": probe_redis,
}
