"""Admin for instances and health checks; every write goes through instances.services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from components.models import Component
from core.audit import Actor
from core.errors import ComponentError
from instances import maintenance
from instances.models import Health, HealthCheck, Instance, MaintenanceWindow, Status, WrongSecret
from instances.probes import ProbeResult
from instances.services import (
    HEALTH_CHECK_FIELDS,
    address_parse_checked,
    health_check_update,
    instance_add,
    instance_delete,
    instance_update,
)
from instances.sweep import probe_instances_now
from kato_console.admin.forms import ServiceForm, ThroughServices
from kato_console.admin_guards import RefuseSecretLookups


def report_probes(
    model_admin: admin.ModelAdmin,
    request: HttpRequest,
    what: str,
    probed: list[tuple[Instance, ProbeResult]],
    pending: Sequence[Instance] = (),
) -> None:
    """One message per probed set: how many answered, and what went wrong with the others; and
    how many were still being probed when "Probe now" stopped waiting."""
    if pending:
        model_admin.message_user(
            request,
            gettext(
                "%(what)s: %(n)d instance(s) did not answer within %(wait)s s; "
                "they are still being probed, and their results will appear on the instance list."
            )
            % {"what": what, "n": len(pending), "wait": settings.KATO_PROBE_NOW_WAIT_S},
            messages.INFO,
        )
    if not probed:
        if not pending:
            model_admin.message_user(
                request, gettext("%(what)s: no online instance to probe.") % {"what": what}, messages.WARNING
            )
        return
    failed = [
        f"{instance.address}: {result.stage} — {result.error}" for instance, result in probed if not result.ok
    ]
    words = {"what": what, "n": len(probed), "reachable": len(probed) - len(failed)}
    if failed:
        model_admin.message_user(
            request,
            gettext(
                "%(what)s: probed %(n)d instance(s), %(reachable)d reachable, %(failed)d failed (%(errors)s)."
            )
            % {**words, "failed": len(failed), "errors": "; ".join(failed)},
            messages.WARNING,
        )
    else:
        model_admin.message_user(
            request,
            gettext("%(what)s: probed %(n)d instance(s), %(reachable)d reachable.") % words,
            messages.SUCCESS,
        )


class InstanceForm(ServiceForm):
    """One address field, read by the address parser and checked against the network policy."""

    address = forms.CharField(
        max_length=300,
        help_text=_(
            "10.0.0.7, 10.0.0.7:3306, [2001:db8::7]:3306, db.example.com:3306, https://api.example.com "
            "or rediss://cache.example.com:6380 (a Redis that speaks TLS)"
        ),
    )

    class Meta:
        model = Instance
        fields = ["component", "address", "is_online"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and "address" in self.fields:
            self.initial["address"] = self.instance.address

    def write(self, actor: Actor) -> Instance:
        data = self.cleaned_data
        address = address_parse_checked(data["address"])
        if self.instance.pk is None:
            return instance_add(
                component=data["component"], address=address, is_online=data["is_online"], actor=actor
            )
        instance = Instance.objects.select_related("component__team").get(pk=self.instance.pk)
        return instance_update(instance=instance, address=address, is_online=data["is_online"], actor=actor)


class StatusFilter(admin.SimpleListFilter):
    """The status the console shows (instances.models.Status), not the stored health."""

    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Status.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Instance]) -> QuerySet[Instance]:
        checked = Q(component__health_check__enabled=True)
        online = Q(is_online=True)
        conditions: dict[str | None, Q] = {
            Status.OFFLINE: ~online,
            Status.UNKNOWN: online & ~checked,
            Status.HEALTHY: online & checked & Q(health=Health.HEALTHY),
            Status.UNHEALTHY: online & checked & Q(health=Health.UNHEALTHY),
            Status.NOTREADY: online & checked & Q(health=Health.UNKNOWN),
        }
        condition = conditions.get(self.value())
        return queryset if condition is None else queryset.filter(condition)


@admin.register(Instance)
class InstanceAdmin(ThroughServices):
    form = InstanceForm
    # The status only: the stored health means nothing while the check is off ("unknown").
    list_display = [
        "address",
        "component",
        "status",
        "is_online",
        "source",
        "latency_ms",
        "last_checked_at",
        "server_info",
    ]
    list_filter = [StatusFilter, "is_online", "source"]
    search_fields = ["host", "component__name", "component__service_id", "server_info"]
    list_select_related = ["component", "component__health_check"]
    # Newest first, by the primary key: ordering by address would sort every instance for each page.
    ordering = ["-id"]
    # 50 rows a page, as for components: the rows' rendering is most of the page's time.
    list_per_page = 50
    readonly_fields = [
        "status",
        "source",
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

    def get_fields(self, request: HttpRequest, obj: Instance | None = None) -> tuple[str, ...]:
        fields = tuple(InstanceForm.Meta.fields)
        return fields if obj is None else (*fields, *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Instance | None = None) -> list[str]:
        return ["component", *self.readonly_fields] if obj is not None else []

    @admin.display(description=_("status"))
    def status(self, obj: Instance) -> str:
        return str(Status(obj.status).label)

    def delete_with_service(self, obj: Instance, actor: Actor) -> None:
        instance_delete(instance=obj, actor=actor)

    @admin.action(description=_("Probe now"), permissions=["change"])
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Instance]) -> None:
        actor = Actor.from_request(request)
        probed = probe_instances_now(instances=queryset, actor=actor)
        report_probes(self, request, gettext("Probe now"), probed, probed.pending)
        offline = queryset.filter(is_online=False).count()
        if offline:
            self.message_user(
                request, gettext("%(n)d offline instance(s) were not probed.") % {"n": offline}, messages.INFO
            )


class HealthCheckForm(ServiceForm):
    class Meta:
        model = HealthCheck
        fields = ["component", *HEALTH_CHECK_FIELDS]

    def write(self, actor: Actor) -> HealthCheck:
        component = Component.objects.select_related("team").get(pk=self.instance.component_id)
        changes = {f: self.cleaned_data[f] for f in HEALTH_CHECK_FIELDS if f in self.changed_data}
        if not changes:
            return HealthCheck.objects.get(pk=self.instance.pk)
        return health_check_update(component=component, actor=actor, **changes)


@admin.register(HealthCheck)
class HealthCheckAdmin(ThroughServices):
    """Changed through ``health_check_update``; every component gets its check when it is created."""

    form = HealthCheckForm
    list_display = [
        "component",
        "enabled",
        "kind",
        "interval_s",
        "timeout_s",
        "success_threshold",
        "failure_threshold",
    ]
    list_filter = ["enabled", "paused", "kind", "use_credentials"]
    search_fields = ["component__name", "component__service_id"]
    list_select_related = ["component"]
    readonly_fields = ["component", "paused"]
    actions = ["pause", "resume"]

    @admin.action(description=_("Pause the selected checks"), permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet[HealthCheck]) -> None:
        for check in queryset.select_related("component__team"):
            maintenance.health_check_pause(
                component=check.component, paused=True, actor=Actor.from_request(request)
            )

    @admin.action(description=_("Resume the selected checks"), permissions=["change"])
    def resume(self, request: HttpRequest, queryset: QuerySet[HealthCheck]) -> None:
        for check in queryset.select_related("component__team"):
            maintenance.health_check_pause(
                component=check.component, paused=False, actor=Actor.from_request(request)
            )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_with_service(self, obj: HealthCheck, actor: Actor) -> None:
        # Not refused by permission: that would also forbid deleting the component it belongs to.
        raise ComponentError(
            gettext("A health check goes with its component; turn it off instead of deleting it.")
        )


@admin.register(WrongSecret)
class WrongSecretAdmin(RefuseSecretLookups):
    """Clients the instance API counts wrong secret keys for; deleting a row lifts its 429 at once."""

    list_display = ["component", "client", "failures", "window_ends_at"]
    search_fields = ["client", "component__name", "component__service_id"]
    list_select_related = ["component"]
    # Newest first, by the primary key: a flood of wrong keys from many clients makes this table
    # large, and window_ends_at has no index.
    ordering = ["-id"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WrongSecret | None = None) -> bool:
        return False


class MaintenanceWindowForm(ServiceForm):
    class Meta:
        model = MaintenanceWindow
        fields = [
            "component",
            "application",
            "reason",
            "recurrence",
            "starts_at",
            "ends_at",
            "out_of_routing",
        ]

    def write(self, actor: Actor) -> MaintenanceWindow:
        data = {field: self.cleaned_data[field] for field in self.Meta.fields}
        return maintenance.maintenance_window_create(actor=actor, **data)


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ThroughServices):
    """Added and deleted through ``instances.maintenance`` (audited); changed by deleting and adding."""

    form = MaintenanceWindowForm
    list_display = [
        "reason",
        "component",
        "application",
        "recurrence",
        "starts_at",
        "ends_at",
        "out_of_routing",
        "active",
    ]
    list_filter = ["recurrence", "out_of_routing", "active"]
    list_select_related = ["component", "application"]
    autocomplete_fields = ["component"]
    search_fields = ["reason", "component__name", "application__name"]

    def has_change_permission(self, request: HttpRequest, obj: MaintenanceWindow | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def delete_with_service(self, obj: MaintenanceWindow, actor: Actor) -> None:
        maintenance.maintenance_window_delete(window=obj, actor=actor)
