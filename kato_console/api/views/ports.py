"""``/api/v1/components/<service_id>/ports/…``: a component's ports."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors, services
from components.models import Port
from kato_console import serializers as s
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import (
    READ_ERRORS,
    SERVICE_ID_PARAM,
    WRITE_ERRORS,
    ConsoleApi,
    ConsoleListApi,
    validated,
)

PORT_PARAM = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The port number."
)


class PortListApi(ConsoleListApi):
    @extend_schema(
        operation_id="ports_list",
        tags=["ports"],
        summary="The component's ports",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.PortOutputSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, service_id: str) -> Response:
        ports = self.page_of(selectors.component_ports(self.get_component(service_id)))
        return self.paged(s.PortOutputSerializer(ports, many=True).data)

    @extend_schema(
        operation_id="ports_create",
        tags=["ports"],
        summary="Add a port (a third-party component has one)",
        parameters=[SERVICE_ID_PARAM],
        request=s.PortSerializer,
        responses={201: s.PortOutputSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        data = validated(s.PortSerializer, request.data)
        port = services.port_create(component=component, actor=self.actor(), **data)
        return Response(s.PortOutputSerializer(port).data, status=status.HTTP_201_CREATED)


class PortDetailApi(ConsoleApi):
    def get_port(self, service_id: str, number: str) -> Port:
        return selectors.component_port(self.get_component(service_id), number)

    @extend_schema(
        operation_id="ports_retrieve",
        tags=["ports"],
        summary="One port, by number",
        parameters=[SERVICE_ID_PARAM, PORT_PARAM],
        responses={200: s.PortOutputSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str, number: str) -> Response:
        return Response(s.PortOutputSerializer(self.get_port(service_id, number)).data)

    @extend_schema(
        operation_id="ports_update",
        tags=["ports"],
        summary="Change a port: number, protocol, alias, internal and external service",
        parameters=[SERVICE_ID_PARAM, PORT_PARAM],
        request=s.PortUpdateSerializer,
        responses={200: s.PortOutputSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, service_id: str, number: str) -> Response:
        port = self.get_port(service_id, number)
        changes = validated(s.PortUpdateSerializer, request.data)
        if changes:
            port = services.port_update(port=port, actor=self.actor(), **changes)
        return Response(s.PortOutputSerializer(port).data)

    @extend_schema(
        operation_id="ports_delete",
        tags=["ports"],
        summary="Delete a port (and its generated connection information)",
        parameters=[SERVICE_ID_PARAM, PORT_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, number: str) -> Response:
        services.port_delete(port=self.get_port(service_id, number), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)
