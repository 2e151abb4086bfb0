"""Routes of a component's instances, health check and probing, part of the console API's route
table (``kato_console.api.urls``) under ``/api/v1/``."""

from __future__ import annotations

from django.urls import URLPattern

from kato_console.api.routing import COMPONENT as C
from kato_console.api.routing import route
from kato_console.api.views import instances as views
from kato_console.api.views import sd

urlpatterns: list[URLPattern] = [
    *route(f"{C}/instances/", views.InstanceListApi, "api-instances"),
    *route(f"{C}/instances/<str:instance_id>", views.InstanceDetailApi, "api-instance"),
    *route(f"{C}/health-check", views.HealthCheckApi, "api-health-check"),
    *route(f"{C}/maintenance/", views.MaintenanceWindowListApi, "api-maintenance-windows"),
    *route(f"{C}/maintenance/<str:window_id>/", views.MaintenanceWindowDetailApi, "api-maintenance-window"),
    *route(f"{C}/probe", views.ProbeApi, "api-probe"),
    *route("sd/prometheus", sd.PrometheusSdApi, "api-sd-prometheus"),
]
