"""The Django admin of applications, components, ports, variables and dependencies: inlines under a
component, every write through the services, secrets never shown."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from components import services
from components.models import Application, Component, Dependency, EnvVar, Port
from components.validation import service_name_from
from core.audit import Actor
from core.errors import ComponentError
from instances import services as instance_services
from instances.models import Health, HealthCheck, Instance, Status
from instances.sweep import probe_instances_now
from kato_console.admin.forms import MASK, ServiceForm, ThroughServices
from kato_console.admin.instances import report_probes
from kato_console.admin_guards import RefuseSecretLookups


@admin.register(Application)
class ApplicationAdmin(RefuseSecretLookups):
    list_display = ["name", "slug", "team", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "slug", "team__name"]
    list_select_related = ["team"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["team"]


class ComponentForm(ServiceForm):
    """Add a component with ``component_create``; change its names or image with ``component_update``."""

    class Meta:
        model = Component
        fields = ["application", "name", "service_name", "kind", "registration", "image"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "service_name" in self.fields:
            self.fields["service_name"].required = False
            self.fields["service_name"].help_text = _("Left empty, it is derived from the name.")

    def write(self, actor: Actor) -> Component:
        data = self.cleaned_data
        if self.instance.pk is None:
            fields: dict[str, Any] = {
                f: data.get(f) or "" for f in ("kind", "registration", "service_name", "image")
            }
            return instance_services.component_create(
                application=data["application"], name=data["name"], actor=actor, **fields
            )
        component = Component.objects.select_related("team").get(pk=self.instance.pk)
        changes = {f: data[f] for f in ("name", "service_name", "image") if f in self.changed_data}
        if "service_name" in changes and not changes["service_name"]:
            changes["service_name"] = service_name_from(data.get("name") or component.name)
        if not changes:
            return component
        return services.component_update(component=component, actor=actor, **changes)


class PortForm(ServiceForm):
    """Add a port with ``port_create`` (the alias is derived when left empty); change it with ``port_update``."""

    class Meta:
        model = Port
        fields = ["component", "number", "protocol", "alias", "inner_service", "outer_service"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "alias" in self.fields:
            self.fields["alias"].required = False
            self.fields["alias"].help_text = _(
                "Left empty, it is derived from the service name (mysql → MYSQL); on a change, it stays."
            )

    def write(self, actor: Actor) -> Port:
        data = self.cleaned_data
        if self.instance.pk is None:
            return services.port_create(
                component=data["component"],
                actor=actor,
                **{f: data[f] for f in ("number", "protocol", "alias", "inner_service", "outer_service")},
            )
        port = Port.objects.select_related("component__team").get(pk=self.instance.pk)
        changes = {f: data[f] for f in PORT_CHANGES if f in self.changed_data and (f != "alias" or data[f])}
        return services.port_update(port=port, actor=actor, **changes) if changes else port


PORT_CHANGES = ("number", "protocol", "alias", "inner_service", "outer_service")


class EnvVarForm(ServiceForm):
    """Secret values are write-only here: the field is never filled in, and left empty it keeps the value."""

    class Meta:
        model = EnvVar
        fields = ["component", "name", "value", "scope", "secret", "description"]
        widgets = {"value": forms.TextInput(attrs={"size": 30})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # A view-only user's form has no value field at all.
        if "value" in self.fields and self.instance.pk and self.instance.secret:
            self.fields["value"].widget = forms.PasswordInput(render_value=False, attrs={"placeholder": MASK})
            self.fields["value"].help_text = _("Secret: leave empty to keep the current value.")
            self.initial["value"] = ""

    def clean_value(self) -> str:
        value = self.cleaned_data.get("value", "")
        if not value and self.instance.pk and self.instance.secret:
            return self.instance.value
        return value

    def write(self, actor: Actor) -> EnvVar:
        data = self.cleaned_data
        fields = {f: data.get(f, "") for f in ("value", "scope", "description")}
        fields["secret"] = bool(data.get("secret"))
        if self.instance.pk is None:
            return services.env_var_create(
                component=data["component"], name=data["name"], actor=actor, **fields
            )
        var = EnvVar.objects.select_related("component__team").get(pk=self.instance.pk)
        return services.env_var_set(component=var.component, name=var.name, actor=actor, **fields)


class DependencyForm(ServiceForm):
    open_inner = forms.BooleanField(
        required=False,
        label=_("Turn the target's internal service on"),
        help_text=_(
            "Needed when the target's port has no internal service: the dependent could not reach it."
        ),
    )

    class Meta:
        model = Dependency
        fields = ["component", "target"]

    def write(self, actor: Actor) -> Dependency:
        data = self.cleaned_data
        return services.dependency_add(
            component=data["component"], target=data["target"], actor=actor, open_inner=data["open_inner"]
        )


class ReadOnlyInline(admin.TabularInline):
    """A component's rows, listed; each is added or changed on its own admin page, through its service."""

    extra = 0
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PortInline(ReadOnlyInline):
    model = Port
    fields = ["number", "protocol", "alias", "inner_service", "outer_service"]


class EnvVarInline(ReadOnlyInline):
    model = EnvVar
    fields = ("name", "shown_value", "scope", "secret", "generated", "description")
    readonly_fields = fields
    verbose_name = _("connection information / variable")
    verbose_name_plural = _("connection information and variables")

    @admin.display(description=_("value"))
    def shown_value(self, obj: EnvVar) -> str:
        return masked_value(obj)


class HealthCheckInline(ReadOnlyInline):
    model = HealthCheck
    # One check per component: its fields read better one under the other.
    template = "admin/edit_inline/stacked.html"


class DependencyInline(ReadOnlyInline):
    model = Dependency
    fk_name = "component"
    fields = ["target"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dependency]:
        return super().get_queryset(request).select_related("component", "target")


def masked_value(var: EnvVar) -> str:
    return MASK if var.secret else var.value


def instance_counts(component: Component) -> dict[str, int]:
    """The component's instances per status (instances.models.Status), in one query."""
    check = HealthCheck.objects.filter(component=component).first()
    checked = bool(check and check.enabled)
    online = Q(is_online=True)
    counts = component.instances.aggregate(
        total=Count("pk"),
        offline=Count("pk", filter=~online),
        healthy=Count("pk", filter=online & Q(health=Health.HEALTHY)),
        unhealthy=Count("pk", filter=online & Q(health=Health.UNHEALTHY)),
        other=Count("pk", filter=online & ~Q(health__in=[Health.HEALTHY, Health.UNHEALTHY])),
    )
    if not checked:
        return {
            "total": counts["total"],
            Status.OFFLINE: counts["offline"],
            Status.UNKNOWN: counts["total"] - counts["offline"],
        }
    return {
        "total": counts["total"],
        Status.HEALTHY: counts["healthy"],
        Status.NOTREADY: counts["other"],
        Status.UNHEALTHY: counts["unhealthy"],
        Status.OFFLINE: counts["offline"],
    }


@admin.register(Component)
class ComponentAdmin(ThroughServices):
    form = ComponentForm
    list_display = ["name", "service_name", "application", "team", "kind", "registration", "created_at"]
    list_filter = ["kind", "registration", "team"]
    search_fields = ["name", "service_name", "service_id", "application__name"]
    list_select_related = ["application", "team"]
    # Rendering a row (its action checkbox, nine cells) costs the admin about 0.6 ms of CPU: 50
    # rows a page keep the list well under 200 ms with thousands of components (bench/scale.py).
    list_per_page = 50
    autocomplete_fields = ["application"]
    inlines = [PortInline, EnvVarInline, HealthCheckInline, DependencyInline]
    actions = ["regenerate_secret_key", "probe_now"]

    def get_fields(self, request: HttpRequest, obj: Component | None = None) -> tuple[str, ...]:
        fields = tuple(ComponentForm.Meta.fields)
        return fields if obj is None else (*fields, "service_id", "secret_key_state", "instances")

    def get_readonly_fields(self, request: HttpRequest, obj: Component | None = None) -> list[str]:
        if obj is None:
            return []
        return ["application", "kind", "registration", "service_id", "secret_key_state", "instances"]

    def get_inlines(self, request: HttpRequest, obj: Component | None) -> list[Any]:
        # A new component's ports, variables and dependencies are added once it exists.
        return self.inlines if obj is not None else []

    @admin.display(description=_("API secret key"))
    def secret_key_state(self, obj: Component) -> str:
        if not obj.pk or not obj.secret_key:
            return "—"
        return MASK + gettext(
            " (set; reveal it on the component's overview page, or regenerate it with the action)"
        )

    @admin.display(description=_("instances"))
    def instances(self, obj: Component) -> str:
        """A count per status and a link to the instance list, not one form per instance."""
        counts = instance_counts(obj)
        total = counts.pop("total")
        url = reverse("admin:instances_instance_changelist") + f"?component__id__exact={obj.pk}"
        parts = ", ".join(f"{n} {Status(status).label.lower()}" for status, n in counts.items() if n)
        return format_html('<a href="{}">{} instance(s)</a>{}', url, total, f" — {parts}" if parts else "")

    def delete_with_service(self, obj: Component, actor: Actor) -> None:
        services.component_delete(component=obj, actor=actor)

    @admin.action(description=_("Regenerate the API secret key"), permissions=["change"])
    def regenerate_secret_key(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        done = 0
        for component in queryset.select_related("team"):
            try:
                services.secret_key_regenerate(component=component, actor=Actor.from_request(request))
                done += 1
            except ComponentError as error:
                self.message_user(request, f"{component.name}: {error}", messages.WARNING)
        if done:
            self.message_user(
                request,
                ngettext(
                    "Regenerated the secret key of %(n)d component.",
                    "Regenerated the secret key of %(n)d components.",
                    done,
                )
                % {"n": done},
                messages.SUCCESS,
            )

    @admin.action(description=_("Probe now (every online instance)"), permissions=["change"])
    def probe_now(self, request: HttpRequest, queryset: QuerySet[Component]) -> None:
        actor = Actor.from_request(request)
        # All at once: one component's silent instances do not hold up the next one's probes.
        probed = probe_instances_now(
            instances=Instance.objects.filter(component__in=queryset, is_online=True), actor=actor
        )
        by_component = defaultdict(list)
        for instance, result in probed:
            by_component[instance.component_id].append((instance, result))
        pending = defaultdict(list)
        for instance in probed.pending:
            pending[instance.component_id].append(instance)
        for component in queryset:
            report_probes(self, request, component.name, by_component[component.pk], pending[component.pk])


@admin.register(Port)
class PortAdmin(ThroughServices):
    form = PortForm
    list_display = ["component", "number", "protocol", "alias", "inner_service", "outer_service"]
    list_filter = ["protocol", "inner_service", "outer_service"]
    search_fields = ["component__name", "alias"]
    list_select_related = ["component"]
    # By the primary key: one row per component or more, and the ordering column has no index.
    ordering = ["-id"]
    autocomplete_fields = ["component"]

    def get_readonly_fields(self, request: HttpRequest, obj: Port | None = None) -> list[str]:
        return ["component"] if obj is not None else []

    def delete_with_service(self, obj: Port, actor: Actor) -> None:
        services.port_delete(port=obj, actor=actor)


@admin.register(EnvVar)
class EnvVarAdmin(ThroughServices):
    form = EnvVarForm
    list_display = ["name", "component", "scope", "shown_value", "secret", "generated"]
    list_filter = ["scope", "secret", "generated"]
    search_fields = ["name", "component__name", "description"]
    list_select_related = ["component"]
    # By the primary key: one row per component or more, and the ordering column has no index.
    ordering = ["-id"]
    autocomplete_fields = ["component"]

    @admin.display(description=_("value"))
    def shown_value(self, obj: EnvVar) -> str:
        return masked_value(obj)

    def get_fields(self, request: HttpRequest, obj: EnvVar | None = None) -> tuple[str, ...]:
        # Whoever may only look sees the masked value, never the value in a read-only field.
        value = "value" if self.has_change_permission(request, obj) else "shown_value"
        return ("component", "name", value, "scope", "secret", "description")

    def get_readonly_fields(self, request: HttpRequest, obj: EnvVar | None = None) -> list[str]:
        masked = [] if self.has_change_permission(request, obj) else ["shown_value"]
        return [*masked, "component", "name"] if obj is not None else masked

    def delete_with_service(self, obj: EnvVar, actor: Actor) -> None:
        services.env_var_delete(var=obj, actor=actor)


@admin.register(Dependency)
class DependencyAdmin(ThroughServices):
    form = DependencyForm
    list_display = ["component", "target", "created_at"]
    search_fields = ["component__name", "target__name"]
    list_filter = ["created_at"]
    list_select_related = ["component", "target"]
    autocomplete_fields = ["component", "target"]

    def has_change_permission(self, request: HttpRequest, obj: Dependency | None = None) -> bool:
        # A dependency is added or removed, never changed.
        return False

    def delete_with_service(self, obj: Dependency, actor: Actor) -> None:
        services.dependency_remove(component=obj.component, target=obj.target, actor=actor)
