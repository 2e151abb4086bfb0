"""What the console API reads and answers (and the commands that print the same JSON): input serializers validate, output serializers describe.

Field names follow the models' (docs/architecture.md, "The domain"); scripts depend on them.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from components import gateway
from components.models import Component, ComponentKind, Port, Protocol, Registration, Scope
from components.validation import ENV_NAME_RE, PORT_ALIAS_RE, SERVICE_NAME_RE
from core.errors import ComponentError
from core.models import AUDIT_ACTIONS, AuditEvent
from instances.addresses import MAX_ADDRESS_LENGTH, Address
from instances.history import UPTIME_WINDOWS, no_uptime
from instances.selectors import ComponentStatus
from instances.services import address_parse_checked
from kato_console.events import event_sentence
from kato_console.public_url import public_url

MAX_ADDRESSES = 100
MAX_VALUE_LENGTH = 65536


class EnumField(serializers.ChoiceField):
    """A choice field documented as a named enum (``enum_name``), shared by every serializer using it."""

    def __init__(self, choices: type[models.Choices] | list[str], *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        values = choices.values if isinstance(choices, type) else choices
        super().__init__(choices=values, **kwargs)


COMPONENT_STATUSES = [
    ComponentStatus.HEALTHY,
    ComponentStatus.PARTIAL,
    ComponentStatus.UNHEALTHY,
    ComponentStatus.UNKNOWN,
    ComponentStatus.OFFLINE,
    ComponentStatus.NOT_READY,
    ComponentStatus.NO_INSTANCES,
    ComponentStatus.MAINTENANCE,
]


def api_url(component: Component, request: HttpRequest | None) -> str | None:
    """Where scripts PUT instances: under the address the console API was called at, unless
    KATO_PUBLIC_URL says otherwise (the request comes through the serializer context)."""
    if component.registration != Registration.API:
        return None
    return public_url(request, component.instance_api_path)


# Applications


class ApplicationSerializer(serializers.Serializer):
    """An application; its status page from ``status_page_token`` (set by the view: None when the
    page is not published) and, for its public address, the request in the context."""

    slug = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    team = serializers.CharField(source="team.slug", read_only=True)
    component_count = serializers.IntegerField(read_only=True)
    third_party_count = serializers.IntegerField(read_only=True)
    status_page = serializers.SerializerMethodField(
        help_text="Its public, read-only status page is published (owners and developers turn it on and off)."
    )
    status_page_url = serializers.SerializerMethodField(
        help_text="The status page's public address when it is published; null otherwise. Its badges are "
        "at badge/status.svg and badge/uptime.svg under it."
    )

    def get_status_page(self, application: Any) -> bool:
        return getattr(application, "status_page_token", None) is not None

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_status_page_url(self, application: Any) -> str | None:
        token = getattr(application, "status_page_token", None)
        if token is None:
            return None
        return public_url(self.context.get("request"), reverse("status-page", args=[token]))


class ApplicationUpdateSerializer(serializers.Serializer):
    status_page = serializers.BooleanField(
        help_text="true publishes the status page (at a new unguessable address if it was off); false takes it down."
    )


class ApplicationCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    team = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="The team's slug; required when you belong to several teams.",
    )


# Components and their ports


class PortSerializer(serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=65535)
    protocol = EnumField(Protocol, enum_name="Protocol", default=Protocol.TCP)
    alias = serializers.RegexField(
        PORT_ALIAS_RE,
        max_length=64,
        required=False,
        help_text="Upper-case letters, digits and underscores; defaults to the service name (mysql → MYSQL).",
        error_messages={
            "invalid": _("A port alias is upper-case letters, digits and underscores, such as MYSQL.")
        },
    )
    inner_service = serializers.BooleanField(default=False)
    outer_service = serializers.BooleanField(default=False)


class PortOutputSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    protocol = EnumField(Protocol, enum_name="Protocol")
    alias = serializers.CharField()
    inner_service = serializers.BooleanField()
    outer_service = serializers.BooleanField()
    internal_address = serializers.SerializerMethodField(
        help_text="host:port where dependents reach the port through the gateway; null when the internal "
        "service or routing is off."
    )
    external_address = serializers.SerializerMethodField(
        help_text="host:port (TCP) or the URL (http) where the gateway publishes the port; null when the "
        "external service or routing is off."
    )

    def get_internal_address(self, port: Port) -> str | None:
        return gateway.internal_address(port)

    def get_external_address(self, port: Port) -> str | None:
        return gateway.external_address(port)


class PortUpdateSerializer(PortSerializer):
    number = serializers.IntegerField(min_value=1, max_value=65535, required=False)
    protocol = EnumField(Protocol, enum_name="Protocol", required=False)
    inner_service = serializers.BooleanField(required=False)
    outer_service = serializers.BooleanField(required=False)


UptimeSerializer = type(
    "UptimeSerializer",
    (serializers.Serializer,),
    {
        key: serializers.FloatField(
            allow_null=True, help_text=f"Percent of the probes that passed over {key}; null without probes."
        )
        for key in UPTIME_WINDOWS
    },
)


@extend_schema_field(UptimeSerializer)
class UptimeField(serializers.Field):
    """An object's ``uptime`` attribute (``instances.history.with_uptime``), no probes when it has none."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, value: Any) -> dict[str, float | None]:
        uptime: dict[str, float | None] = getattr(value, "uptime", None) or no_uptime()
        return {key: None if v is None else round(v, 3) for key, v in uptime.items()}


class ComponentSerializer(serializers.Serializer):
    """A component as ``instances.selectors.components_with_counts`` annotates it: its status and
    instance counts come from SQL, never from loading its instances."""

    service_id = serializers.CharField(help_text="32 hex digits; the id in every URL of the component.")
    name = serializers.CharField()
    service_name = serializers.CharField()
    application = serializers.CharField(source="application.slug")
    team = serializers.CharField(source="team.slug")
    kind = EnumField(ComponentKind, enum_name="ComponentKind")
    registration = serializers.SerializerMethodField()
    image = serializers.CharField()
    status = EnumField(COMPONENT_STATUSES, enum_name="ComponentStatus")
    api_url = serializers.SerializerMethodField()
    ports = PortOutputSerializer(many=True, source="ports.all")
    instance_count = serializers.IntegerField(source="instance_total")
    routed_instance_count = serializers.IntegerField(
        source="instance_routed",
        help_text="Online instances that are healthy, or unknown with the check off.",
    )
    created_at = serializers.DateTimeField()
    uptime = UptimeField(help_text="Percent of passing probes over 24 hours, 7 days and 30 days.")

    @extend_schema_field(EnumField(Registration, enum_name="Registration", allow_null=True))
    def get_registration(self, component: Component) -> str | None:
        return component.registration or None

    @extend_schema_field(
        serializers.URLField(allow_null=True, help_text="API registration: where scripts PUT instances.")
    )
    def get_api_url(self, component: Component) -> str | None:
        return api_url(component, self.context.get("request"))


class ComponentDetailSerializer(ComponentSerializer):
    secret_key = serializers.SerializerMethodField()

    @extend_schema_field(
        serializers.CharField(
            allow_null=True,
            help_text="API registration, for owners and developers: the key scripts send with every call.",
        )
    )
    def get_secret_key(self, component: Component) -> str | None:
        if component.registration != Registration.API or not self.context.get("can_write"):
            return None
        return component.secret_key


class ComponentCreateSerializer(serializers.Serializer):
    application = serializers.SlugField(max_length=100, help_text="The application's slug.")
    team = serializers.SlugField(
        max_length=100,
        required=False,
        help_text="Only when several of your teams have this application slug.",
    )
    name = serializers.CharField(max_length=64)
    service_name = serializers.RegexField(
        SERVICE_NAME_RE,
        max_length=63,
        required=False,
        help_text="A DNS label; derived from the name when left out.",
        error_messages={"invalid": _("A service name is a DNS label such as mysql-primary.")},
    )
    kind = EnumField(ComponentKind, enum_name="ComponentKind", default=ComponentKind.THIRD_PARTY)
    registration = EnumField(
        Registration, enum_name="Registration", required=False, help_text="Third-party only; default static."
    )
    addresses = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ADDRESS_LENGTH),
        required=False,
        max_length=MAX_ADDRESSES,
        help_text="Static registration: 10.0.0.7, 10.0.0.7:3306, [2001:db8::7]:3306, db.example.com:3306, "
        "https://api.example.com, rediss://cache.example.com:6380 (a Redis that speaks TLS).",
    )
    image = serializers.CharField(max_length=255, required=False, help_text="Internal components only.")

    def validate_addresses(self, value: list[str]) -> list[Address]:
        return parse_addresses(value)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["kind"] == ComponentKind.INTERNAL and attrs.get("registration"):
            raise serializers.ValidationError(
                {"registration": [gettext("Only third-party components have a registration method.")]}
            )
        # Addresses for anything but static registration are refused by the service, which owns the rule.
        return attrs


class ComponentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=64, required=False)
    service_name = serializers.RegexField(
        SERVICE_NAME_RE,
        max_length=63,
        required=False,
        error_messages={"invalid": _("A service name is a DNS label such as mysql-primary.")},
    )
    image = serializers.CharField(max_length=255, required=False, allow_blank=True)


def parse_address_field(text: str) -> Address:
    """Parse one address and apply the network policy; the reason goes to the field's messages."""
    try:
        return address_parse_checked(text)
    except ComponentError as error:
        raise serializers.ValidationError(_messages(error)) from None


def _messages(error: ComponentError) -> list[str]:
    return [message for messages in error.messages.values() for message in messages]


def parse_addresses(raw: list[str]) -> list[Address]:
    """Parse every address; errors are keyed by position, as DRF does for list fields."""
    parsed: list[Address] = []
    errors: dict[str, list[str]] = {}  # by position, as JSON writes it
    for index, text in enumerate(raw):
        try:
            address = address_parse_checked(text)
        except ComponentError as error:
            errors[str(index)] = _messages(error)
            continue
        if address in parsed:
            errors[str(index)] = [gettext("%(address)s is listed twice.") % {"address": address}]
        parsed.append(address)
    if errors:
        raise serializers.ValidationError(errors)
    return parsed


class SecretKeySerializer(serializers.Serializer):
    secret_key = serializers.CharField()
    api_url = serializers.URLField()


# Connection information and the component's own variables


WARNING_HELP = (
    "Set on a generated A_HOST / A_PORT when no instance passes its health check: why the value, kept "
    "from the instance that passed most recently (empty only when there is no instance), may not answer."
)


class _VariableSerializer(serializers.Serializer):
    """A variable's name and value; a secret value is null unless the request reveals it."""

    name = serializers.CharField()
    value = serializers.SerializerMethodField()
    secret = serializers.BooleanField()

    @extend_schema_field(
        serializers.CharField(allow_null=True, help_text="null for a secret value unless ?reveal=true.")
    )
    def get_value(self, variable: Any) -> str | None:
        if variable.secret and not self.context.get("reveal"):
            return None
        return self.context.get("values", {}).get(variable.name, variable.value)


class EnvVarSerializer(_VariableSerializer):
    scope = EnumField(Scope, enum_name="Scope")
    description = serializers.CharField()
    generated = serializers.BooleanField(
        help_text="A_HOST / A_PORT from the port's internal service: computed, not editable."
    )
    warning = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text=WARNING_HELP))
    def get_warning(self, variable: Any) -> str:
        return str(self.context.get("warnings", {}).get(variable.name, ""))


class EnvVarCreateSerializer(serializers.Serializer):
    name = serializers.RegexField(
        ENV_NAME_RE,
        max_length=128,
        error_messages={
            "invalid": _("A variable name is letters, digits and underscores, such as MYSQL_USER.")
        },
    )
    value = serializers.CharField(
        max_length=MAX_VALUE_LENGTH, allow_blank=True, default="", trim_whitespace=False
    )
    scope = EnumField(Scope, enum_name="Scope", default=Scope.OUTER)
    secret = serializers.BooleanField(default=False)
    description = serializers.CharField(max_length=255, allow_blank=True, default="")


class EnvVarUpdateSerializer(serializers.Serializer):
    value = serializers.CharField(
        max_length=MAX_VALUE_LENGTH, allow_blank=True, required=False, trim_whitespace=False
    )
    scope = EnumField(Scope, enum_name="Scope", required=False)
    secret = serializers.BooleanField(required=False)
    description = serializers.CharField(max_length=255, allow_blank=True, required=False)


class RevealQuerySerializer(serializers.Serializer):
    reveal = serializers.BooleanField(default=False)


class ComponentRefSerializer(serializers.Serializer):
    service_id = serializers.CharField()
    service_name = serializers.CharField()
    name = serializers.CharField()


class EffectiveVariableSerializer(_VariableSerializer):
    """One entry of the effective environment (components.environment.EnvEntry)."""

    generated = serializers.BooleanField()
    warning = serializers.CharField(help_text=WARNING_HELP)
    # The field the API has always had shadows DRF's Field.source attribute in the stubs only.
    source = ComponentRefSerializer(  # type: ignore[assignment]
        help_text="The component the variable comes from."
    )
    overridden_by = ComponentRefSerializer(
        allow_null=True, help_text="Set when the variable does not take effect: who overrides it."
    )


# Dependencies


class DependencySerializer(serializers.Serializer):
    target = serializers.CharField(
        source="target.service_id", help_text="The service id of the component depended on."
    )
    name = serializers.CharField(source="target.name")
    service_name = serializers.CharField(source="target.service_name")
    application = serializers.CharField(source="target.application.slug")
    kind = EnumField(ComponentKind, enum_name="ComponentKind", source="target.kind")


class DependencyCreateSerializer(serializers.Serializer):
    target = serializers.CharField(max_length=32, help_text="The service id of the component to depend on.")
    open_inner = serializers.BooleanField(
        default=False,
        help_text="Confirm turning on the internal service of the target's port when it is off.",
    )


# Descriptions of answers without a body of their own


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Field name → messages; `non_field_errors` for the request as a whole. "
    "A list field's messages are keyed by position.",
    "additionalProperties": {},
    "example": {"name": ["This field is required."], "non_field_errors": ["…"]},
}


class EventSerializer(serializers.Serializer):
    """One event of the audit trail, as the events page shows it (kato_console/events.py)."""

    at = serializers.DateTimeField(source="created_at", help_text="When it happened (ISO 8601, UTC).")
    action = serializers.CharField(help_text="What happened, as a machine word such as `port.update`.")
    actor = serializers.CharField(
        source="actor_label",
        help_text="Who: a user name, `api-key` (the instance API) or `system` (the sweep).",
    )
    remote_addr = serializers.IPAddressField(
        allow_null=True, help_text="The client's address, when a client did it."
    )
    component = serializers.SerializerMethodField(
        help_text="The component's service id (null for a team's own event)."
    )
    component_name = serializers.CharField(source="component_label", help_text="The component's name then.")
    sentence = serializers.SerializerMethodField(help_text="The event as a sentence a person reads.")
    detail = serializers.JSONField(help_text="The event's fields (secret values redacted).")

    def get_component(self, event: AuditEvent) -> str | None:
        return event.component.service_id if event.component_id and event.component else None

    def get_sentence(self, event: AuditEvent) -> str:
        return event_sentence(event)


class EventQuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(AUDIT_ACTIONS), required=False)
