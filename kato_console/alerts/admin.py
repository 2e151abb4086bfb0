"""The admin of alerts: channels are written through the services (audited), deliveries are read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import Actor
from core.errors import ComponentError
from kato_console.admin_guards import RefuseSecretLookups
from kato_console.alerts import services
from kato_console.alerts.models import Delivery, NotificationChannel
from kato_console.web import add_service_errors

_FIELDS = [
    "team",
    "name",
    "kind",
    "target",
    "scope",
    "components",
    "on_instance_transitions",
    "on_component_status",
    "enabled",
    "language",
]


class ChannelAdminForm(forms.ModelForm):
    class Meta:
        model = NotificationChannel
        fields = _FIELDS

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            services.check_target(kind=data.get("kind", ""), target=data.get("target", ""))
        except ComponentError as error:
            add_service_errors(self, error)
        return data


class DeliveryInline(admin.TabularInline):
    model = Delivery
    fields = readonly_fields = ("created_at", "event", "summary", "status", "attempts", "last_error")
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Delivery]:
        return super().get_queryset(request).order_by("-created_at", "-id")


@admin.register(NotificationChannel)
class NotificationChannelAdmin(RefuseSecretLookups):
    form = ChannelAdminForm
    list_display = ["name", "team", "kind", "scope", "enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "team__name"]
    readonly_fields = ["masked_secret"]
    filter_horizontal = ["components"]
    inlines = [DeliveryInline]
    actions = ["send_test"]

    @admin.display(description=_("Signing secret"))
    def masked_secret(self, obj: NotificationChannel) -> str:
        return obj.masked_secret

    def save_model(self, request: HttpRequest, obj: NotificationChannel, form: Any, change: bool) -> None:
        data = form.cleaned_data
        fields = {name: data[name] for name in _FIELDS if name not in ("team", "components")}
        actor = Actor.from_request(request)
        if change:
            services.channel_update(channel=obj, actor=actor, components=data["components"], **fields)
        else:
            created = services.channel_create(
                team=data["team"], actor=actor, components=data["components"], **fields
            )
            obj.pk = created.pk

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # The components were set by the service; the deliveries inline is read-only, so saving it
        # writes nothing (the admin's change message still reads what it did).
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def delete_model(self, request: HttpRequest, obj: NotificationChannel) -> None:
        services.channel_delete(channel=obj, actor=Actor.from_request(request))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        for channel in queryset:
            services.channel_delete(channel=channel, actor=Actor.from_request(request))

    @admin.action(description=_("Send a test notification"), permissions=["change"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        queued = 0
        for channel in queryset:
            try:
                services.channel_test(channel=channel, actor=Actor.from_request(request))
                queued += 1
            except ComponentError as error:
                self.message_user(request, f"{channel.name}: {error}", messages.WARNING)
        self.message_user(
            request, gettext("%(n)d test notification(s) queued.") % {"n": queued}, messages.SUCCESS
        )


@admin.register(Delivery)
class DeliveryAdmin(RefuseSecretLookups):
    list_display = ["created_at", "channel", "event", "status", "attempts", "last_error"]
    list_filter = ["status"]
    list_select_related = ["channel"]
    readonly_fields = [
        "channel",
        "key",
        "event",
        "summary",
        "payload",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
