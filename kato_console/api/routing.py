"""How a console API route is written: as the documentation writes it, and also with the other
trailing-slash form, because scripts forget; the second form is left out of the OpenAPI schema."""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.views import APIView


def route(route: str, view: type[APIView], name: str, *, alias: bool = True) -> list[URLPattern]:
    patterns = [path(route, view.as_view(), name=name)]
    if alias:
        other = route.removesuffix("/") if route.endswith("/") else f"{route}/"
        # schema=None keeps the alias out of the OpenAPI schema (DRF's and drf-spectacular's rule).
        patterns.append(path(other, view.as_view(schema=None)))
    return patterns


# A component's routes start with this.
COMPONENT = "components/<str:service_id>"
