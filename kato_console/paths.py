"""Refuse a path that names nothing: a NUL byte (``/components/%00/``) cannot be in any of the console's
names or ids, and PostgreSQL refuses it in a query, so such a request is a 404 before any view runs."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse


class RefuseNulInPath:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            raise Http404("No such page.")
        return self.get_response(request)
