"""What the console API reads and answers about instances, their health check and probing.

Field names follow docs/architecture.md ("The domain"); scripts depend on them.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from instances.addresses import MAX_ADDRESS_LENGTH, Address
from instances.models import (
    INTERVAL_S_MAX,
    INTERVAL_S_MIN,
    THRESHOLD_MAX,
    TIMEOUT_S_MAX,
    CheckKind,
    Health,
    Instance,
    MaintenanceWindow,
    Recurrence,
    Source,
    Status,
    normalise_networks,
)
from instances.selectors import resolved_addresses
from kato_console.serializers import EnumField, UptimeField, parse_address_field


class ResolvedAddressSerializer(serializers.Serializer):
    ip = serializers.CharField()
    health = EnumField(Health, enum_name="Health")
    routed = serializers.BooleanField(help_text="The gateway sends new connections to this address now.")
    error = serializers.CharField(help_text="Why its last check failed; empty when it passed.")


class InstanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    address = serializers.CharField()
    host = serializers.CharField()
    port = serializers.IntegerField(allow_null=True, help_text="null: the component's port.")
    is_online = serializers.BooleanField()
    # The field the API has always had shadows DRF's Field.source attribute in the stubs only.
    source = EnumField(Source, enum_name="InstanceSource")  # type: ignore[assignment]
    status = EnumField(Status, enum_name="InstanceStatus")
    latency_ms = serializers.FloatField(allow_null=True)
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_error = serializers.CharField()
    server_info = serializers.CharField()
    credentials_withheld = serializers.CharField(
        help_text="Why a credentialed health check probes this instance greeting-only; empty when it logs in."
    )
    resolved_addresses = serializers.SerializerMethodField(
        help_text="A DNS name's addresses at its last check, each with its health and whether it is routed; "
        "empty for an IP address."
    )

    @extend_schema_field(ResolvedAddressSerializer(many=True))
    def get_resolved_addresses(self, instance: Instance) -> list[dict[str, Any]]:
        return resolved_addresses(instance)

    uptime = UptimeField(help_text="Percent of passing probes over 24 hours, 7 days and 30 days.")


class InstanceCreateSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=MAX_ADDRESS_LENGTH)
    is_online = serializers.BooleanField(default=True)

    def validate_address(self, value: str) -> Address:
        return parse_address_field(value)


class InstanceUpdateSerializer(serializers.Serializer):
    is_online = serializers.BooleanField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if isinstance(self.initial_data, dict) and "address" in self.initial_data:
            raise serializers.ValidationError(
                {
                    "address": [
                        gettext(
                            "An instance's address cannot change: add the new address and delete this instance."
                        )
                    ]
                }
            )
        return attrs


class HealthCheckSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    paused = serializers.BooleanField(
        required=False,
        help_text="Paused: nothing is probed and the instances keep their last health; false resumes "
        "(every online instance is probed at once).",
    )
    kind = EnumField(CheckKind, enum_name="CheckKind", required=False)
    path = serializers.CharField(
        max_length=500, allow_blank=True, required=False, help_text="HTTP checks: /healthz"
    )
    interval_s = serializers.IntegerField(
        min_value=INTERVAL_S_MIN, max_value=INTERVAL_S_MAX, required=False, help_text="Seconds, 5–86400."
    )
    timeout_s = serializers.IntegerField(
        min_value=1, max_value=TIMEOUT_S_MAX, required=False, help_text="Seconds, 1–30, below the interval."
    )
    success_threshold = serializers.IntegerField(min_value=1, max_value=THRESHOLD_MAX, required=False)
    failure_threshold = serializers.IntegerField(min_value=1, max_value=THRESHOLD_MAX, required=False)
    use_credentials = serializers.BooleanField(
        required=False, help_text="Log in with the component's connection information (*_USER / *_PASSWORD)."
    )
    username_var = serializers.CharField(max_length=128, allow_blank=True, required=False)
    password_var = serializers.CharField(max_length=128, allow_blank=True, required=False)
    verify_tls = serializers.BooleanField(required=False)
    credential_networks = serializers.ListField(
        child=serializers.CharField(max_length=64),
        required=False,
        help_text="Networks (CIDR) whose addresses registered through the instance API get the login too; "
        "addresses added by members always do.",
    )
    credentials_withheld = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="Addresses the credentialed check probes greeting-only, since nobody in the team vouched for them.",
    )
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)

    def validate_credential_networks(self, value: list[str]) -> list[str]:
        try:
            return normalise_networks(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


class MaintenanceWindowSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    reason = serializers.CharField(max_length=200)
    recurrence = EnumField(Recurrence, enum_name="Recurrence", default=Recurrence.ONCE)
    starts_at = serializers.DateTimeField(
        help_text="ISO 8601; a weekly window repeats on this weekday and time."
    )
    ends_at = serializers.DateTimeField(help_text="After starts_at; a weekly window lasts less than a week.")
    whole_application = serializers.BooleanField(
        default=False,
        help_text="For every component of the component's application; otherwise for this component only.",
    )
    out_of_routing = serializers.BooleanField(
        default=False, help_text="Take the online instances out of routing during the window."
    )
    active = serializers.BooleanField(read_only=True, help_text="Under way now (started and not yet ended).")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data: dict[str, Any] = super().to_representation(instance)
        if isinstance(instance, MaintenanceWindow):
            data["whole_application"] = instance.application_id is not None
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": [gettext("The window ends after it starts.")]})
        return attrs


class ProbeResultSerializer(serializers.Serializer):
    instance = InstanceSerializer()
    ok = serializers.BooleanField()
    latency_ms = serializers.FloatField(allow_null=True)
    stage = serializers.CharField(help_text="Where it failed: dns, connect, tls, greeting, auth, query.")
    error = serializers.CharField()
    server_info = serializers.CharField()


class ProbeNowSerializer(serializers.Serializer):
    results = ProbeResultSerializer(many=True, help_text="The probes that finished within the wait.")
    pending = InstanceSerializer(many=True, help_text="Still being probed, by a background worker.")
    detail = serializers.CharField(help_text="Where the pending results will appear.")
