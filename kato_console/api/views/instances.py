"""``/api/v1/components/<service_id>/instances/…``, ``…/health-check`` and ``…/probe``: a
component's instances, its health check and probing now. Same rules as the rest of the console API
(``kato_console.api.views``): validate, call a selector or service, answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors as component_selectors
from components.models import Component
from core.models import Role
from instances import history, maintenance, selectors, services
from instances.health import credentials_withheld_warning, greeting_only_warning
from instances.models import HealthCheck, Instance, MaintenanceWindow
from instances.services import ProbeNowInFlight, probe_now_slot
from instances.sweep import ProbedNow, probe_component_now
from kato_console.api import instance_serializers as s
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import (
    READ_ERRORS,
    SERVICE_ID_PARAM,
    WRITE_ERRORS,
    ConsoleApi,
    ConsoleListApi,
    validated,
)
from kato_console.serializers import ErrorSerializer

INSTANCE_PARAM = OpenApiParameter(
    "instance_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The instance's id."
)


class InstanceListApi(ConsoleListApi):
    @extend_schema(
        operation_id="instances_list",
        tags=["instances"],
        summary="The component's instances with their status, by address",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.InstanceSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, service_id: str) -> Response:
        instances = self.page_of(selectors.component_instances_with_addresses(self.get_component(service_id)))
        history.with_uptime(instances)
        return self.paged(s.InstanceSerializer(instances, many=True).data)

    @extend_schema(
        operation_id="instances_create",
        tags=["instances"],
        summary="Add an instance by address",
        parameters=[SERVICE_ID_PARAM],
        request=s.InstanceCreateSerializer,
        responses={201: s.InstanceSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        data = validated(s.InstanceCreateSerializer, request.data)
        instance = services.instance_add(
            component=component, address=data["address"], is_online=data["is_online"], actor=self.actor()
        )
        return Response(s.InstanceSerializer(instance).data, status=status.HTTP_201_CREATED)


class InstanceDetailApi(ConsoleApi):
    def get_instance(self, service_id: str, instance_id: str) -> Instance:
        instance = selectors.component_instance(self.get_component(service_id), instance_id)
        history.with_uptime([instance])
        return instance

    @extend_schema(
        operation_id="instances_retrieve",
        tags=["instances"],
        summary="One instance",
        parameters=[SERVICE_ID_PARAM, INSTANCE_PARAM],
        responses={200: s.InstanceSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str, instance_id: str) -> Response:
        return Response(s.InstanceSerializer(self.get_instance(service_id, instance_id)).data)

    @extend_schema(
        operation_id="instances_update",
        tags=["instances"],
        summary="Take an instance offline (out of routing and probing) or bring it back online",
        parameters=[SERVICE_ID_PARAM, INSTANCE_PARAM],
        request=s.InstanceUpdateSerializer,
        responses={200: s.InstanceSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, service_id: str, instance_id: str) -> Response:
        instance = self.get_instance(service_id, instance_id)
        is_online = validated(s.InstanceUpdateSerializer, request.data).get("is_online")
        if is_online is not None and is_online != instance.is_online:
            instance = services.instance_set_online(
                instance=instance, is_online=is_online, actor=self.actor()
            )
        return Response(s.InstanceSerializer(instance).data)

    @extend_schema(
        operation_id="instances_delete",
        tags=["instances"],
        summary="Delete an instance",
        parameters=[SERVICE_ID_PARAM, INSTANCE_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, instance_id: str) -> Response:
        services.instance_delete(instance=self.get_instance(service_id, instance_id), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


def health_check_warnings(check: HealthCheck, withheld: list[str]) -> list[str]:
    """What the person configuring the check should know (the MySQL greeting-only probe, for one)."""
    warnings = [greeting_only_warning(check), credentials_withheld_warning(check, withheld)]
    return [warning for warning in warnings if warning]


class HealthCheckApi(ConsoleApi):
    def check_owner_for_networks(self, component: Component, changes: dict[str, Any]) -> None:
        # The networks decide who receives the component's passwords: an owner's decision.
        current = selectors.health_check_of(component).credential_networks
        if "credential_networks" not in changes or changes["credential_networks"] == current:
            return
        membership = component_selectors.membership_for(self.request.user, component.team)
        if membership is None or membership.role != Role.OWNER:
            raise exceptions.PermissionDenied("Only owners can change the credential networks.")

    def answer(self, check: HealthCheck) -> Response:
        data: dict[str, Any] = {field: getattr(check, field) for field in services.HEALTH_CHECK_FIELDS}
        data["paused"] = check.paused
        withheld = selectors.addresses_with_credentials_withheld(check)
        data["credentials_withheld"] = withheld
        data["warnings"] = health_check_warnings(check, withheld)
        return Response(s.HealthCheckSerializer(data).data)

    @extend_schema(
        operation_id="health_check_retrieve",
        tags=["instances"],
        summary="The component's health check",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.HealthCheckSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        return self.answer(selectors.health_check_of(self.get_component(service_id)))

    @extend_schema(
        operation_id="health_check_update",
        tags=["instances"],
        summary="Change the health check; it applies at once. Fields left out keep their value.",
        parameters=[SERVICE_ID_PARAM],
        request=s.HealthCheckSerializer,
        responses={200: s.HealthCheckSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def put(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        changes = validated(s.HealthCheckSerializer, request.data)
        self.check_owner_for_networks(component, changes)
        # Pausing is not a change of the check (nothing is probed again at once): its own service.
        paused = changes.pop("paused", None)
        if paused is not None:
            paused_check = maintenance.health_check_pause(
                component=component, paused=paused, actor=self.actor()
            )
            if not changes:
                return self.answer(paused_check)
        if not changes:
            return self.answer(selectors.health_check_of(component))
        check = services.health_check_update(component=component, actor=self.actor(), **changes)
        return self.answer(check)


PROBE_NOW_BUSY = OpenApiResponse(
    ErrorSerializer, description="A Probe now of this component by the same user is still running."
)


class ProbeApi(ConsoleApi):
    @extend_schema(
        operation_id="components_probe",
        tags=["instances"],
        summary="Probe every online instance now and answer with the results that arrive within "
        "KATO_PROBE_NOW_WAIT_S seconds",
        parameters=[SERVICE_ID_PARAM],
        request=None,
        responses={200: s.ProbeNowSerializer, **error_responses(401, 403, 404), 429: PROBE_NOW_BUSY},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        try:
            with probe_now_slot(component_id=component.pk, user_id=request.user.pk):
                probed = probe_component_now(component=component, actor=self.actor())
        except ProbeNowInFlight as busy:
            raise exceptions.Throttled(detail=str(busy)) from None
        return Response(s.ProbeNowSerializer(_probe_now_answer(probed)).data)


def _probe_now_answer(probed: ProbedNow) -> dict[str, Any]:
    rows = [
        {
            "instance": instance,
            "ok": result.ok,
            "latency_ms": result.latency_ms,
            "stage": result.stage,
            "error": result.error,
            "server_info": result.server_info,
        }
        for instance, result in probed
    ]
    return {"results": rows, "pending": probed.pending, "detail": _probe_now_detail(probed.pending)}


def _probe_now_detail(pending: list[Instance]) -> str:
    if not pending:
        return "Every online instance was probed."
    longest = max(_check_timeout_s(instance) for instance in pending)
    return (
        f"{len(pending)} instance(s) did not answer within {settings.KATO_PROBE_NOW_WAIT_S} s; a background "
        f"worker probes them again and their results will appear on the instance list within about "
        f"{longest + 5} s."
    )


def _check_timeout_s(instance: Instance) -> int:
    check = getattr(instance.component, "health_check", None)
    if check is not None:
        return check.timeout_s
    default: int = HealthCheck._meta.get_field("timeout_s").default
    return default


WINDOW_PARAM = OpenApiParameter(
    "window_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The maintenance window's id."
)


class MaintenanceWindowListApi(ConsoleListApi):
    @extend_schema(
        operation_id="maintenance_windows_list",
        tags=["instances"],
        summary="The component's maintenance windows and its application's, the next or current first",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.MaintenanceWindowSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, service_id: str) -> Response:
        windows = self.page_of(maintenance.windows_query(self.get_component(service_id)))
        return self.paged(s.MaintenanceWindowSerializer(windows, many=True).data)

    @extend_schema(
        operation_id="maintenance_windows_create",
        tags=["instances"],
        summary="Add a maintenance window (once or weekly) for the component or its whole application",
        parameters=[SERVICE_ID_PARAM],
        request=s.MaintenanceWindowSerializer,
        responses={201: s.MaintenanceWindowSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        data = validated(s.MaintenanceWindowSerializer, request.data)
        whole = data.pop("whole_application")
        window = maintenance.maintenance_window_create(
            actor=self.actor(),
            component=None if whole else component,
            application=component.application if whole else None,
            **data,
        )
        return Response(s.MaintenanceWindowSerializer(window).data, status=status.HTTP_201_CREATED)


class MaintenanceWindowDetailApi(ConsoleApi):
    def get_window(self, service_id: str, window_id: str) -> MaintenanceWindow:
        component = self.get_component(service_id)
        window = (
            maintenance.windows_query(component).filter(pk=int(window_id)).first()
            if window_id.isdigit()
            else None
        )
        if window is None:
            raise exceptions.NotFound("No such maintenance window.")
        return window

    @extend_schema(
        operation_id="maintenance_windows_retrieve",
        tags=["instances"],
        summary="One maintenance window",
        parameters=[SERVICE_ID_PARAM, WINDOW_PARAM],
        responses={200: s.MaintenanceWindowSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str, window_id: str) -> Response:
        return Response(s.MaintenanceWindowSerializer(self.get_window(service_id, window_id)).data)

    @extend_schema(
        operation_id="maintenance_windows_delete",
        tags=["instances"],
        summary="Delete a maintenance window; one under way ends first (its instances put back in routing)",
        parameters=[SERVICE_ID_PARAM, WINDOW_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, window_id: str) -> Response:
        maintenance.maintenance_window_delete(
            window=self.get_window(service_id, window_id), actor=self.actor()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)
