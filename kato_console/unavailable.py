"""The console's answer when its database is away or too slow: ``503`` with ``Retry-After``, in the
format of each door (README, "When the database is away").

A connection refused, a connect timeout (``connect_timeout``) or a statement cancelled by the
server (``statement_timeout``) reaches Django as an ``OperationalError`` (or an ``InterfaceError``
on a connection already closed). The console API's DRF handler answers ``{"detail": …}``, the
instance API's handler its envelope (``kato_console.kato_api``), and ``server_error`` (Django's
``handler500``) everything else, including a failure in a middleware before any view ran: the
envelope under the instance API's path, DRF's format under ``/api/``, a calm page elsewhere. None of
these answers reads the database.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

RETRY_AFTER_S = 5
_UNAVAILABLE = "kato.database_unavailable"
MSG = "database_unavailable"
MSG_SHOW = f"The console's database is unavailable right now; try again in {RETRY_AFTER_S} seconds."


def database_unavailable(exc: BaseException | None) -> bool:
    return isinstance(exc, OperationalError | InterfaceError)


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = MSG_SHOW
    default_code = MSG


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, with the database away as a 503 in DRF's format."""
    if not database_unavailable(exc):
        return exception_handler(exc, context)
    response = exception_handler(DatabaseUnavailable(), context)
    if response is not None:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """Django's ``handler500``: a 503 in the door's format when the database is the cause."""
    if not database_unavailable(sys.exc_info()[1]):
        return defaults.server_error(request)
    return unavailable_response(request)


@receiver(got_request_exception, dispatch_uid="kato-database-unavailable")
def _note_database_unavailable(sender: object, request: HttpRequest | None = None, **kwargs: object) -> None:
    # Django sends this inside its handler of an uncaught exception, wherever it was raised (a view,
    # or a middleware such as LoginRequiredMiddleware reading the session): the middleware below
    # then answers 503 in place of the debugging page DEBUG would show.
    if request is not None and database_unavailable(sys.exc_info()[1]):
        request.META[_UNAVAILABLE] = True


class DatabaseUnavailableMiddleware:
    """The same 503 with ``DEBUG`` on too (the embedded run), where Django would show its debugging
    page instead of calling ``handler500``: for a view's exception, and for one raised by a
    middleware below this one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.META.pop(_UNAVAILABLE, False) and response.status_code == 500:
            return unavailable_response(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return unavailable_response(request) if database_unavailable(exception) else None


def unavailable_response(request: HttpRequest) -> HttpResponse:
    response: HttpResponse
    if request.path.startswith("/console/third_party/"):
        envelope = {"code": 503, "msg": MSG, "msg_show": MSG_SHOW, "data": {"bean": {}, "list": []}}
        response = JsonResponse(envelope, status=503)
    elif request.path.startswith("/api/"):
        response = JsonResponse({"detail": MSG_SHOW}, status=503)
    else:
        page = render_to_string("503.html", {"retry_after": RETRY_AFTER_S})
        response = HttpResponse(page, status=503)
    response["Retry-After"] = str(RETRY_AFTER_S)
    response["Cache-Control"] = "no-store"
    return response
