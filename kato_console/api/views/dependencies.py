"""``/api/v1/components/<service_id>/dependencies/…``: what a component depends on."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors, services
from kato_console import serializers as s
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import (
    SERVICE_ID_PARAM,
    WRITE_ERRORS,
    ConsoleApi,
    ConsoleListApi,
    validated,
)


class DependencyListApi(ConsoleListApi):
    @extend_schema(
        operation_id="dependencies_list",
        tags=["dependencies"],
        summary="The components this component depends on",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.DependencySerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, service_id: str) -> Response:
        dependencies = self.page_of(selectors.dependencies_with_targets(self.get_component(service_id)))
        return self.paged(s.DependencySerializer(dependencies, many=True).data)

    @extend_schema(
        operation_id="dependencies_create",
        tags=["dependencies"],
        summary="Depend on another component of the team and receive its connection information",
        parameters=[SERVICE_ID_PARAM],
        request=s.DependencyCreateSerializer,
        responses={201: s.DependencySerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        data = validated(s.DependencyCreateSerializer, request.data)
        target = selectors.dependency_target_for_user(request.user, data["target"])
        dependency = services.dependency_add(
            component=component, target=target, actor=self.actor(), open_inner=data["open_inner"]
        )
        return Response(s.DependencySerializer(dependency).data, status=status.HTTP_201_CREATED)


class DependencyDetailApi(ConsoleApi):
    @extend_schema(
        operation_id="dependencies_delete",
        tags=["dependencies"],
        summary="Stop depending on a component",
        parameters=[
            SERVICE_ID_PARAM,
            OpenApiParameter(
                "target", OpenApiTypes.STR, OpenApiParameter.PATH, description="The target's service id."
            ),
        ],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, target: str) -> Response:
        component = self.get_component(service_id)
        dependency = selectors.dependency_on(component, target)
        services.dependency_remove(component=component, target=dependency.target, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)
