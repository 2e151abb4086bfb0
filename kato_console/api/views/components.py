"""``/api/v1/components/…``: components, and the API secret key of an API-registered one."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors, services
from components.models import Component
from instances import history, maintenance
from instances import selectors as instance_selectors
from instances import services as instance_services
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


class ComponentListApi(ConsoleListApi):
    @extend_schema(
        operation_id="components_list",
        tags=["components"],
        summary="The components of your teams",
        parameters=[
            OpenApiParameter("application", OpenApiTypes.STR, description="Only this application's (slug).")
        ],
        responses={200: s.ComponentSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request) -> Response:
        components = instance_selectors.components_with_counts_for_user(request.user)
        application = request.query_params.get("application")
        if application is not None:
            components = components.filter(application__slug=_valid_slug(application, "application"))
        page = history.with_uptime(self.page_of(components))
        maintenance.mark_maintenance(page)
        return self.paged(s.ComponentSerializer(page, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="components_create",
        tags=["components"],
        summary="Create a component (third-party with static addresses or API registration, or internal)",
        request=s.ComponentCreateSerializer,
        responses={201: s.ComponentDetailSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.ComponentCreateSerializer, request.data)
        application = selectors.application_to_create_in(
            request.user, slug=data.pop("application"), team=data.pop("team", "")
        )
        self.check_object_permissions(request, application.team)
        component = instance_services.component_create(application=application, actor=self.actor(), **data)
        component = instance_selectors.component_with_counts_for_user(request.user, component.service_id)
        return Response(self.component_detail(component), status=status.HTTP_201_CREATED)


def _valid_slug(value: str, field: str) -> str:
    serializer = serializers.SlugField(max_length=100)
    try:
        slug: str = serializer.run_validation(value)
    except exceptions.ValidationError as error:
        raise exceptions.ValidationError({field: error.detail}) from None
    return slug


class ComponentDetailApi(ConsoleApi):
    def get_counted_component(self, service_id: str) -> Component:
        """The component with its instance counts and status from SQL, as the detail shows them."""
        return self.get_component(service_id, lookup=instance_selectors.component_with_counts_for_user)

    @extend_schema(
        operation_id="components_retrieve",
        tags=["components"],
        summary="One component, with its API URL and secret key for API registration",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.ComponentDetailSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_counted_component(service_id)
        return Response(self.component_detail(component, via="api:components.retrieve"))

    @extend_schema(
        operation_id="components_update",
        tags=["components"],
        summary="Rename a component, change its service name or image",
        parameters=[SERVICE_ID_PARAM],
        request=s.ComponentUpdateSerializer,
        responses={200: s.ComponentDetailSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, service_id: str) -> Response:
        component = self.get_counted_component(service_id)
        changes = validated(s.ComponentUpdateSerializer, request.data)
        if changes:
            services.component_update(component=component, actor=self.actor(), **changes)
        return Response(self.component_detail(component, via="api:components.update"))

    @extend_schema(
        operation_id="components_delete",
        tags=["components"],
        summary="Delete a component (refused while others depend on it)",
        parameters=[SERVICE_ID_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str) -> Response:
        services.component_delete(component=self.get_component(service_id), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class SecretKeyApi(ConsoleApi):
    @extend_schema(
        operation_id="components_secret_key_regenerate",
        tags=["components"],
        summary="Regenerate the API secret key; the old one stops working at once",
        parameters=[SERVICE_ID_PARAM],
        request=None,
        responses={200: s.SecretKeySerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        key = services.secret_key_regenerate(component=component, actor=self.actor())
        self.secret_bearing = True
        return Response(
            s.SecretKeySerializer({"secret_key": key, "api_url": s.api_url(component, request)}).data
        )
