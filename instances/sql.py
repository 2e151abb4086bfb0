"""The statements written by hand, each beside the measurement that keeps it out of the ORM.

Everything else the project reads and writes goes through the ORM. A statement stays here only
where the ORM version missed a floor of bench/RESULTS.md, or cannot say what the statement says.
Table and column names come from the models, never from input; every value is a parameter. Each
function returns the statement's text (built once, when the models are ready) or runs it.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connection, models

from components.models import Component
from core.models import AuditEvent
from instances.models import Instance, WrongSecret


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
