"""Django's PostgreSQL backend, with a bound on how long the console waits for an answer.

``connect_timeout`` bounds a new connection and ``statement_timeout`` a statement the server is
running, but neither helps when a kept connection stalls: the server (or something between) holds
the connection open and answers nothing, and the worker would wait until gunicorn kills it. Here
every round trip on a connection (a statement, a fetch, a commit, the health check of a kept
connection) waits at most ``OPTIONS["answer_timeout"]`` seconds (``KATO_DB_ANSWER_TIMEOUT_S``); then
the connection is closed, since it is somewhere in the middle of a conversation, and the caller gets
an ``OperationalError``, which ``kato_console.unavailable`` answers with 503. The health check of a
kept connection, a ``SELECT 1``, waits no longer than a new connection may take.

Settings: ``DATABASES["default"]["ENGINE"] = "kato_console.postgresql"``.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import errors

# psycopg's own wait functions raise this when their timeout expires (an OperationalError).
_WAIT_TIMEOUT = errors._WaitTimeout
_UNSET = object()


class AnsweringConnection(psycopg.Connection[Any]):
    """A psycopg connection whose every round trip waits at most ``answer_timeout_s`` seconds."""

    answer_timeout_s: float | None = None

    def wait(self, gen: Any, interval: float = 0.1, timeout: Any = _UNSET) -> Any:
        if timeout is _UNSET:  # psycopg's own callers (notifies, cancel) give theirs, None included
            timeout = self.answer_timeout_s
        try:
            return super().wait(gen, interval, timeout)
        except _WAIT_TIMEOUT:
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {timeout:g} s; the connection was closed"
            ) from None


class _Psycopg:
    """psycopg as Django's backend sees it, with connections that bound their waits."""

    connect = staticmethod(AnsweringConnection.connect)

    def __getattr__(self, name: str) -> Any:
        return getattr(psycopg, name)


class DatabaseWrapper(base.DatabaseWrapper):
    Database = _Psycopg()  # type: ignore[assignment]  # psycopg itself, but for connect

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        self.answer_timeout_s = params.pop("answer_timeout", None) or None
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.answer_timeout_s = self.answer_timeout_s
        return connection

    def is_usable(self) -> bool:
        # The health check of a kept connection (CONN_HEALTH_CHECKS): a SELECT 1 that a live server
        # answers at once, so it waits no longer than a new connection may take.
        connection = self.connection
        if connection is None:
            return False
        bound = self.settings_dict["OPTIONS"].get("connect_timeout") or connection.answer_timeout_s
        saved, connection.answer_timeout_s = connection.answer_timeout_s, bound
        try:
            return bool(super().is_usable())
        finally:
            connection.answer_timeout_s = saved
