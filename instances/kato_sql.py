"""The instance API's hand-written SQL, and the only hand-written SQL it has (docs/instance-api.md).

Every deploy hook's PUT runs ``lookup``: one statement that finds the component, the client's
wrong secrets and the instance at the address and, on PostgreSQL, adds the instance and its audit
event when the address is new. The ORM would spend more time compiling those queries than
PostgreSQL spends answering them (``bench/api_put.py``; figures in ``bench/RESULTS.md``). The
audit row's columns come from ``core.audit.audit_insert_sql``, so the core stays the
only code that knows the audit table.

The PostgreSQL statement is built once and prepared by the server: every value from the request
is a parameter, and the new instance's other columns are the model's defaults written in as
constants. A default computed per row (``uuid4``, ``timezone.now``) would be one value for every
row, so building the statement refuses any callable default it does not know to be constant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

import psycopg
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED, Field, Model
from django.utils import timezone
from psycopg.sql import Literal

from components.models import Component, Registration
from core.audit import audit_insert_sql, redact
from core.models import ActorKind
from instances.addresses import Address
from instances.models import Instance, Source, WrongSecret
from instances.services import added_detail

# Callable defaults whose every call gives an equal value, so a statement may carry one of them.
CONSTANT_DEFAULT_FACTORIES: frozenset[Any] = frozenset({dict, list, tuple, str, int})


class LookupRow(NamedTuple):
    """The lookup's answer: the component, the requesting client's wrong secrets in their current
    window (if any), the instance at the request's address (if any) and the instance the statement
    itself added (a PUT of a new address on PostgreSQL)."""

    id: int
    name: str
    team_id: int
    registration: str
    secret_key: str
    kind: str
    failures: int | None
    window_ends_at: datetime | str | None
    instance_id: int | None = None
    is_online: bool | None = None
    scheme: str | None = None
    added_id: int | None = None


@dataclass(frozen=True)
class Addition:
    """The instance a PUT adds if its address is new, handed to the lookup so one statement does both.

    The statement writes only when the presented secret's SHA-256 equals that of the stored key:
    the secret itself never travels to the database (nor into its logs), and comparing digests
    tells a timing attacker nothing about the key. The authority is still the constant-time
    comparison of the instance API's authentication.
    """

    address: Address
    is_online: bool
    secret_digest: bytes
    remote_addr: str | None

    def params(self) -> dict[str, Any]:
        detail = redact(added_detail(str(self.address), self.is_online, Source.API))
        return {
            "host": self.address.host,
            "port": self.address.port,
            "port_or_zero": self.address.port or 0,
            "scheme": self.address.scheme,
            "detail": json.dumps(detail),
            "is_online": self.is_online,
            "secret_digest": self.secret_digest,
            "remote_addr": self.remote_addr,
        }


def lookup(
    *,
    service_id: str,
    client: str,
    address: Address | None,
    addition: Addition | None,
    throttle_limit: int,
    max_instances: int,
) -> LookupRow | None:
    """The component with this service id, the client's wrong secrets and the instance at
    ``address``, in one statement; on PostgreSQL it also adds the instance (and its audit event)
    when ``addition`` is given, the address is new, the secret's digest matches, the client is not
    throttled and the component is under ``max_instances``. None when there is no such component.
    """
    db = connections[DEFAULT_DB_ALIAS]
    now = db.ops.adapt_datetimefield_value(timezone.now())
    if addition is not None and db.vendor == "postgresql":
        params: Any = {
            **addition.params(),
            "service_id": service_id,
            "client": client,
            "now": now,
            "limit": throttle_limit,
            "max_instances": max_instances,
        }
        row = _fetch_one(db, _lookup_and_add_statement(), params)
    else:
        sql, params = _lookup_statement(with_instance=address is not None), [client, now]
        if address is not None:
            params += [address.host, address.port or 0]
        row = _fetch_one(db, sql, [*params, service_id])
    return LookupRow(*row) if row is not None else None


def record_wrong_secret(*, component_id: int, client: str, window_s: int) -> None:
    """Count one more wrong secret of ``client`` for the component (a new window if the last one
    has ended), and forget the component's ended windows. One upsert, so that concurrent wrong
    secrets are all counted."""
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    table = WrongSecret._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (component_id, client, failures, window_ends_at) "  # noqa: S608
            "VALUES (%s, %s, 1, %s) ON CONFLICT (component_id, client) DO UPDATE SET "
            f"failures = CASE WHEN {table}.window_ends_at <= %s THEN 1 ELSE {table}.failures + 1 END, "
            f"window_ends_at = CASE WHEN {table}.window_ends_at <= %s "
            f"THEN excluded.window_ends_at ELSE {table}.window_ends_at END",
            [component_id, client, adapt(now + timedelta(seconds=window_s)), adapt(now), adapt(now)],
        )
        cursor.execute(
            f"DELETE FROM {table} WHERE component_id = %s AND window_ends_at <= %s",  # noqa: S608
            [component_id, adapt(now)],
        )


def _fetch_one(db: BaseDatabaseWrapper, sql: str, params: Any) -> tuple[Any, ...] | None:
    """Run one statement and return its first row.

    On PostgreSQL the statement runs on a server-binding cursor kept with the connection: Django's
    PostgreSQL cursors bind parameters on the client, which rules out prepared statements, while
    this one lets psycopg prepare a statement after a few uses (``prepare_threshold`` in the
    database settings), and keeping it saves building a cursor on every request. Django's own
    wrapper goes around it, so the query is counted and logged like any other, and database errors
    are Django's.
    """
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    db.ensure_connection()
    raw = db.connection
    kept: psycopg.Cursor[Any] | None = getattr(db, "_kato_server_cursor", None)
    if kept is None or kept.connection is not raw or kept.closed:
        kept = psycopg.Cursor(raw)
        setattr(db, "_kato_server_cursor", kept)  # noqa: B010 — the connection wrapper keeps it
    # Django wraps any DB-API cursor; the stubs name only its own wrapper.
    cursor = db.make_debug_cursor(kept) if db.queries_logged else db.make_cursor(kept)  # type: ignore[arg-type]
    cursor.execute(sql, params)
    return cursor.fetchone()


_COMPONENT_COLUMNS = "c.id, c.name, c.team_id, c.registration, c.secret_key, c.kind"
_THROTTLE_COLUMNS = "w.failures, w.window_ends_at"


@lru_cache(maxsize=2)
def _lookup_statement(*, with_instance: bool) -> str:
    """The lookup without an add (GET, DELETE, and every request on SQLite); only table names from
    the models are formatted in, every value is a parameter."""
    columns = f"{_COMPONENT_COLUMNS}, {_THROTTLE_COLUMNS}"
    joins = (
        f"LEFT JOIN {WrongSecret._meta.db_table} w "
        "ON w.component_id = c.id AND w.client = %s AND w.window_ends_at > %s "
    )
    if with_instance:
        columns += ", i.id, i.is_online, i.scheme"
        joins += (
            f"LEFT JOIN {Instance._meta.db_table} i "
            "ON i.component_id = c.id AND i.host = %s AND COALESCE(i.port, 0) = %s "
        )
    return f"SELECT {columns} FROM {Component._meta.db_table} c {joins}WHERE c.service_id = %s"  # noqa: S608


def _constant_default(model: type[Model], field: Field) -> str:
    """SQL for the default of ``field`` as the ORM would insert it; raises ImproperlyConfigured for
    one that a prepared statement cannot carry."""
    if field.db_default is not NOT_PROVIDED:
        raise ImproperlyConfigured(
            f"{model.__name__}.{field.name} has a database default, which the instance API's "
            "statement would override: give it a value in instances/kato_sql.py."
        )
    if field.has_default() and callable(field.default) and field.default not in CONSTANT_DEFAULT_FACTORIES:
        raise ImproperlyConfigured(
            f"{model.__name__}.{field.name}'s default is computed per row, and the instance API's "
            "prepared statement would repeat one value: give it a value in instances/kato_sql.py."
        )
    default = Literal(field.get_db_prep_save(field.get_default(), connection))
    # Typed by the column: an untyped NULL would otherwise be text.
    return f"CAST({default.as_string(connection.connection)} AS {field.cast_db_type(connection)})"


def _insert_values(model: type[Model], given: dict[str, str]) -> tuple[str, str]:
    """The column list and the SELECT list of a new row of ``model`` for an INSERT … SELECT.

    ``given`` maps some columns to SQL; every other column gets the field's default (a constant of
    the model, not of the request), and timestamps get the statement's time.
    """
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(str(field.column)))
        if field.column in given:
            expressions.append(given[field.column])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("statement_timestamp()")
        else:
            expressions.append(_constant_default(model, field))
    return ", ".join(columns), ", ".join(expressions)


@lru_cache(maxsize=1)
def _lookup_and_add_statement() -> str:
    """One statement for a PUT on PostgreSQL: find the component and the instance at the address,
    and when there is none, the secret matches and the client is not throttled, add the instance
    and its audit event.

    Built once from the models: table and column names, and the models' own defaults, are
    formatted in; every value from the request is a parameter. Its answer is the lookup's row plus
    the id of the added instance, if any. The audit event's detail is the services' own
    (``added_detail``, redacted).
    """
    connection.ensure_connection()
    instance_columns, instance_values = _insert_values(
        Instance,
        {
            "host": "%(host)s::text",
            "port": "%(port)s::integer",
            "scheme": "%(scheme)s::text",
            "is_online": "%(is_online)s::boolean",
            "source": f"'{Source.API}'",
            "next_probe_at": "CASE WHEN %(is_online)s::boolean THEN statement_timestamp() END",
            "component_id": "c.id",
        },
    )
    event = audit_insert_sql(
        actor_kind=ActorKind.API_KEY,
        action="instance.add",
        team_id="c.team_id",
        component_id="c.id",
        component_label="c.name",
        detail="%(detail)s::jsonb",
        remote_addr="%(remote_addr)s::inet",
    )
    components, instances, wrong = (
        Component._meta.db_table,
        Instance._meta.db_table,
        WrongSecret._meta.db_table,
    )
    return (
        f"WITH c AS (SELECT {_COMPONENT_COLUMNS} FROM {components} c WHERE c.service_id = %(service_id)s), "  # noqa: S608
        f"w AS (SELECT w.failures, w.window_ends_at FROM {wrong} w JOIN c ON w.component_id = c.id "
        "WHERE w.client = %(client)s::text AND w.window_ends_at > %(now)s::timestamptz), "
        f"i AS (SELECT i.id, i.is_online, i.scheme FROM {instances} i JOIN c ON i.component_id = c.id "
        "WHERE i.host = %(host)s::text AND COALESCE(i.port, 0) = %(port_or_zero)s::integer), "
        f"added AS (INSERT INTO {instances} ({instance_columns}) SELECT {instance_values} FROM c "
        f"WHERE c.registration = '{Registration.API}' "
        "AND sha256(convert_to(c.secret_key, 'UTF8')) = %(secret_digest)s::bytea "
        "AND NOT EXISTS (SELECT 1 FROM i) "
        "AND NOT EXISTS (SELECT 1 FROM w WHERE w.failures >= %(limit)s::integer) "
        # The instance limit, evaluated last (or not at all): is there a row past the limit's last
        # one? It reads at most that many index entries, however many instances there are.
        f"AND NOT EXISTS (SELECT 1 FROM {instances} n WHERE n.component_id = c.id "
        "OFFSET %(max_instances)s::integer - 1 LIMIT 1) "
        "ON CONFLICT DO NOTHING RETURNING id), "
        f"event AS (INSERT INTO {event.table} ({event.columns}) SELECT {event.values} FROM c, added) "
        f"SELECT {_COMPONENT_COLUMNS}, {_THROTTLE_COLUMNS}, i.id, i.is_online, i.scheme, (SELECT id FROM added) "
        "FROM c LEFT JOIN w ON TRUE LEFT JOIN i ON TRUE"
    )
