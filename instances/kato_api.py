"""The Kato-compatible, secret-keyed instance endpoint (docs/instance-api.md; docs/architecture.md, "A PUT to the instance API").

``GET|PUT|DELETE /console/third_party/<service_id>``. Scripts written for Kato/Rainbond keep working:
the same body, the same success envelope. Unlike the reference implementation, every input is
validated, the secret is compared in constant time, wrong secrets are throttled per client, and no
input produces a 500.

This is a plain Django view rather than a DRF one: it answers a deploy hook's or a cron job's
request on every run, so it is kept to the work that request needs: on PostgreSQL a PUT, whether it
changes nothing or adds an instance, is one prepared statement.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, NamedTuple

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from psycopg.sql import Literal

from components.api.parsers import BadJson, parse_json_body
from components.models import Component, Registration
from components.validation import SERVICE_ID_RE
from instances.addresses import Address, AddressError, check_policy, parse_address
from instances.models import HealthCheck, Instance, Source, WrongSecret, instance_status
from instances.services import (
    InstanceLimitReached,
    added_detail,
    instance_delete,
    instance_set_online,
    instance_upsert,
)
from kato_console.core.audit import Actor
from kato_console.core.errors import ComponentError
from kato_console.core.models import ActorKind, AuditEvent
from kato_console.core.net import client_ip

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
ALLOWED_METHODS = ("GET", "PUT", "DELETE")
# The endpoint's URL pattern (trailing slash optional), for the URLconf and the middleware shortcut.
API_PATH = r"^console/third_party/(?P<service_id>[^/]+)/?$"


class KatoError(Exception):
    """An answer other than success: HTTP status, a stable machine word and a sentence for people."""

    def __init__(self, code: int, msg: str, msg_show: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(msg_show)
        self.code, self.msg, self.msg_show = code, msg, msg_show
        self.headers = headers or {}


def _envelope_bytes(code: int, msg: str, msg_show: str, bean: dict | None, items: list | None) -> bytes:
    body = {"msg": msg, "code": code, "data": {"bean": bean or {}, "list": items or []}, "msg_show": msg_show}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()


def envelope(
    code: int, msg: str, msg_show: str, *, bean: dict | None = None, items: list | None = None
) -> HttpResponse:
    """Kato's response envelope, the same for every answer; the HTTP status equals ``code``."""
    body = _envelope_bytes(code, msg, msg_show, bean, items)
    return HttpResponse(body, status=code, content_type="application/json")


# The answer every deploy hook waits for, byte for byte as Kato sends it.
MODIFIED = _envelope_bytes(200, "success", "Successfully modified", None, None)


# Throttling of wrong secrets, per component and client address.


@dataclass(frozen=True)
class Throttle:
    """After ``limit`` wrong secret keys from one client address for one component, within
    ``window_s`` seconds of the first, that client is answered 429 until the window ends.

    The counts are ``WrongSecret`` rows, shared by every web process; the lookup statement reads
    the requesting client's row, so checking costs no query of its own.
    """

    limit: int
    window_s: int

    def blocked(self, row: _Row) -> bool:
        return row.failures is not None and row.failures >= self.limit

    def retry_after_s(self, row: _Row) -> int:
        """Seconds until the client's window ends."""
        left = (_as_datetime(row.window_ends_at) - timezone.now()).total_seconds()
        return max(1, min(self.window_s, math.ceil(left)))

    def record_failure(self, component_id: int, client: str) -> None:
        """Count one more wrong secret (a new window if the last one has ended), and forget the
        component's ended windows."""
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
                [component_id, client, adapt(now + timedelta(seconds=self.window_s)), adapt(now), adapt(now)],
            )
            cursor.execute(
                f"DELETE FROM {table} WHERE component_id = %s AND window_ends_at <= %s",  # noqa: S608
                [component_id, adapt(now)],
            )


def _as_datetime(value: datetime | str) -> datetime:
    """A timestamp as the database driver returns it outside the ORM: aware from psycopg, naive
    UTC (or text) from SQLite."""
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=UTC)


@lru_cache(maxsize=8)
def _throttle_of(limit: int, window_s: int) -> Throttle:
    return Throttle(limit=limit, window_s=window_s)


def _throttle() -> Throttle:
    return _throttle_of(settings.KATO_API_WRONG_SECRET_LIMIT, settings.KATO_API_WRONG_SECRET_WINDOW_S)


# Reading the request.


def _client_ip(request: HttpRequest) -> str | None:
    """The client's IP address, or None when the server gives none (a Unix socket, say)."""
    return client_ip(request.META.get("REMOTE_ADDR"))


def _client_address(request: HttpRequest) -> str:
    """The client as the throttle and the log name it."""
    return _client_ip(request) or "unknown"


def _read_json(request: HttpRequest) -> dict[str, Any]:
    _check_length(request.META)
    raw = request.body
    if len(raw) > MAX_BODY_BYTES:
        raise KatoError(413, "body_too_large", "The request body is larger than 64 KiB.")
    content_type = request.META.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
    if not raw and not content_type:
        return {}
    if content_type != "application/json" and not content_type.endswith("+json"):
        raise KatoError(
            415, "unsupported_media_type", "Send the body as JSON, with Content-Type: application/json."
        )
    try:
        body = parse_json_body(raw or b"{}")
    except BadJson as error:
        raise KatoError(400, "malformed_json", str(error)) from None
    if not isinstance(body, dict):
        raise KatoError(
            400, "body_not_object", 'The request body must be a JSON object, such as {"ip": "10.0.0.7"}.'
        )
    return body


def _check_length(meta: dict[str, Any]) -> None:
    declared = meta.get("CONTENT_LENGTH") or ""
    if not declared and meta.get("HTTP_TRANSFER_ENCODING"):
        # The WSGI servers differ on a chunked body (some pass it decoded, some not at all), and
        # Django reads none without a length: refuse it rather than take it for an empty body.
        raise KatoError(411, "length_required", "Send the body with a Content-Length header, not in chunks.")
    # isdigit() alone accepts ² and other digits that int() refuses.
    if declared and not (declared.isascii() and declared.isdigit()) or int(declared or 0) > MAX_BODY_BYTES:
        raise KatoError(413, "body_too_large", "The request body is larger than 64 KiB.")


def _presented_secret(request: HttpRequest, body: dict[str, Any]) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    source = request.GET if request.method == "GET" else body
    secret = source.get("secret_key")
    return secret if isinstance(secret, str) else None


class _Row(NamedTuple):
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


@dataclass
class _Found:
    service_id: str
    row: _Row

    @cached_property
    def component(self) -> Component:
        # Built only when needed: a model instance costs more than the rest of a no-op PUT.
        row = self.row
        return Component(
            id=row.id,
            name=row.name,
            team_id=row.team_id,
            registration=row.registration,
            secret_key=row.secret_key,
            kind=row.kind,
            service_id=self.service_id,
        )

    @property
    def instance_state(self) -> tuple[bool, str] | None:
        row = self.row
        return (bool(row.is_online), row.scheme) if row.instance_id is not None else None


@dataclass(frozen=True)
class _Addition:
    """The instance a PUT adds if its address is new, handed to the lookup so one statement does both.

    The statement writes only when the presented secret's SHA-256 equals that of the stored key:
    the secret itself never travels to the database (nor into its logs), and comparing digests
    tells a timing attacker nothing about the key. The authoritative check is still the
    constant-time comparison in ``_authenticate``.
    """

    address: Address
    is_online: bool
    secret_digest: bytes
    remote_addr: str | None

    def params(self) -> dict[str, Any]:
        return {
            "host": self.address.host,
            "port": self.address.port,
            "port_or_zero": self.address.port or 0,
            "scheme": self.address.scheme,
            "detail": json.dumps(added_detail(str(self.address), self.is_online, Source.API)),
            "is_online": self.is_online,
            "secret_digest": self.secret_digest,
            "remote_addr": self.remote_addr,
        }


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
    kept = getattr(db, "_kato_server_cursor", None)
    if kept is None or kept.connection is not raw or kept.closed:
        kept = db._kato_server_cursor = psycopg.Cursor(raw)
    cursor = db.make_debug_cursor(kept) if db.queries_logged else db.make_cursor(kept)
    cursor.execute(sql, params)
    return cursor.fetchone()


_COMPONENT_COLUMNS = "c.id, c.name, c.team_id, c.registration, c.secret_key, c.kind"
_THROTTLE_COLUMNS = "w.failures, w.window_ends_at"


def _insert_values(model: type[Any], given: dict[str, str]) -> tuple[str, str]:
    """The column list and the SELECT list of a new row of ``model`` for an INSERT … SELECT.

    ``given`` maps some columns to SQL; every other column gets the field's default as the ORM
    would insert it (a constant of the model, not of the request), and timestamps get the
    statement's time.
    """
    columns, expressions = [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in given:
            expressions.append(given[field.column])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            expressions.append("statement_timestamp()")
        else:
            default = Literal(field.get_db_prep_save(field.get_default(), connection))
            # Typed by the column: an untyped NULL would otherwise be text.
            expressions.append(
                f"CAST({default.as_string(connection.connection)} AS {field.cast_db_type(connection)})"
            )
    return ", ".join(columns), ", ".join(expressions)


@lru_cache(maxsize=1)
def _lookup_and_add_statement() -> str:
    """One statement for a PUT on PostgreSQL: find the component and the instance at the address,
    and when there is none, the secret matches and the client is not throttled, add the instance
    and its audit event.

    Built once from the models: table and column names, and the models' own defaults, are
    formatted in; every value from the request is a parameter. Its answer is the lookup's row plus
    the id of the added instance, if any. The audit event's detail is the services' own
    (``added_detail``; none of its keys is secret, so there is nothing to redact).
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
    event_columns, event_values = _insert_values(
        AuditEvent,
        {
            "team_id": "c.team_id",
            "component_id": "c.id",
            "component_label": "c.name",
            "actor": f"'{ActorKind.API_KEY}'",
            "user_id": "NULL",
            "action": "'instance.add'",
            "detail": "%(detail)s::jsonb",
            "remote_addr": "%(remote_addr)s::inet",
        },
    )
    components, instances, events, wrong = (
        Component._meta.db_table,
        Instance._meta.db_table,
        AuditEvent._meta.db_table,
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
        # The instance limit; PostgreSQL evaluates this dearer condition last (or not at all).
        f"AND (SELECT count(*) FROM {instances} n WHERE n.component_id = c.id) < %(max_instances)s::integer "
        "ON CONFLICT DO NOTHING RETURNING id), "
        f"event AS (INSERT INTO {events} ({event_columns}) SELECT {event_values} FROM c, added) "
        f"SELECT {_COMPONENT_COLUMNS}, {_THROTTLE_COLUMNS}, i.id, i.is_online, i.scheme, (SELECT id FROM added) "
        "FROM c LEFT JOIN w ON TRUE LEFT JOIN i ON TRUE"
    )


def _lookup(
    service_id: str, address: Address | None, client: str, addition: _Addition | None = None
) -> _Found:
    """Load the component, the client's wrong secrets and the instance at ``address`` with one
    hand-written query; on PostgreSQL, add the instance in the same statement when ``addition``
    says so.

    This is the hot path of every deploy hook's PUT; the ORM would spend more time compiling the
    queries than PostgreSQL spends answering them.
    """
    components, instances = Component._meta.db_table, Instance._meta.db_table
    db = connections[DEFAULT_DB_ALIAS]
    now = db.ops.adapt_datetimefield_value(timezone.now())
    if addition is not None and db.vendor == "postgresql":
        sql = _lookup_and_add_statement()
        params: Any = {
            **addition.params(),
            "service_id": service_id,
            "client": client,
            "now": now,
            "limit": _throttle().limit,
            "max_instances": settings.KATO_MAX_INSTANCES_PER_COMPONENT,
        }
    else:
        # Only table names from the models are formatted in; every value is a parameter.
        columns, joins = (
            f"{_COMPONENT_COLUMNS}, {_THROTTLE_COLUMNS}",
            (
                f"LEFT JOIN {WrongSecret._meta.db_table} w "
                "ON w.component_id = c.id AND w.client = %s AND w.window_ends_at > %s "
            ),
        )
        params = [client, now]
        if address is not None:
            columns += ", i.id, i.is_online, i.scheme"
            joins += f"LEFT JOIN {instances} i ON i.component_id = c.id AND i.host = %s AND COALESCE(i.port, 0) = %s "
            params += [address.host, address.port or 0]
        sql = f"SELECT {columns} FROM {components} c {joins}WHERE c.service_id = %s"  # noqa: S608
        params.append(service_id)
    row = _fetch_one(db, sql, params)
    if row is None:
        raise KatoError(404, "component_not_found", "There is no third-party component with this id.")
    found = _Found(service_id, _Row(*row))
    if found.row.registration != Registration.API:
        raise KatoError(
            409,
            "not_api_registration",
            "This component's instances are not registered through the API; change its registration method to use it.",
        )
    return found


def _authenticate(found: _Found, presented: str | None, client: str) -> None:
    throttle = _throttle()
    if throttle.blocked(found.row):
        wait_s = throttle.retry_after_s(found.row)
        raise KatoError(
            429,
            "too_many_wrong_secrets",
            f"Too many wrong secret keys from this address; try again in {wait_s} seconds.",
            headers={"Retry-After": str(wait_s)},
        )
    if not presented:
        raise KatoError(
            401, "secret_key_missing", "The secret key is missing: send secret_key or Authorization: Bearer."
        )
    if not hmac.compare_digest(presented.encode(), found.row.secret_key.encode()):
        throttle.record_failure(found.row.id, client)
        logger.info("Wrong secret key for component %s from %s", found.service_id, client)
        raise KatoError(401, "secret_key_invalid", "The secret key is not valid for this component.")


def _addition(
    request: HttpRequest, body: dict[str, Any], address: Address | None, presented: str | None
) -> _Addition | None:
    """What a PUT adds if its address is new; None when the request is bound to be refused."""
    if address is None or not presented:
        return None
    try:
        is_online = _is_online(body)
    except KatoError:
        return None  # reported after authentication
    digest = hashlib.sha256(presented.encode()).digest()
    return _Addition(address, is_online, digest, _client_ip(request))


def _address_or_error(body: dict[str, Any]) -> tuple[Address | None, KatoError | None]:
    try:
        return _address(body), None
    except KatoError as error:
        return None, error


def _address(body: dict[str, Any]) -> Address:
    raw = body.get("ip")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise KatoError(
            400, "ip_missing", 'The field "ip" is required, as in "10.0.0.7" or "db.example.com:3306".'
        )
    if not isinstance(raw, str):
        raise KatoError(400, "ip_invalid", 'The field "ip" must be a string, as in "10.0.0.7".')
    try:
        address = parse_address(raw)
        check_policy(address, settings.KATO_DENIED_NETWORKS)
    except AddressError as error:
        raise KatoError(400, "ip_invalid", str(error)) from None
    return address


def _is_online(body: dict[str, Any]) -> bool:
    value = body.get("is_online", True)
    if not isinstance(value, bool):
        raise KatoError(
            400, "is_online_invalid", 'The field "is_online" must be true or false (a JSON boolean).'
        )
    return value


def _item(instance: Instance, check_enabled: bool, default_port: int | None) -> dict[str, Any]:
    return {
        "ep_id": str(instance.pk),
        "address": instance.address,
        "ip": instance.host,
        "port": instance.port or default_port,
        "status": instance_status(instance, check_enabled),
        "is_online": instance.is_online,
        "is_static": instance.source == Source.STATIC,
        "latency_ms": instance.latency_ms,
        "last_checked_at": instance.last_checked_at.isoformat() if instance.last_checked_at else None,
    }


class ThirdPartyInstancesApi(View):
    """One URL, three operations; every answer is the Kato envelope."""

    http_method_names = ["get", "put", "delete", "post", "patch", "head", "options", "trace"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        # Scripts authenticate with the secret key, not a session cookie: CSRF does not apply.
        # (Exempting the view once, rather than decorating dispatch, wraps nothing per request.)
        return csrf_exempt(super().as_view(**initkwargs))

    def dispatch(self, request: HttpRequest, service_id: str) -> HttpResponse:
        try:
            if request.method not in ALLOWED_METHODS:
                raise KatoError(
                    405, "method_not_allowed", "Use GET to list, PUT to add or update, DELETE to remove."
                )
            if not SERVICE_ID_RE.match(service_id):
                raise KatoError(404, "component_not_found", "There is no third-party component with this id.")
            body = _read_json(request) if request.method != "GET" else {}
            # The address is parsed before the lookup so that one query finds the instance too (and,
            # for a PUT of a new address, adds it); its errors are reported after authentication,
            # so that they tell nothing to a stranger.
            address, invalid = _address_or_error(body) if request.method != "GET" else (None, None)
            presented = _presented_secret(request, body)
            client = _client_address(request)
            addition = _addition(request, body, address, presented) if request.method == "PUT" else None
            found = _lookup(service_id, address, client, addition)
            # A throttled client gets 429 whatever it sends (the statement adds nothing for it).
            _authenticate(found, presented, client)
            if invalid is not None:
                raise invalid
            if request.method == "GET":
                return self._list(found.component)
            if request.method == "PUT":
                return self._put(request, found, address, _is_online(body))
            return self._delete(request, found, address)
        except KatoError as error:
            response = envelope(error.code, error.msg, error.msg_show)
            for name, value in error.headers.items():
                response[name] = value
            if error.code == 405:
                response["Allow"] = ", ".join(ALLOWED_METHODS)
            return response

    def _actor(self, request: HttpRequest) -> Actor:
        return Actor.api_key(_client_ip(request))

    def _put(self, request: HttpRequest, found: _Found, address: Address, is_online: bool) -> HttpResponse:
        row = found.row
        if row.added_id is not None or found.instance_state == (is_online, address.scheme):
            return HttpResponse(MODIFIED, content_type="application/json")
        actor = self._actor(request)
        if row.instance_id is not None:
            try:
                instance = Instance(pk=row.instance_id, component=found.component)
                instance_set_online(
                    instance=instance, is_online=is_online, actor=actor, scheme=address.scheme
                )
                return HttpResponse(MODIFIED, content_type="application/json")
            except Instance.DoesNotExist:
                pass  # Deleted since the lookup: add it again.
        try:  # Not there at the lookup: a new address on SQLite, or one a concurrent request just added.
            instance_upsert(component=found.component, address=address, is_online=is_online, actor=actor)
        except InstanceLimitReached as error:
            raise KatoError(409, "instance_limit_reached", str(error)) from None
        except ComponentError as error:
            raise KatoError(400, "ip_invalid", str(error)) from None
        return HttpResponse(MODIFIED, content_type="application/json")

    def _delete(self, request: HttpRequest, found: _Found, address: Address) -> HttpResponse:
        instance_id = found.row.instance_id
        instance = Instance.objects.filter(pk=instance_id).first() if instance_id else None
        if instance is None:
            raise KatoError(404, "instance_not_found", f"The component has no instance at {address}.")
        instance.component = found.component
        instance_delete(instance=instance, actor=self._actor(request))
        return envelope(200, "success", "Successfully deleted")

    def _list(self, component: Component) -> HttpResponse:
        check_enabled = HealthCheck.objects.filter(component=component, enabled=True).exists()
        default_port = component.ports.values_list("number", flat=True).first()
        instances = Instance.objects.filter(component=component).order_by("host", "port", "id")
        items = [_item(instance, check_enabled, default_port) for instance in instances]
        return envelope(200, "success", "Query succeeded", bean={"endpoint_num": len(items)}, items=items)
