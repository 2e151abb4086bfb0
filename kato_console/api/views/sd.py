"""``/api/v1/sd/prometheus``: the components of your teams as Prometheus' HTTP service discovery
(``http_sd_configs``) reads them: one target group per third-party component, with the ``host:port``
of each routed instance (online, and healthy or not health-checked), and ``__meta_kato_*`` labels
for relabeling (README, "Prometheus")."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors
from components.models import Component, ComponentKind
from instances.addresses import DEFAULT_PORTS, format_address
from instances.models import Instance
from kato_console.api.schema import error_responses
from kato_console.api.views.base import ConsoleApi


class TargetGroupSerializer(serializers.Serializer):
    targets = serializers.ListField(
        child=serializers.CharField(), help_text="host:port of each routed instance"
    )
    labels = serializers.DictField(
        child=serializers.CharField(),
        help_text="__meta_kato_team, __meta_kato_application, __meta_kato_component, "
        "__meta_kato_protocol, __meta_kato_service_id",
    )


class PrometheusSdApi(ConsoleApi):
    @extend_schema(
        operation_id="sd_prometheus",
        tags=["service discovery"],
        summary="Prometheus HTTP service discovery: your teams' routed instances, grouped by component",
        responses={200: TargetGroupSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        components = selectors.components_for_user(request.user).filter(kind=ComponentKind.THIRD_PARTY)
        return Response([target_group(component) for component in components])


def target_group(component: Component) -> dict[str, Any]:
    """The component's target group (its ports and instances prefetched)."""
    port = next(iter(component.ports.all()), None)
    targets = [
        target
        for instance in component.instances.all()
        if instance.is_routed and (target := _target(instance, port.number if port else None))
    ]
    return {
        "targets": targets,
        "labels": {
            "__meta_kato_team": component.team.slug,
            "__meta_kato_application": component.application.slug,
            "__meta_kato_component": component.service_name,
            "__meta_kato_protocol": port.protocol if port else "",
            "__meta_kato_service_id": component.service_id,
        },
    }


def _target(instance: Instance, component_port: int | None) -> str:
    """``host:port`` (``[v6]:port``), or "" when neither the instance nor its component has a port."""
    port = instance.port or component_port or DEFAULT_PORTS.get(instance.scheme)
    return format_address(instance.host, port) if port else ""
