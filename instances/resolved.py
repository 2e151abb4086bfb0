"""DNS-name instances: each address a name resolves to, with its own health (docs/architecture.md,
"DNS-name instances").

A probe of a name resolves it and probes every address on its own (``instances.probes``); the
instance's own result is "at least one address passed", and its health follows the usual thresholds.
Here each address keeps its own counts under the same thresholds (``ResolvedAddress``), so the
gateway routes only the addresses that pass. When the name's record changes (an address appears or
goes), one ``instance.dns_change`` event says which. A round's rows are read with one SELECT and
written with one DELETE and one INSERT … ON CONFLICT, and only for name instances: a round of IP addresses costs nothing here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from core.audit import SYSTEM, EventRow, audit_record_many
from instances import sql
from instances.models import Health, ResolvedAddress, next_health
from instances.probes import ProbeResult

_ERROR_LIMIT = 500
_STAGE_LIMIT = 16


@dataclass(frozen=True)
class NameResult:
    """One name instance's probe result, with what recording its addresses needs."""

    instance_id: int
    component_id: int
    team_id: int
    component_name: str
    name: str
    address: str  # the instance's address as people read it
    success_threshold: int
    failure_threshold: int
    result: ProbeResult


class _Stored(NamedTuple):
    pk: int
    name: str
    health: str
    successes: int
    failures: int


def record_name_results(results: Sequence[NameResult], checked_at: datetime) -> None:
    """Write each name's addresses with their own health, drop the addresses the name no longer
    resolves to, and audit every record change; within the caller's transaction.

    A name that did not resolve this round keeps its addresses, each counting the failure: the
    gateway stops routing them once they fail ``failure_threshold`` times, as it would an instance.
    """
    if not results:
        return
    stored = _stored({result.instance_id for result in results})
    rows: list[list[object]] = []
    gone: list[int] = []
    events: list[EventRow] = []
    for named in results:
        known = stored.get(named.instance_id, {})
        gone += [row.pk for row in known.values() if row.name != named.name]
        known = {ip: row for ip, row in known.items() if row.name == named.name}
        each = dict(named.result.each_address)
        if not each and not named.result.ok:
            each = dict.fromkeys(known, named.result)  # not resolved: every known address failed
        else:
            gone += [row.pk for ip, row in known.items() if ip not in each]
            if known and set(known) != set(each):
                events.append(
                    _change_event(named, sorted(set(each) - set(known)), sorted(set(known) - set(each)))
                )
        rows += [_row(named, ip, result, known.get(ip)) for ip, result in each.items()]
    if gone:
        ResolvedAddress.objects.filter(pk__in=gone).delete()
    _upsert(rows, checked_at)
    audit_record_many(actor=SYSTEM, events=events)


def _stored(instance_ids: set[int]) -> dict[int, dict[str, _Stored]]:
    stored: dict[int, dict[str, _Stored]] = defaultdict(dict)
    rows = ResolvedAddress.objects.filter(instance_id__in=list(instance_ids)).values_list(
        "instance_id", "ip", "pk", "name", "health", "consecutive_successes", "consecutive_failures"
    )
    for instance_id, ip, pk, name, health, successes, failures in rows:
        stored[instance_id][ip] = _Stored(pk, name, health, successes, failures)
    return stored


def _row(named: NameResult, ip: str, result: ProbeResult, before: _Stored | None) -> list[object]:
    """The row as ``sql.RESOLVED_COLUMNS`` lists them."""
    health, successes, failures = next_health(
        health=before.health if before else Health.UNKNOWN,
        successes=before.successes if before else 0,
        failures=before.failures if before else 0,
        ok=result.ok,
        success_threshold=named.success_threshold,
        failure_threshold=named.failure_threshold,
    )
    return [
        named.instance_id,
        named.component_id,
        named.name,
        ip,
        health,
        successes,
        failures,
        "" if result.ok else result.stage[:_STAGE_LIMIT],
        "" if result.ok else result.error[:_ERROR_LIMIT],
    ]


def _upsert(rows: list[list[object]], checked_at: datetime) -> None:
    """Insert the rows, or update those of an address already known, in one statement.

    A statement written by hand, ``sql.resolved_upsert_sql``, whose reason is beside it. Each row is
    ``sql.RESOLVED_COLUMNS`` in order (``_row``).
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(sql.resolved_upsert_sql(), [checked_at, json.dumps(rows, separators=(",", ":"))])


def _change_event(named: NameResult, added: list[str], removed: list[str]) -> EventRow:
    return EventRow(
        named.team_id,
        named.component_id,
        named.component_name,
        "instance.dns_change",
        # Addresses as one line each: the events page shows a detail's values as they are.
        {
            "address": named.address,
            "name": named.name,
            "added": ", ".join(added) or "none",
            "removed": ", ".join(removed) or "none",
        },
    )
