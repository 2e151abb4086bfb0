"""The Django admin for operators: every model, inlines under a component, secrets never shown."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from components import services
from components.audit import Actor
from components.models import (
    ApiToken,
    Application,
    AuditEvent,
    Component,
    Dependency,
    EnvVar,
    Membership,
    Port,
    Team,
)
from instances.admin import report_probes
from instances.models import HealthCheck, Instance
from instances.sweep import probe_instances_now

MASK = "••••••••"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    list_filter = ["created_at"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    list_select_related = ["user", "team"]
    autocomplete_fields = ["user", "team"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "slug", "team__name"]
    list_select_related = ["team"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["team"]


class EnvVarForm(forms.ModelForm):
    """Secret values are write-only here: the field is never filled in, and left empty it keeps the value."""

    class Meta:
        model = EnvVar
        fields = ["name", "value", "scope", "secret", "description"]
        widgets = {"value": forms.TextInput(attrs={"size": 30})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.secret:
            self.fields["value"].widget = forms.PasswordInput(render_value=False, attrs={"placeholder": MASK})
            self.fields["value"].help_text = "Secret: leave empty to keep the current value."
            self.initial["value"] = ""

    def clean_value(self) -> str:
        value = self.cleaned_data.get("value", "")
        if not value and self.instance.pk and self.instance.secret:
            return self.instance.value
        return value


class PortInline(admin.TabularInline):
    model = Port
    extra = 0
    fields = ["number", "protocol", "alias", "inner_service", "outer_service"]


class EnvVarInline(admin.TabularInline):
    model = EnvVar
    form = EnvVarForm
    extra = 0
    verbose_name = "connection information / variable"
    verbose_name_plural = "connection information and variables"


class InstanceInline(admin.TabularInline):
    model = Instance
    extra = 0
    fields = [
        "host",
        "port",
        "scheme",
        "is_online",
        "source",
        "health",
        "latency_ms",
        "last_checked_at",
        "last_error",
    ]
    readonly_fields = ["health", "latency_ms", "last_checked_at", "last_error"]


class HealthCheckInline(admin.StackedInline):
    model = HealthCheck
    extra = 0
    can_delete = False


class DependencyInline(admin.TabularInline):
    model = Dependency
    fk_name = "component"
    extra = 0
    autocomplete_fields = ["target"]


@admin.register(Component)
class ComponentAdmin(admin.ModelAdmin):
    list_display = ["name", "service_name", "application", "team", "kind", "registration", "created_at"]
    list_filter = ["kind", "registration", "team"]
    search_fields = ["name", "service_name", "service_id", "application__name"]
    list_select_related = ["application", "team"]
    readonly_fields = ["service_id", "secret_key_state"]
    autocomplete_fields = ["application"]
    inlines = [PortInline, EnvVarInline, InstanceInline, HealthCheckInline, DependencyInline]
    actions = ["regenerate_secret_key", "probe_now"]

    @admin.display(description="API secret key")
    def secret_key_state(self, obj: Component) -> str:
        if not obj.pk or not obj.secret_key:
            return "—"
        return f"{MASK} (set; reveal it on the component's overview page, or regenerate it with the action)"

    def save_model(self, request: HttpRequest, obj: Component, form: Any, change: bool) -> None:
        obj.team_id = obj.application.team_id
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        if formset.model is Port:
            for port in form.instance.ports.all():
                services.port_sync_generated_env(port)

    @admin.action(description="Regenerate the API secret key")
    def regenerate_secret_key(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        done = 0
        for component in queryset.select_related("team"):
            try:
                services.secret_key_regenerate(component=component, actor=Actor.for_user(request.user))
                done += 1
            except services.ComponentError as error:
                self.message_user(request, f"{component.name}: {error}", messages.WARNING)
        if done:
            self.message_user(
                request, f"Regenerated the secret key of {done} component(s).", messages.SUCCESS
            )

    @admin.action(description="Probe now (every online instance)")
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        actor = Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
        # All at once: one component's silent instances do not hold up the next one's probes.
        probed = probe_instances_now(
            instances=Instance.objects.filter(component__in=queryset, is_online=True), actor=actor
        )
        by_component = defaultdict(list)
        for instance, result in probed:
            by_component[instance.component_id].append((instance, result))
        for component in queryset:
            report_probes(self, request, component.name, by_component[component.pk])


@admin.register(Port)
class PortAdmin(admin.ModelAdmin):
    list_display = ["component", "number", "protocol", "alias", "inner_service", "outer_service"]
    list_filter = ["protocol", "inner_service", "outer_service"]
    search_fields = ["component__name", "alias"]
    list_select_related = ["component"]
    autocomplete_fields = ["component"]


@admin.register(EnvVar)
class EnvVarAdmin(admin.ModelAdmin):
    form = EnvVarForm
    list_display = ["name", "component", "scope", "shown_value", "secret", "generated"]
    list_filter = ["scope", "secret", "generated"]
    search_fields = ["name", "component__name", "description"]
    list_select_related = ["component"]

    @admin.display(description="value")
    def shown_value(self, obj: EnvVar) -> str:
        return MASK if obj.secret else obj.value

    def get_fields(self, request: HttpRequest, obj: EnvVar | None = None) -> list[str]:
        return ["component", *EnvVarForm.Meta.fields]

    def get_form(self, request: HttpRequest, obj: EnvVar | None = None, **kwargs: Any) -> Any:
        kwargs["fields"] = ["component", *EnvVarForm.Meta.fields]
        return super().get_form(request, obj, **kwargs)


@admin.register(Dependency)
class DependencyAdmin(admin.ModelAdmin):
    list_display = ["component", "target", "created_at"]
    search_fields = ["component__name", "target__name"]
    list_filter = ["created_at"]
    list_select_related = ["component", "target"]
    autocomplete_fields = ["component", "target"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "user", "created_at", "last_used_at"]
    list_filter = ["created_at"]
    search_fields = ["name", "prefix", "user__username"]
    list_select_related = ["user"]
    readonly_fields = ["prefix", "created_at", "last_used_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # A token's key is shown once at creation, which the admin cannot do: use the tokens page
        # or `manage.py create_api_token`.
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "team", "component_label", "actor", "user", "action", "remote_addr"]
    list_filter = ["actor", "action", "team"]
    search_fields = ["action", "component_label", "user__username", "remote_addr"]
    list_select_related = ["team", "user"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
