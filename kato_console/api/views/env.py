"""``/api/v1/components/<service_id>/env/…``: connection information and the component's own
variables; ``…/env``: the effective environment, in JSON, dotenv or shell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from components import environment, selectors, services
from components.models import Component, EnvVar
from components.validation import ENV_NAME_RE
from instances import environment as resolved
from instances import selectors as instance_selectors
from kato_console import serializers as s
from kato_console.api.permissions import can_write
from kato_console.api.renderers import DotenvRenderer, ShellRenderer
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import (
    REVEAL_PARAM,
    SERVICE_ID_PARAM,
    WRITE_ERRORS,
    ConsoleApi,
    ConsoleListApi,
    validated,
)

NAME_PARAM = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=ENV_NAME_RE, description="The variable's name."
)


def _env_values(component: Component, variables: Sequence[EnvVar]) -> dict[str, Any]:
    """The serializer's context for ``variables``: the generated values and their warnings."""
    generated = [var for var in variables if var.generated]
    if generated:
        instance_selectors.with_instances(component)  # read once, not once per generated variable
    return {
        "values": {var.name: resolved.generated_value(component, var) for var in generated},
        "warnings": {var.name: resolved.generated_warning(component, var) for var in generated},
    }


class EnvVarListApi(ConsoleListApi):
    @extend_schema(
        operation_id="env_list",
        tags=["connection information"],
        summary="The component's variables, by name; secret values are null unless ?reveal=true",
        parameters=[SERVICE_ID_PARAM, REVEAL_PARAM],
        responses={200: s.EnvVarSerializer(many=True), **list_error_responses(403)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        reveal = self.reveal_requested(component.team)
        # Only the page's secrets are revealed, and so only they are audited.
        variables = self.page_of(selectors.component_env_vars(component))
        if reveal:
            services.env_reveal(
                component=component,
                actor=self.actor(),
                names=[var.name for var in variables if var.secret],
                via="api:env/",
            )
        context = {"reveal": reveal, **_env_values(component, variables)}
        return self.paged(s.EnvVarSerializer(variables, many=True, context=context).data)

    @extend_schema(
        operation_id="env_create",
        tags=["connection information"],
        summary="Add a variable: connection information (scope outer) or the component's own (inner)",
        parameters=[SERVICE_ID_PARAM],
        request=s.EnvVarCreateSerializer,
        responses={201: s.EnvVarSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        data = validated(s.EnvVarCreateSerializer, request.data)
        var = services.env_var_create(component=component, actor=self.actor(), **data)
        return Response(s.EnvVarSerializer(var).data, status=status.HTTP_201_CREATED)


class EnvVarDetailApi(ConsoleApi):
    def get_var(self, service_id: str, name: str) -> EnvVar:
        return selectors.component_env_var(self.get_component(service_id), name)

    @extend_schema(
        operation_id="env_retrieve",
        tags=["connection information"],
        summary="One variable, by name",
        parameters=[SERVICE_ID_PARAM, NAME_PARAM, REVEAL_PARAM],
        responses={200: s.EnvVarSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, service_id: str, name: str) -> Response:
        var = self.get_var(service_id, name)
        component = var.component
        reveal = self.reveal_requested(component.team)
        if reveal and var.secret:
            services.env_reveal(
                component=component, actor=self.actor(), names=[var.name], via="api:env/<name>"
            )
        context = {"reveal": reveal, **_env_values(component, [var])}
        return Response(s.EnvVarSerializer(var, context=context).data)

    @extend_schema(
        operation_id="env_update",
        tags=["connection information"],
        summary="Change a variable's value, scope, secrecy or description",
        parameters=[SERVICE_ID_PARAM, NAME_PARAM],
        request=s.EnvVarUpdateSerializer,
        responses={200: s.EnvVarSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, service_id: str, name: str) -> Response:
        var = self.get_var(service_id, name)
        changes = validated(s.EnvVarUpdateSerializer, request.data)
        var = services.env_var_update(var=var, actor=self.actor(), **changes)
        return Response(s.EnvVarSerializer(var, context=_env_values(var.component, [var])).data)

    @extend_schema(
        operation_id="env_delete",
        tags=["connection information"],
        summary="Delete a variable (generated ones go with the port's internal service)",
        parameters=[SERVICE_ID_PARAM, NAME_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, name: str) -> Response:
        services.env_var_delete(var=self.get_var(service_id, name), actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EffectiveEnvironmentApi(ConsoleApi):
    """``?format=json|dotenv|shell``: DRF selects the renderer by the ``format`` query parameter."""

    renderer_classes = [JSONRenderer, DotenvRenderer, ShellRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        try:
            return super().perform_content_negotiation(request, force)
        except (Http404, exceptions.NotFound):
            # DRF answers an unknown ?format= with a 404; here it is a wrong value of a parameter.
            raise exceptions.ValidationError(
                {"format": [f"Choose one of {', '.join(environment.FORMATS)}."]}
            ) from None

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        # Errors are JSON whatever format was asked for, as everywhere else in the API.
        if response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @extend_schema(
        operation_id="environment_retrieve",
        tags=["connection information"],
        summary="The effective environment: dependencies' connection information, then the component's own",
        description="Each variable says where it comes from; a dependency's variable that the component "
        "overrides stays in the JSON list with `overridden_by` (a comment line in dotenv and shell). "
        "Secret values: JSON shows them with `?reveal=true`; dotenv and shell include them for owners and "
        "developers (`?reveal=false` leaves them out) and never for viewers. Every reveal is audited.",
        parameters=[
            SERVICE_ID_PARAM,
            OpenApiParameter(
                "format", OpenApiTypes.STR, enum=list(environment.FORMATS), description="Default json."
            ),
            REVEAL_PARAM,
        ],
        responses={
            (200, "application/json"): s.EffectiveVariableSerializer(many=True),
            (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="dotenv or shell lines"),
            **error_responses(400, 401, 403, 404),
        },
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        text_format = request.accepted_renderer.format in ("dotenv", "shell")
        reveal = self.reveal_requested(
            component.team, default=text_format and can_write(request, component.team)
        )
        entries = resolved.effective_environment(instance_selectors.with_instances(component))
        if reveal:
            services.env_reveal(
                component=component,
                actor=self.actor(),
                names=environment.secret_names(entries),
                via=f"api:env?format={request.accepted_renderer.format}",
            )
        if request.accepted_renderer.format == "dotenv":
            return Response(environment.render_dotenv(component, entries, reveal=reveal))
        if request.accepted_renderer.format == "shell":
            return Response(environment.render_shell(component, entries, reveal=reveal))
        return Response(s.EffectiveVariableSerializer(entries, many=True, context={"reveal": reveal}).data)
