"""The wizard's test step: every address a person typed, probed live and at once.

Network only, like the probes it runs: nothing here reads or writes the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from instances.addresses import HTTP_SCHEMES, REDIS_SCHEMES, TLS_SCHEMES, Address, IPNetwork
from instances.probes import ProbeResult, ProbeTarget, failure_label, probe

# The wizard's probe timeout; the step as a whole never waits more than a second longer.
TEST_TIMEOUT_S = 3.0
_PROTOCOL_KINDS = ("mysql", "postgresql", "redis")


@dataclass(frozen=True)
class AddressTest:
    """How one address answered; ``tested`` is False where no probe applies (UDP)."""

    address: str
    kind: str
    tested: bool = True
    ok: bool = False
    latency_ms: float | None = None
    stage: str = ""
    error: str = ""
    server_info: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "failure": failure_label(self.stage, self.error) if self.tested and not self.ok else "",
        }


def probe_kind_for(address: Address, protocol: str) -> str:
    """mysql, postgresql and redis from the protocol; redis for redis(s):// addresses; http for
    http(s):// addresses or the http protocol; a TCP connect otherwise."""
    if protocol in _PROTOCOL_KINDS:
        return protocol
    if address.scheme in REDIS_SCHEMES:
        return "redis"
    if address.scheme in HTTP_SCHEMES or protocol == "http":
        return "http"
    return "tcp"


def _target(address: Address, port: int | None, protocol: str, timeout_s: float) -> ProbeTarget:
    return ProbeTarget(
        kind=probe_kind_for(address, protocol),
        host=address.host,
        port=address.port or port or 0,
        timeout_s=timeout_s,
        tls=address.scheme in TLS_SCHEMES,
    )


def _tested(address: Address, target: ProbeTarget, result: ProbeResult) -> AddressTest:
    return AddressTest(
        address=str(address),
        kind=target.kind,
        ok=result.ok,
        latency_ms=result.latency_ms,
        stage=result.stage,
        error=result.error,
        server_info=result.server_info,
    )


async def _probe_all(
    targets: Sequence[ProbeTarget], denied_networks: Sequence[IPNetwork], limit_s: float
) -> list[ProbeResult]:
    tasks = [asyncio.ensure_future(probe(t, denied_networks=denied_networks)) for t in targets]
    done, pending = await asyncio.wait(tasks, timeout=limit_s)
    for task in pending:
        task.cancel()
    late = ProbeResult(ok=False, stage="timeout", error=f"No answer within {limit_s:g} s.")
    return [task.result() if task in done else late for task in tasks]


def address_tests(
    addresses: Sequence[Address],
    *,
    port: int | None,
    protocol: str,
    denied_networks: Sequence[IPNetwork] = (),
    timeout_s: float = TEST_TIMEOUT_S,
) -> list[AddressTest]:
    """Probe every address concurrently; returns within ``timeout_s`` plus a second.

    An address without a port of its own is probed at ``port``. UDP cannot be tested by
    connecting, so such addresses are reported as not tested.
    """
    if protocol == "udp":
        return [AddressTest(address=str(a), kind="udp", tested=False) for a in addresses]
    targets = [_target(a, port, protocol, timeout_s) for a in addresses]
    results = asyncio.run(_probe_all(targets, denied_networks, timeout_s + 1))
    return [_tested(a, t, r) for a, t, r in zip(addresses, targets, results, strict=True)]
