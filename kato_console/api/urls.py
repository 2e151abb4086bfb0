"""Routes of the console API, included under ``/api/v1/``: one view module per resource, and the
instances' routes from ``kato_console.api.instance_urls``, so that the whole API is one table.

Each route is written as the documentation writes it and also answers with the other trailing-slash
form, because scripts forget (``kato_console.api.routing``). The exception is ``…/env`` (the effective
environment) beside ``…/env/`` (the component's variables): there the slash is the difference.

Numeric ids are matched as text and checked by the selectors, so that ``…/instances/abc`` is the
API's JSON 404 rather than the site's HTML one.
"""

from __future__ import annotations

from django.urls import URLPattern

from kato_console.api import instance_urls, kubernetes
from kato_console.api.routing import COMPONENT as C
from kato_console.api.routing import route
from kato_console.api.views import applications, components, dependencies, env, events, ports

urlpatterns: list[URLPattern] = [
    *route("applications/", applications.ApplicationListApi, "api-applications"),
    *route("applications/<str:slug>", applications.ApplicationDetailApi, "api-application"),
    *route("components/", components.ComponentListApi, "api-components"),
    *route(C, components.ComponentDetailApi, "api-component"),
    *route(f"{C}/secret-key", components.SecretKeyApi, "api-secret-key"),
    *route(f"{C}/ports/", ports.PortListApi, "api-ports"),
    *route(f"{C}/ports/<str:number>", ports.PortDetailApi, "api-port"),
    *route(f"{C}/env", env.EffectiveEnvironmentApi, "api-environment", alias=False),
    *route(f"{C}/env/", env.EnvVarListApi, "api-env", alias=False),
    *route(f"{C}/env/<str:name>", env.EnvVarDetailApi, "api-env-var"),
    *route(f"{C}/dependencies/", dependencies.DependencyListApi, "api-dependencies"),
    *route(f"{C}/dependencies/<str:target>", dependencies.DependencyDetailApi, "api-dependency"),
    *instance_urls.urlpatterns,
    *route(f"{C}/events/", events.ComponentEventListApi, "api-component-events"),
    *route("teams/<str:slug>/events/", events.TeamEventListApi, "api-team-events"),
    *route(f"{C}/kubernetes", kubernetes.ComponentKubernetesApi, "api-component-kubernetes"),
    *route(
        "applications/<str:slug>/kubernetes",
        kubernetes.ApplicationKubernetesApi,
        "api-application-kubernetes",
    ),
]
