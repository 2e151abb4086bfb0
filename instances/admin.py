"""Admin for instances and health checks."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from components.audit import Actor
from instances.models import HealthCheck, Instance, Status, WrongSecret
from instances.probes import ProbeResult
from instances.sweep import probe_instances_now


def report_probes(
    model_admin: admin.ModelAdmin, request: HttpRequest, what: str, probed: list[tuple[Instance, ProbeResult]]
) -> None:
    """One message per probed set: how many answered, and what went wrong with the others."""
    if not probed:
        model_admin.message_user(request, f"{what}: no online instance to probe.", messages.WARNING)
        return
    failed = [
        f"{instance.address}: {result.stage} — {result.error}" for instance, result in probed if not result.ok
    ]
    summary = f"{what}: probed {len(probed)} instance(s), {len(probed) - len(failed)} reachable"
    if failed:
        model_admin.message_user(
            request, f"{summary}, {len(failed)} failed ({'; '.join(failed)}).", messages.WARNING
        )
    else:
        model_admin.message_user(request, f"{summary}.", messages.SUCCESS)


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = [
        "address",
        "component",
        "status",
        "is_online",
        "source",
        "health",
        "latency_ms",
        "last_checked_at",
        "server_info",
    ]
    list_filter = ["is_online", "source", "health"]
    search_fields = ["host", "component__name", "component__service_id", "server_info"]
    list_select_related = ["component", "component__health_check"]
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
    actions = ["probe_now"]

    @admin.display(description="status")
    def status(self, obj: Instance) -> str:
        return Status(obj.status).label

    @admin.action(description="Probe now")
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        probed = probe_instances_now(instances=queryset, actor=actor)
        report_probes(self, request, "Probe now", probed)
        offline = queryset.filter(is_online=False).count()
        if offline:
            self.message_user(request, f"{offline} offline instance(s) were not probed.", messages.INFO)


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


@admin.register(WrongSecret)
class WrongSecretAdmin(admin.ModelAdmin):
    """Clients the instance API counts wrong secret keys for; deleting a row lifts its 429 at once."""

    list_display = ["component", "client", "failures", "window_ends_at"]
    search_fields = ["client", "component__name", "component__service_id"]
    list_select_related = ["component"]
    ordering = ["-window_ends_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WrongSecret | None = None) -> bool:
        return False
