"""Admin for instances and health checks."""

from __future__ import annotations

from django.contrib import admin

from instances.models import HealthCheck, Instance


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "component",
        "is_online",
        "source",
        "health",
        "latency_ms",
        "last_checked_at",
        "server_info",
    ]
    list_filter = ["is_online", "source", "health"]
    search_fields = ["host", "component__name", "component__service_id", "server_info"]
    list_select_related = ["component"]
    readonly_fields = [
        "health",
        "consecutive_successes",
        "consecutive_failures",
        "last_checked_at",
        "latency_ms",
        "last_stage",
        "last_error",
        "server_info",
        "next_probe_at",
        "generation",
    ]
    autocomplete_fields = ["component"]


@admin.register(HealthCheck)
class HealthCheckAdmin(admin.ModelAdmin):
    list_display = [
        "component",
        "enabled",
        "kind",
        "interval_s",
        "timeout_s",
        "success_threshold",
        "failure_threshold",
    ]
    list_filter = ["enabled", "kind", "use_credentials"]
    search_fields = ["component__name", "component__service_id"]
    list_select_related = ["component"]
    autocomplete_fields = ["component"]
