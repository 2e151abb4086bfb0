"""From instances to probe targets, and from probe results to instance health (docs/architecture.md, "A sweep round").

``probe_plan`` turns claimed instances into ``ProbeTarget`` values: the check's kind, path, timeout
and TLS switch, the instance's port (or the component's), and, when the check uses credentials,
the user name, password and database from the component's connection information. Credentials go
only to instances the team trusts (``credentials_withheld_reason``): the others get the
greeting-only check, and their recorded result says so.

``record_probe_results`` applies the kubelet's rules (``models.next_health``): an instance becomes healthy after
``success_threshold`` successes in a row and unhealthy after ``failure_threshold`` failures in a
row; an unhealthy instance recovers by itself and is never deleted. A whole round is written with a
handful of statements, and a result is dropped when the instance changed (its ``generation``
moved on) or disappeared while it was being probed. Every transition is audited as ``system``. A
DNS-name instance's addresses are recorded one by one beside it (``instances.resolved``).

Both work on plain rows (``InstanceRow``, read with ``values_list`` or returned by the sweep's claim)
rather than model instances: a sweep handles thousands of instances at a time, and building that
many model objects, or reading them again, would cost more than the probes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import NamedTuple, cast

from django.db import connection, transaction
from django.db.models import CharField
from django.utils import timezone
from django.utils.translation import gettext

from components.models import EnvVar, Port, Scope
from core.audit import SYSTEM, EventRow, audit_record_many
from instances import history, sql
from instances.addresses import DEFAULT_PORTS, TLS_SCHEMES, format_address
from instances.models import (
    CREDENTIAL_KINDS,
    CheckKind,
    HealthCheck,
    Instance,
    credentials_withheld_reason,
    next_health,
)
from instances.probes import ProbeResult, ProbeTarget, is_name
from instances.resolved import NameResult, record_name_results
from instances.signals import HealthTransition, health_transitions

# Added to the server info of a probe that did not log in because credentials were withheld.
WITHHELD_NOTE = "greeting only: credentials withheld"


class InstanceRow(NamedTuple):
    """What planning a probe and recording its result need to know about an instance, read at once."""

    id: int
    generation: int
    next_probe_at: datetime | None
    is_online: bool
    host: str
    port: int | None
    scheme: str
    source: str
    health: str
    successes: int
    failures: int
    component_id: int
    team_id: int
    component_name: str
    kind: str | None  # the health check's; None when the component has no health check
    path: str | None
    timeout_s: int | None
    verify_tls: bool | None
    use_credentials: bool | None
    username_var: str | None
    password_var: str | None
    success_threshold: int | None
    failure_threshold: int | None
    credential_networks: list[str] | None


# The ORM lookups of InstanceRow's fields, in order.
ROW_FIELDS = (
    "id",
    "generation",
    "next_probe_at",
    "is_online",
    "host",
    "port",
    "scheme",
    "source",
    "health",
    "consecutive_successes",
    "consecutive_failures",
    "component_id",
    "component__team_id",
    "component__name",
    "component__health_check__kind",
    "component__health_check__path",
    "component__health_check__timeout_s",
    "component__health_check__verify_tls",
    "component__health_check__use_credentials",
    "component__health_check__username_var",
    "component__health_check__password_var",
    "component__health_check__success_threshold",
    "component__health_check__failure_threshold",
    "component__health_check__credential_networks",
)


@dataclass(frozen=True)
class Claim:
    """The right to probe one instance once.

    ``generation`` is the instance's generation when it was claimed: a result is recorded only if
    the instance still has it. ``lease_until`` is the ``next_probe_at`` the sweep's claim wrote; a
    claim whose instance has since been claimed again (a chunk that waited too long in the queue)
    is not probed. "Probe now" claims have no lease.

    ``row`` is the instance as read when it was claimed or planned, so that planning and recording
    need no read of their own; the update that records a result still makes sure that the instance
    has not changed since.
    """

    instance_id: int
    generation: int
    lease_until: datetime | None = None
    row: InstanceRow | None = field(default=None, compare=False, repr=False)


# Ids per statement when a list of them is sent as parameters: PostgreSQL takes at most 65,535
# parameters in one statement when they are bound on the server (the settings' server_side_binding).
ID_BATCH = 10_000


def id_batches(ids: Iterable[int]) -> Iterator[list[int]]:
    """The ids, ``ID_BATCH`` at a time."""
    listed = list(ids)
    for start in range(0, len(listed), ID_BATCH):
        yield listed[start : start + ID_BATCH]


def instance_rows(instance_ids: Iterable[int]) -> dict[int, InstanceRow]:
    return {
        values[0]: InstanceRow(*values)
        for batch in id_batches(instance_ids)
        for values in Instance.objects.filter(pk__in=batch).values_list(*ROW_FIELDS)
    }


def _rows_of(claims: Sequence[Claim]) -> dict[int, InstanceRow]:
    """The claims' rows: those they carry, and one read for the others."""
    rows = {claim.instance_id: claim.row for claim in claims if claim.row is not None}
    missing = [claim.instance_id for claim in claims if claim.row is None]
    if missing:
        rows.update(instance_rows(missing))
    return rows


# --------------------------------------------------------------------------------------------
# Planning: what to probe, and how
# --------------------------------------------------------------------------------------------


def probe_plan(claims: Sequence[Claim]) -> list[tuple[Claim, ProbeTarget | ProbeResult]]:
    """For each claim still valid, the target to probe, or the failed result known without probing
    (no port, missing credentials). Claims of deleted, offline, changed or re-claimed instances are
    left out. The claims returned carry their instance's row.
    """
    rows = _rows_of(claims)
    planned = [
        (claim if claim.row is row else replace(claim, row=row), row)
        for claim in claims
        if (row := rows.get(claim.instance_id)) is not None and row.is_online and _claim_holds(claim, row)
    ]
    ports = _component_ports({row.component_id for _, row in planned})
    variables = _connection_information({row.component_id for _, row in planned if _needs_credentials(row)})
    return [
        (claim, _target_for(row, ports.get(row.component_id), variables.get(row.component_id, {})))
        for claim, row in planned
    ]


def _claim_holds(claim: Claim, row: InstanceRow) -> bool:
    if row.generation != claim.generation:
        return False
    return claim.lease_until is None or row.next_probe_at == claim.lease_until


def _needs_credentials(row: InstanceRow) -> bool:
    return bool(row.use_credentials) and row.kind in CREDENTIAL_KINDS and not withheld_reason(row)


def withheld_reason(row: InstanceRow) -> str:
    """Why a credentialed check probes this instance greeting-only, or "" (docs/architecture.md, "Probes and credentials")."""
    if not (row.use_credentials and row.kind in CREDENTIAL_KINDS):
        return ""
    return credentials_withheld_reason(
        source=row.source, host=row.host, networks=row.credential_networks or []
    )


def _component_ports(component_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """The first port (number, alias) of each component: a third-party component has only one."""
    first: dict[int, tuple[int, str]] = {}
    rows = (
        Port.objects.filter(component_id__in=list(component_ids))
        .order_by("component_id", "number")
        .values_list("component_id", "number", "alias")
    )
    for component_id, number, alias in rows:
        first.setdefault(component_id, (number, alias))
    return first


def _connection_information(component_ids: set[int]) -> dict[int, dict[str, str]]:
    if not component_ids:
        return {}
    variables: dict[int, dict[str, str]] = {}
    rows = (
        EnvVar.objects.filter(component_id__in=list(component_ids), scope=Scope.OUTER)
        .order_by("name")
        .values_list("component_id", "name", "value")
    )
    for component_id, name, value in rows:
        variables.setdefault(component_id, {})[name] = value
    return variables


class _MissingCredentials(Exception):
    pass


def _target_for(
    row: InstanceRow, port: tuple[int, str] | None, variables: dict[str, str]
) -> ProbeTarget | ProbeResult:
    kind = row.kind or CheckKind.TCP
    number = row.port or (port[0] if port else None) or DEFAULT_PORTS.get(row.scheme)
    if number is None:
        return ProbeResult(
            ok=False,
            stage="connect",
            error="no port: the instance has none and the component has no port",
        )
    username = password = database = ""
    if _needs_credentials(row):
        try:
            username, password, database = _credentials(row, variables, port[1] if port else "")
        except _MissingCredentials as missing:
            return ProbeResult(ok=False, stage="auth", error=str(missing))
    return ProbeTarget(
        kind=kind,
        host=row.host,
        port=number,
        timeout_s=float(row.timeout_s or 3),
        path=row.path or "/",
        tls=row.scheme in TLS_SCHEMES,
        verify_tls=row.verify_tls is not False,
        username=username,
        password=password,
        database=database,
    )


def _credentials(row: InstanceRow, variables: dict[str, str], alias: str) -> tuple[str, str, str]:
    """(user, password, database) from the connection information, as dependents receive them."""
    user_name = _variable_name(variables, row.username_var, "_USER", alias)
    password_name = _variable_name(variables, row.password_var, "_PASSWORD", alias)
    for explicit, found in ((row.username_var, user_name), (row.password_var, password_name)):
        if explicit and found is None:
            raise _MissingCredentials(
                f"use credentials is on, but the connection information has no variable {explicit}"
            )
    if user_name is None and (row.kind != CheckKind.REDIS or password_name is None):
        wanted = "*_PASSWORD" if row.kind == CheckKind.REDIS else "*_USER"
        raise _MissingCredentials(
            f"use credentials is on, but the connection information has no {wanted} variable"
        )
    database_name = _variable_name(variables, "", "_DATABASE", alias)
    return (
        variables[user_name] if user_name else "",
        variables[password_name] if password_name else "",
        variables[database_name] if database_name else "",
    )


def _variable_name(variables: dict[str, str], explicit: str | None, suffix: str, alias: str) -> str | None:
    """The named variable, else ALIAS<suffix> (MYSQL_USER for the port alias MYSQL), else the first
    variable by name that ends with the suffix."""
    if explicit:
        return explicit if explicit in variables else None
    if alias and f"{alias}{suffix}" in variables:
        return f"{alias}{suffix}"
    return next((name for name in variables if name.endswith(suffix)), None)


# --------------------------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------------------------


_TEXT_LIMITS = {
    name: cast(CharField, Instance._meta.get_field(name)).max_length
    for name in ("last_stage", "last_error", "server_info")
}


@dataclass(frozen=True)
class _Outcome:
    state: InstanceRow
    result: ProbeResult
    health: str
    successes: int
    failures: int


def record_probe_results(results: Sequence[tuple[Claim, ProbeResult]]) -> dict[int, str]:
    """Store a round of results; returns the health of each instance whose result was recorded.

    A result is dropped when its instance was deleted, or changed since it was claimed (address,
    intent or health check: the generation moved on), or got another result in between (the update
    is conditional on the state the new health was computed from). Writes one UPDATE and, when some
    health changed, one INSERT of audit events, and one upsert of the history's minute rows
    (``instances.history``), in one transaction (and one SELECT first for claims
    that do not carry their instance's row).
    """
    if not results:
        return {}
    checked_at = timezone.now()
    outcomes = _outcomes(results)
    with transaction.atomic():
        recorded = _write_outcomes(outcomes, checked_at)
        kept = [outcome for outcome in outcomes if outcome.state.id in recorded]
        record_name_results(_name_results(kept), checked_at)
        history.record_round(
            ((outcome.state.id, outcome.result.ok, outcome.result.latency_ms) for outcome in kept), checked_at
        )
        _audit_transitions(kept)
        _announce_transitions(kept, checked_at)
    return {outcome.state.id: outcome.health for outcome in kept}


def _outcomes(results: Sequence[tuple[Claim, ProbeResult]]) -> list[_Outcome]:
    rows = _rows_of([claim for claim, _ in results])
    outcomes = []
    for claim, result in results:
        state = rows.get(claim.instance_id)
        if state is None or state.generation != claim.generation:
            continue
        if withheld_reason(state):
            result = replace(result, server_info=_with_note(result.server_info))
        health, successes, failures = next_health(
            health=state.health,
            successes=state.successes,
            failures=state.failures,
            ok=result.ok,
            success_threshold=state.success_threshold or 1,
            failure_threshold=state.failure_threshold or 1,
        )
        outcomes.append(_Outcome(state, result, health, successes, failures))
    return outcomes


def _with_note(server_info: str) -> str:
    return f"{server_info} ({WITHHELD_NOTE})" if server_info else WITHHELD_NOTE


def _write_outcomes(outcomes: list[_Outcome], checked_at: datetime) -> set[int]:
    """One UPDATE for the whole round, conditional on the state each outcome was computed from;
    returns the ids it changed.

    A statement written by hand, ``sql.health_update_sql``, whose reason is beside it. Each row of
    the document is ``sql.HEALTH_RESULT_FIELDS`` in order (``_result_row``).
    """
    if not outcomes:
        return set()
    document = json.dumps([_result_row(outcome) for outcome in outcomes], separators=(",", ":"))
    with connection.cursor() as cursor:
        cursor.execute(sql.health_update_sql(), [document, checked_at, checked_at])
        return {row[0] for row in cursor.fetchall()}


def _result_row(outcome: _Outcome) -> list[object]:
    state, result = outcome.state, outcome.result
    return [
        state.id,
        state.generation,
        state.health,
        state.successes,
        state.failures,
        outcome.health,
        outcome.successes,
        outcome.failures,
        result.latency_ms,
        result.stage[: _TEXT_LIMITS["last_stage"]],
        result.error[: _TEXT_LIMITS["last_error"]],
        result.server_info[: _TEXT_LIMITS["server_info"]],
        result.cert_expires_at.isoformat() if result.cert_expires_at else None,
    ]


def _name_results(outcomes: list[_Outcome]) -> list[NameResult]:
    """The recorded outcomes of DNS-name instances, whose addresses are kept one by one."""
    return [
        NameResult(
            instance_id=outcome.state.id,
            component_id=outcome.state.component_id,
            team_id=outcome.state.team_id,
            component_name=outcome.state.component_name,
            name=outcome.state.host,
            address=format_address(outcome.state.host, outcome.state.port, outcome.state.scheme),
            success_threshold=outcome.state.success_threshold or 1,
            failure_threshold=outcome.state.failure_threshold or 1,
            result=outcome.result,
        )
        for outcome in outcomes
        if is_name(outcome.state.host)
    ]


def _audit_transitions(outcomes: list[_Outcome]) -> None:
    """One audit event (actor ``system``) per health transition, with the stage and the error, all
    in one statement."""
    audit_record_many(
        actor=SYSTEM,
        events=[
            EventRow(
                outcome.state.team_id,
                outcome.state.component_id,
                outcome.state.component_name,
                f"instance.{outcome.health}",
                _transition_detail(outcome),
            )
            for outcome in outcomes
            if outcome.health != outcome.state.health
        ],
    )


def _announce_transitions(outcomes: list[_Outcome], checked_at: datetime) -> None:
    """Send ``health_transitions`` inside the round's transaction, for the apps above (alerts) to write
    what they must do about it with the round (an outbox), and act after the commit."""
    transitions = [
        HealthTransition(
            instance_id=outcome.state.id,
            component_id=outcome.state.component_id,
            team_id=outcome.state.team_id,
            address=format_address(outcome.state.host, outcome.state.port, outcome.state.scheme),
            old=outcome.state.health,
            new=outcome.health,
            stage="" if outcome.result.ok else outcome.result.stage,
            error="" if outcome.result.ok else outcome.result.error,
            at=checked_at,
        )
        for outcome in outcomes
        if outcome.health != outcome.state.health
    ]
    if transitions:
        health_transitions.send_robust(sender=HealthTransition, transitions=transitions)


def _transition_detail(outcome: _Outcome) -> dict[str, object]:
    state, result = outcome.state, outcome.result
    detail: dict[str, object] = {
        "address": format_address(state.host, state.port, state.scheme),
        "from": state.health,
        "to": outcome.health,
        "latency_ms": result.latency_ms,
    }
    if result.ok:
        detail["server_info"] = result.server_info
    else:
        detail.update(stage=result.stage, error=result.error, failures_in_a_row=outcome.failures)
    return detail


# --------------------------------------------------------------------------------------------
# What the pages and the API say about a check
# --------------------------------------------------------------------------------------------


def greeting_only_warning(check: HealthCheck) -> str:
    """A sentence for the UI and the API when a MySQL check reads only the greeting, else ""."""
    if check.kind != CheckKind.MYSQL or check.use_credentials:
        return ""
    return gettext(
        "This MySQL check only reads the server's greeting and hangs up without logging in. MySQL and "
        "MariaDB count every such interrupted handshake against the probing host, and after "
        "max_connect_errors of them in a row (100 by default) without a successful login from that "
        'host, they block it ("Host … is blocked because of many connection errors") until someone '
        "runs FLUSH HOSTS — which would also lock out anything else connecting from that address. "
        'Turn on "use credentials" so the probe logs in with the component\'s connection information '
        "(*_USER and *_PASSWORD) and always finishes the handshake."
    )


def credentials_withheld_warning(check: HealthCheck, withheld: Sequence[str]) -> str:
    """A sentence for the UI and the API when the credentialed check skips the login somewhere."""
    if not withheld:
        return ""
    listed = ", ".join(withheld[:5])
    if len(withheld) > 5:
        listed = gettext("%(listed)s and %(more)d more") % {"listed": listed, "more": len(withheld) - 5}
    return gettext(
        "The check does not log in to %(listed)s: these addresses were registered through the instance "
        "API, which anyone holding the secret key can use, so they get the greeting-only check instead. "
        "An owner can add the networks your servers are in to the check's credential networks "
        "(IP addresses only), or a member can add the address to the component."
    ) % {"listed": listed}
