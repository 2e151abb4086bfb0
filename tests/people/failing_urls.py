"""The console's URLs and one page that fails, for the error pages' tests."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import path

from kato_console.urls import handler500
from kato_console.urls import urlpatterns as console

__all__ = ["handler500", "urlpatterns"]


def fails(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a page")


urlpatterns = [path("fails/", fails), *console]
