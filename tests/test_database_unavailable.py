"""The database away or slow: every door answers 503 with Retry-After in its own format, and after the
database returns no request fails on a connection that went stale meanwhile.

The console is served by Django's WSGI handler in a thread of its own, one request after the other,
keeping its database connection between requests as a gunicorn worker does; it reaches the real
PostgreSQL through a loopback proxy of the test's own, which the test cuts (the database is gone)
and stalls (it accepts connections and never answers). A slow statement is a real lock held by
another session.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import psycopg
import pytest
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.db import OperationalError, connection, connections
from django.test import Client

from core import services as accounts
from tests.faults import FaultyProxy, faulty_proxy

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SUCCESS = {
    "msg": "success",
    "code": 200,
    "data": {"bean": {}, "list": []},
    "msg_show": "Successfully modified",
}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Console:
    """The console at a loopback URL, with a logged-in user's session and API token."""

    def __init__(self, url: str, session: str, token: str) -> None:
        self.url, self.session, self.token = url, session, token

    def call(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return Answer(response.status, dict(response.headers), response.read().decode())
        except urllib.error.HTTPError as error:
            return Answer(error.code, dict(error.headers), error.read().decode())

    def page(self) -> Answer:
        return self.call(
            "GET", "/apps/", headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={self.session}"}
        )

    def api(self) -> Answer:
        return self.call("GET", "/api/v1/applications/", headers={"Authorization": f"Token {self.token}"})

    def put_instance(self, component: Any) -> Answer:
        body = {"secret_key": component.secret_key, "ip": "10.0.0.7"}
        return self.call("PUT", f"/console/third_party/{component.service_id}", body=body)


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def database_proxy(postgres_database) -> Iterator[FaultyProxy]:
    """Connections made from here on go through a proxy in front of the real database."""
    settings_dict = connection.settings_dict
    saved = settings_dict["HOST"], settings_dict["PORT"]
    with faulty_proxy(saved[0] or "127.0.0.1", int(saved[1] or 5432)) as proxy:
        settings_dict["HOST"], settings_dict["PORT"] = proxy.host, str(proxy.port)
        try:
            yield proxy
        finally:
            proxy.resume()
            proxy.restore()
            settings_dict["HOST"], settings_dict["PORT"] = saved


@contextmanager
def _served(user: Any) -> Iterator[Console]:
    """The console in a thread of its own, with ``user``'s session and a token of theirs."""
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    _, token = accounts.api_token_create(user=user, name="tests")
    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=_Quiet)

    def serve() -> None:
        try:
            server.serve_forever(poll_interval=0.1)
        finally:
            connections.close_all()  # the serving thread's own connection

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Console(f"http://127.0.0.1:{server.server_port}", session, token)
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture
def console(alice, database_proxy) -> Iterator[Console]:
    with _served(alice) as served:
        yield served


def _assert_every_door_answers_503(console: Console, component: Any) -> None:
    page = console.page()
    assert (page.status, page.headers["Retry-After"]) == (503, "5")
    assert "Back in a moment" in page.text
    assert "Traceback" not in page.text

    put = console.put_instance(component)
    assert (put.status, put.headers["Retry-After"]) == (503, "5")
    assert put.json()["code"] == 503
    assert put.json()["msg"] == "database_unavailable"
    assert put.json()["data"] == {"bean": {}, "list": []}
    assert "try again" in put.json()["msg_show"]

    api = console.api()
    assert (api.status, api.headers["Retry-After"]) == (503, "5")
    assert list(api.json()) == ["detail"]
    assert "unavailable" in api.json()["detail"]


def _assert_every_door_answers(console: Console, component: Any) -> None:
    assert console.page().status == 200
    assert console.api().status == 200
    assert console.put_instance(component).json() == SUCCESS


def test_every_door_answers_503_while_the_database_is_cut_and_recovers_after(
    console, database_proxy, api_component
) -> None:
    _assert_every_door_answers(console, api_component)  # a connection is open, and kept

    database_proxy.cut()
    _assert_every_door_answers_503(console, api_component)

    database_proxy.restore()
    _assert_every_door_answers(console, api_component)


def test_a_connection_that_went_stale_while_the_database_was_away_fails_no_request(
    console, database_proxy, api_component
) -> None:
    assert console.page().status == 200
    database_proxy.cut()  # the kept connection breaks while nobody uses it
    database_proxy.restore()

    _assert_every_door_answers(console, api_component)


def test_a_database_that_accepts_connections_and_never_answers_gives_503(
    console, database_proxy, api_component
) -> None:
    database_proxy.stall()  # the console's first connection hangs
    _assert_every_door_answers_503(console, api_component)

    database_proxy.resume()
    _assert_every_door_answers(console, api_component)


def test_a_statement_held_up_by_a_lock_gives_503_and_ends_with_the_lock(
    postgres_database, alice, api_component
) -> None:
    settings_dict = connection.settings_dict
    with (
        psycopg.connect(
            host=settings_dict["HOST"] or "127.0.0.1",
            port=int(settings_dict["PORT"] or 5432),
            user=settings_dict["USER"],
            dbname=settings_dict["NAME"],
        ) as other,
        _served(alice) as console,
    ):
        assert console.page().status == 200
        other.execute("LOCK TABLE components_component IN ACCESS EXCLUSIVE MODE")
        _assert_every_door_answers_503(console, api_component)
        other.rollback()
        _assert_every_door_answers(console, api_component)


def test_a_page_is_a_calm_503_with_debug_on_too(console, database_proxy, settings) -> None:
    settings.DEBUG = True  # the embedded run: Django would show its debugging page
    assert console.page().status == 200
    database_proxy.cut()

    page = console.page()
    assert (page.status, page.headers["Retry-After"]) == (503, "5")
    assert "Back in a moment" in page.text


def test_a_kept_connection_that_stalls_gives_503_and_holds_no_worker(
    console, database_proxy, api_component
) -> None:
    _assert_every_door_answers(console, api_component)  # a connection is open, and kept
    database_proxy.stall()  # the server holds it open and answers nothing

    # The kept connection's health check gives up, a new connection cannot be made: 503, not a
    # worker waiting for ever.
    _assert_every_door_answers_503(console, api_component)

    database_proxy.resume()
    _assert_every_door_answers(console, api_component)


def test_a_statement_on_a_kept_connection_that_stalls_fails_and_closes_the_connection(
    database_proxy,
) -> None:
    options = connection.settings_dict["OPTIONS"]
    saved = options.get("answer_timeout")
    options["answer_timeout"] = 1
    kept = connections.create_connection("default")
    try:
        with kept.cursor() as cursor:
            cursor.execute("SELECT 1")
            assert cursor.fetchone() == (1,)
        database_proxy.stall()

        with pytest.raises(OperationalError, match="did not answer within 1 s"), kept.cursor() as cursor:
            cursor.execute("SELECT 2")

        assert kept.connection is None or kept.connection.closed
        assert not kept.is_usable()
    finally:
        options["answer_timeout"] = saved
        kept.close()
