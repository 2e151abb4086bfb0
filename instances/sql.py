"""The statements written by hand, each beside the measurement that keeps it out of the ORM.

Everything else the project reads and writes goes through the ORM. A statement stays here only
where the ORM version missed a floor of bench/RESULTS.md, or cannot say what the statement says.
Table and column names come from the models, never from input; every value is a parameter. Each
function returns the statement's text (built once, when the models are ready) or runs it.

Not here: DDL in the migrations (triggers, the gateway's NOTIFY), and the calls of PostgreSQL's
advisory-lock functions (``SELECT pg_advisory_xact_lock(…)``), which the ORM has no words for and
which stay beside the code they serialise (``components.gateway``, ``instances.services``).
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, models

from components.models import Component
from core.models import AuditEvent
from instances.models import Instance, ResolvedAddress, WrongSecret


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)


def _insert_fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _param_type(field: models.Field[Any, Any]) -> str:
    # A parameter in a SELECT list has no column to take its type from, so each is cast to its
    # column's type; text for the character columns, since a cast to varchar(n) would cut a longer
    # value where the column refuses it.
    if isinstance(field, models.CharField | models.TextField):
        return "text"
    return str(field.db_type(connection))


def _row_values(obj: models.Model, fields: list[models.Field[Any, Any]]) -> list[Any]:
    """The values Django's INSERT would send for ``obj``: its defaults, ``auto_now_add``, the
    fields' own conversion to the database."""
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


# --------------------------------------------------------------------------------------------
# The instance API's lookup (a read)
# --------------------------------------------------------------------------------------------
#
# Why by hand (bench/RESULTS.md, "The instance API on the ORM"): the same read through the ORM is
# two queries whose compilation alone costs the web process more CPU than the bare Django view's
# whole request (the component's row: 470 µs of CPU through the ORM, 86 µs for the same SQL), and
# a PUT that changes nothing fell to 0.16–0.19 × the bare view against a floor of 0.40; with this
# statement it runs at 0.42–0.49 ×. It only reads.


@functools.cache
def component_fields() -> list[str]:
    """The attribute names of the component's columns, in the order ``lookup_sql`` returns them."""
    return [field.attname for field in Component._meta.concrete_fields]


@functools.cache
def lookup_sql() -> str:
    """The component with a service id (parameter 5), the client's (1) wrong secrets in a window
    still open at (2), and the instance at host (3) and port (4), in one row; none when there is no
    such component."""
    columns = ", ".join(f"c.{_quote(str(field.column))}" for field in Component._meta.concrete_fields)
    return (
        f"SELECT {columns}, w.failures, w.window_ends_at, i.id, i.is_online, i.scheme "  # noqa: S608 — names only
        f"FROM {Component._meta.db_table} c "
        f"LEFT JOIN {WrongSecret._meta.db_table} w "
        "ON w.component_id = c.id AND w.client = %s AND w.window_ends_at > %s "
        f"LEFT JOIN {Instance._meta.db_table} i "
        # The instance's unique address index: a missing port is one value, as in the constraint.
        "ON i.component_id = c.id AND i.host = %s AND COALESCE(i.port, 0) = COALESCE(%s, 0) "
        "WHERE c.service_id = %s"
    )


# --------------------------------------------------------------------------------------------
# The instance API's add: the instance and its audit event in one statement
# --------------------------------------------------------------------------------------------
#
# Why by hand (bench/RESULTS.md, "The instance API's add in one statement"): through the ORM an add
# is six round trips to PostgreSQL (the lookup, then BEGIN, the instance's INSERT, the instance
# limit's read, the audit event's INSERT, COMMIT) and ran at 0.12–0.14 × the bare view, on a quiet
# machine too, against a floor of 0.20; as the lookup and this one statement it runs at the figure
# recorded there. The values are the ones Django's INSERTs would send, taken from the models'
# objects (defaults, auto_now_add, the audit event built and redacted by ``core.audit``); the limit
# is the same read as ``services.check_instance_limit``. A conflict with an existing address or the
# limit inserts nothing, and the service decides what to do about it through the ORM.


def instance_insert_audited(instance: Instance, event: AuditEvent, *, limit: int) -> bool:
    """Insert ``instance`` and, only if it was inserted, ``event``, in one statement; refuse (return
    False, having written nothing) when the address exists or the component already has ``limit``
    instances. On success ``instance`` has its id."""
    instance_fields, event_fields = _insert_fields(Instance), _insert_fields(AuditEvent)
    params = [
        *_row_values(instance, instance_fields),
        instance.component_id,
        limit - 1,
        *_row_values(event, event_fields),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_audited_sql(), params)
        row = cursor.fetchone()
    if row is None:
        return False
    instance.pk = row[0]
    instance._state.adding, instance._state.db = False, connection.alias
    return True


@functools.cache
def _insert_audited_sql() -> str:
    instance_fields, event_fields = _insert_fields(Instance), _insert_fields(AuditEvent)
    table = Instance._meta.db_table

    def columns(fields: list[models.Field[Any, Any]]) -> str:
        return ", ".join(_quote(str(field.column)) for field in fields)

    def values(fields: list[models.Field[Any, Any]]) -> str:
        return ", ".join(f"CAST(%s AS {_param_type(field)})" for field in fields)

    return (
        f"WITH added AS (INSERT INTO {table} ({columns(instance_fields)}) "  # noqa: S608 — names only
        f"SELECT {values(instance_fields)} "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE component_id = %s OFFSET %s LIMIT 1) "
        "ON CONFLICT DO NOTHING RETURNING id), "
        f"event AS (INSERT INTO {AuditEvent._meta.db_table} ({columns(event_fields)}) "
        f"SELECT {values(event_fields)} FROM added) "
        "SELECT id FROM added"
    )


# --------------------------------------------------------------------------------------------
# The sweep's record of a round: one conditional UPDATE of the instances
# --------------------------------------------------------------------------------------------
#
# Why by hand: the ORM cannot say it. ``bulk_update`` writes each row whatever it holds now, while a
# result must be dropped when its instance changed since the claim (its generation) or got another
# result in between (its counts), row by row, in the same statement that writes it. The results
# travel as one JSON document rather than as thousands of parameters: it costs the sweep a fraction
# of the CPU (10,000 instances on the defaults within the sweep's figures, bench/RESULTS.md), and it
# has no parameter limit to split around.

# What each element of the JSON document that carries a round's results holds, in order, and the
# model field whose column type it has.
HEALTH_RESULT_FIELDS = (
    ("id", "id"),
    ("generation", "generation"),
    ("old_health", "health"),
    ("old_successes", "consecutive_successes"),
    ("old_failures", "consecutive_failures"),
    ("health", "health"),
    ("successes", "consecutive_successes"),
    ("failures", "consecutive_failures"),
    ("latency_ms", "latency_ms"),
    ("stage", "last_stage"),
    ("error", "last_error"),
    ("server_info", "server_info"),
    ("cert_expires_at", "cert_expires_at"),
)
_HEALTH_ASSIGNMENTS = (
    ("health", "v.health"),
    ("consecutive_successes", "v.successes"),
    ("consecutive_failures", "v.failures"),
    ("latency_ms", "v.latency_ms"),
    ("last_stage", "v.stage"),
    ("last_error", "v.error"),
    ("server_info", "v.server_info"),
    ("last_checked_at", "%s"),
    ("cert_expires_at", f"COALESCE(v.cert_expires_at, {Instance._meta.db_table}.cert_expires_at)"),
)


@functools.cache
def health_update_sql() -> str:
    table = Instance._meta.db_table
    columns = ", ".join(
        f"CAST(e ->> {index} AS {Instance._meta.get_field(field).db_type(connection)}) AS {name}"
        for index, (name, field) in enumerate(HEALTH_RESULT_FIELDS)
    )
    assignments = ", ".join(f"{column} = {value}" for column, value in _HEALTH_ASSIGNMENTS)
    # The right-hand side reads the row as it was: the health changes, so it changes since now.
    assignments += (
        f", health_since = CASE WHEN {table}.health = v.health THEN {table}.health_since ELSE %s END"
    )
    return (
        f"WITH v AS (SELECT {columns} FROM json_array_elements(CAST(%s AS json)) AS e) "  # noqa: S608 — names only, the data is a parameter
        f"UPDATE {table} SET {assignments} FROM v "
        f"WHERE {table}.id = v.id AND {table}.generation = v.generation "
        f"AND {table}.health = v.old_health AND {table}.consecutive_successes = v.old_successes "
        f"AND {table}.consecutive_failures = v.old_failures "
        f"RETURNING {table}.id"
    )


# --------------------------------------------------------------------------------------------
# The addresses of DNS-name instances: one INSERT … ON CONFLICT per round
# --------------------------------------------------------------------------------------------
#
# Why by hand: ``bulk_create(update_conflicts=True)`` builds a model object per row and sends each
# column as an array, which cost a sweep of 10,000 name instances 0.07 ms of CPU per probe
# (bench/RESULTS.md, "DNS-name instances probed address by address"); one JSON document costs a
# fraction of that.

# The columns of a written row, in the order ``resolved._row`` gives them; ``last_checked_at`` is one
# parameter for the whole round.
RESOLVED_COLUMNS = (
    "instance_id",
    "component_id",
    "name",
    "ip",
    "health",
    "consecutive_successes",
    "consecutive_failures",
    "last_stage",
    "last_error",
)


@functools.cache
def resolved_upsert_sql() -> str:
    table = ResolvedAddress._meta.db_table
    fields = (ResolvedAddress._meta.get_field(column.removesuffix("_id")) for column in RESOLVED_COLUMNS)
    values = ", ".join(
        f"CAST(e ->> {index} AS {field.db_type(connection)})" for index, field in enumerate(fields)
    )
    updated = [column for column in RESOLVED_COLUMNS if column not in ("instance_id", "component_id", "ip")]
    assignments = ", ".join(f"{column} = EXCLUDED.{column}" for column in [*updated, "last_checked_at"])
    return (
        f"INSERT INTO {table} ({', '.join(RESOLVED_COLUMNS)}, last_checked_at) "  # noqa: S608 — names only, the data is a parameter
        f"SELECT {values}, %s FROM json_array_elements(CAST(%s AS json)) AS e "
        f"ON CONFLICT (instance_id, ip) DO UPDATE SET {assignments}"
    )
