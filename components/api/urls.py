"""Routes of the console API, included under ``/api/v1/``.

Each route is written as the documentation writes it and also answers with the other trailing-slash
form, because scripts forget; the second form is left out of the OpenAPI schema. The exception is
``…/env`` (the effective environment) beside ``…/env/`` (the component's variables): there the
slash is the difference.

Numeric ids are matched as text and checked by the views, so that ``…/instances/abc`` is the API's
JSON 404 rather than the site's HTML one.
"""

from __future__ import annotations

from django.urls import URLPattern, path
from rest_framework.views import APIView

from components.api import kubernetes, views

C = "components/<str:service_id>"


def _route(route: str, view: type[APIView], name: str, *, alias: bool = True) -> list[URLPattern]:
    patterns = [path(route, view.as_view(), name=name)]
    if alias:
        other = route.removesuffix("/") if route.endswith("/") else f"{route}/"
        # schema=None keeps the alias out of the OpenAPI schema (DRF's and drf-spectacular's rule).
        patterns.append(path(other, view.as_view(schema=None)))
    return patterns


urlpatterns: list[URLPattern] = [
    *_route("applications/", views.ApplicationListApi, "api-applications"),
    *_route("components/", views.ComponentListApi, "api-components"),
    *_route(C, views.ComponentDetailApi, "api-component"),
    *_route(f"{C}/secret-key", views.SecretKeyApi, "api-secret-key"),
    *_route(f"{C}/ports/", views.PortListApi, "api-ports"),
    *_route(f"{C}/ports/<str:number>", views.PortDetailApi, "api-port"),
    *_route(f"{C}/env", views.EffectiveEnvironmentApi, "api-environment", alias=False),
    *_route(f"{C}/env/", views.EnvVarListApi, "api-env", alias=False),
    *_route(f"{C}/env/<str:name>", views.EnvVarDetailApi, "api-env-var"),
    *_route(f"{C}/dependencies/", views.DependencyListApi, "api-dependencies"),
    *_route(f"{C}/dependencies/<str:target>", views.DependencyDetailApi, "api-dependency"),
    *_route(f"{C}/instances/", views.InstanceListApi, "api-instances"),
    *_route(f"{C}/instances/<str:instance_id>", views.InstanceDetailApi, "api-instance"),
    *_route(f"{C}/health-check", views.HealthCheckApi, "api-health-check"),
    *_route(f"{C}/probe", views.ProbeApi, "api-probe"),
    *_route(f"{C}/kubernetes", kubernetes.ComponentKubernetesApi, "api-component-kubernetes"),
    *_route(
        "applications/<str:slug>/kubernetes",
        kubernetes.ApplicationKubernetesApi,
        "api-application-kubernetes",
    ),
]
