"""The console API ``/api/v1/`` (DESIGN.md section 5): validate, call a selector or service, answer.

Every object is reached through a selector that takes the requesting user, so another team's
object is a 404; writes need the owner or developer role in the object's team (403 for viewers).
A refused change (``ComponentError``) is a 400 in DRF's usual form, with the field it concerns.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.utils.cache import patch_cache_control
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from components import environment, selectors, services
from components.api import serializers as s
from components.api.permissions import TeamRolePermission, can_write
from components.api.renderers import DotenvRenderer, ShellRenderer
from components.api.schema import error_responses
from components.audit import Actor
from components.models import Actor as ActorKind
from components.models import ApiToken, Component, Dependency, EnvVar, Port, Team
from components.services import ComponentError
from components.validation import ENV_NAME_RE, SERVICE_ID_RE
from instances import services as instance_services
from instances.models import HealthCheck, Instance

_MAX_ID = 2**63 - 1

SERVICE_ID_PARAM = OpenApiParameter(
    "service_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    pattern=SERVICE_ID_RE.pattern,
    description="The component's service id (32 hex digits).",
)
REVEAL_PARAM = OpenApiParameter(
    "reveal",
    OpenApiTypes.BOOL,
    description="Show secret values (owners and developers only; audited).",
)

READ_ERRORS = (401, 404)
WRITE_ERRORS = (400, 401, 403, 404)


class _Conflict(exceptions.APIException):
    """A change that lost a race with a concurrent one."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class ConsoleApi(APIView):
    permission_classes = [IsAuthenticated, TeamRolePermission]
    # Set by a view whose answer carries a secret (the API secret key, revealed values): the answer
    # is then sent with Cache-Control: no-store, so that no browser or proxy keeps a copy.
    secret_bearing = False

    def finalize_response(self, request: Request, response: Response, *args: Any, **kwargs: Any) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.secret_bearing:
            patch_cache_control(response, no_store=True)
        return response

    def component_detail(self, component: Component, *, via: str = "") -> dict[str, Any]:
        """The component as the API shows it; when that includes the secret key, the answer is not
        stored and, if ``via`` names the read, the reveal is audited like the overview page's."""
        data = _component_detail(self.request, component)
        if data.get("secret_key"):
            self.secret_bearing = True
            if via:
                services.secret_key_reveal(component=component, actor=self.actor(), via=via)
        return data

    def actor(self) -> Actor:
        token = isinstance(self.request.auth, ApiToken)
        return Actor(
            ActorKind.API_TOKEN if token else ActorKind.USER,
            self.request.user,
            self.request.META.get("REMOTE_ADDR") or None,
        )

    def get_component(self, service_id: str) -> Component:
        """The requester's component, after the role check for writes; 404 for anyone else's."""
        if not SERVICE_ID_RE.match(service_id):
            raise exceptions.NotFound("No such component.")
        component = selectors.component_for_user(self.request.user, service_id)
        self.check_object_permissions(self.request, component.team)
        return component

    def reveal_requested(self, team: Team, *, default: bool = False) -> bool:
        reveal = self._reveal_requested(team, default=default)
        self.secret_bearing = self.secret_bearing or reveal
        return reveal

    def _reveal_requested(self, team: Team, *, default: bool) -> bool:
        query = s.RevealQuerySerializer(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        if "reveal" not in self.request.query_params:
            return default
        reveal = query.validated_data["reveal"]
        if reveal and not can_write(self.request, team):
            raise exceptions.PermissionDenied("Only owners and developers can reveal secret values.")
        return reveal

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, services.ComponentConflict):
            exc = _Conflict(str(exc))
        elif isinstance(exc, ComponentError):
            exc = exceptions.ValidationError(
                {
                    ("non_field_errors" if field in ("", "__all__") else field): msgs
                    for field, msgs in exc.messages.items()
                }
            )
        return super().handle_exception(exc)


def _validated(serializer_class: type[s.serializers.Serializer], data: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# Applications


class ApplicationListApi(ConsoleApi):
    @extend_schema(
        operation_id="applications_list",
        tags=["applications"],
        summary="The applications of your teams",
        responses={200: s.ApplicationSerializer(many=True), **error_responses(401)},
    )
    def get(self, request: Request) -> Response:
        applications = selectors.applications_for_user(request.user)
        return Response(s.ApplicationSerializer(applications, many=True).data)

    @extend_schema(
        operation_id="applications_create",
        tags=["applications"],
        summary="Create an application in your team",
        request=s.ApplicationCreateSerializer,
        responses={201: s.ApplicationSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.ApplicationCreateSerializer, request.data)
        team = self._team(data.get("team", ""))
        self.check_object_permissions(request, team)
        application = services.application_create(team=team, name=data["name"], actor=self.actor())
        application.component_count = application.third_party_count = 0  # it is new
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    def _team(self, slug: str) -> Team:
        teams = list(selectors.teams_for_user(self.request.user))
        if slug:
            teams = [team for team in teams if team.slug == slug]
            if not teams:
                raise exceptions.ValidationError({"team": [f"You are not a member of a team {slug!r}."]})
        if not teams:
            raise exceptions.ValidationError(
                {"team": ["You are not in a team yet; ask a team owner to add you."]}
            )
        if len(teams) > 1:
            slugs = ", ".join(team.slug for team in teams)
            raise exceptions.ValidationError(
                {"team": [f"You belong to several teams; say which one: {slugs}."]}
            )
        return teams[0]


# Components


class ComponentListApi(ConsoleApi):
    @extend_schema(
        operation_id="components_list",
        tags=["components"],
        summary="The components of your teams",
        parameters=[
            OpenApiParameter("application", OpenApiTypes.STR, description="Only this application's (slug).")
        ],
        responses={200: s.ComponentSerializer(many=True), **error_responses(400, 401)},
    )
    def get(self, request: Request) -> Response:
        components = selectors.components_for_user(request.user)
        application = request.query_params.get("application")
        if application is not None:
            components = components.filter(application__slug=_valid_slug(application, "application"))
        return Response(s.ComponentSerializer(components, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="components_create",
        tags=["components"],
        summary="Create a component (third-party with static addresses or API registration, or internal)",
        request=s.ComponentCreateSerializer,
        responses={201: s.ComponentDetailSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = _validated(s.ComponentCreateSerializer, request.data)
        application = self._application(data.pop("application"), data.pop("team", ""))
        self.check_object_permissions(request, application.team)
        component = services.component_create_with_addresses(
            application=application, actor=self.actor(), **data
        )
        component = selectors.component_for_user(request.user, component.service_id)
        return Response(self.component_detail(component), status=status.HTTP_201_CREATED)

    def _application(self, slug: str, team: str) -> Any:
        applications = selectors.applications_for_user(self.request.user).filter(slug=slug)
        if team:
            applications = applications.filter(team__slug=team)
        found = list(applications[:2])
        if not found:
            raise exceptions.ValidationError(
                {"application": [f"None of your teams has an application {slug!r}."]}
            )
        if len(found) > 1:
            raise exceptions.ValidationError(
                {"team": [f"Several of your teams have an application {slug!r}; say which."]}
            )
        return found[0]


def _valid_slug(value: str, field: str) -> str:
    serializer = s.serializers.SlugField(max_length=100)
    try:
        return serializer.run_validation(value)
    except exceptions.ValidationError as error:
        raise exceptions.ValidationError({field: error.detail}) from None


def _component_detail(request: Request, component: Component) -> dict[str, Any]:
    context = {"can_write": can_write(request, component.team), "request": request}
    return s.ComponentDetailSerializer(component, context=context).data


class ComponentDetailApi(ConsoleApi):
    @extend_schema(
        operation_id="components_retrieve",
        tags=["components"],
        summary="One component, with its API URL and secret key for API registration",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.ComponentDetailSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        return Response(self.component_detail(self.get_component(service_id), via="api:components.retrieve"))

    @extend_schema(
        operation_id="components_update",
        tags=["components"],
        summary="Rename a component, change its service name or image",
        parameters=[SERVICE_ID_PARAM],
        request=s.ComponentUpdateSerializer,
        responses={200: s.ComponentDetailSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        changes = _validated(s.ComponentUpdateSerializer, request.data)
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


# Ports


def _number_in(text: str, low: int, high: int, what: str) -> int:
    """A path segment that must be a number in [low, high]; anything else is that object's 404."""
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise exceptions.NotFound(f"No such {what}.")
    return int(text)


NAME_PARAM = OpenApiParameter(
    "name", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=ENV_NAME_RE, description="The variable's name."
)
PORT_PARAM = OpenApiParameter(
    "number", OpenApiTypes.INT, OpenApiParameter.PATH, description="The port number."
)
INSTANCE_PARAM = OpenApiParameter(
    "instance_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The instance's id."
)


class PortListApi(ConsoleApi):
    @extend_schema(
        operation_id="ports_list",
        tags=["ports"],
        summary="The component's ports",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.PortOutputSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        return Response(s.PortOutputSerializer(component.ports.all(), many=True).data)

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
        data = _validated(s.PortSerializer, request.data)
        port = services.port_create(component=component, actor=self.actor(), **data)
        return Response(s.PortOutputSerializer(port).data, status=status.HTTP_201_CREATED)


class PortDetailApi(ConsoleApi):
    def get_port(self, service_id: str, number: str) -> Port:
        component = self.get_component(service_id)
        port = component.ports.filter(number=_number_in(number, 1, 65535, "port")).first()
        if port is None:
            raise exceptions.NotFound("No such port.")
        return port

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
        changes = _validated(s.PortUpdateSerializer, request.data)
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


# Connection information and the component's own variables


def _env_values(component: Component, variables: list[EnvVar]) -> dict[str, str]:
    return {var.name: environment.generated_value(component, var) for var in variables if var.generated}


class EnvVarListApi(ConsoleApi):
    @extend_schema(
        operation_id="env_list",
        tags=["connection information"],
        summary="The component's variables; secret values are null unless ?reveal=true",
        parameters=[SERVICE_ID_PARAM, REVEAL_PARAM],
        responses={200: s.EnvVarSerializer(many=True), **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        reveal = self.reveal_requested(component.team)
        variables = list(component.env_vars.all())
        if reveal:
            services.env_reveal(
                component=component,
                actor=self.actor(),
                names=[var.name for var in variables if var.secret],
                via="api:env/",
            )
        context = {"reveal": reveal, "values": _env_values(component, variables)}
        return Response(s.EnvVarSerializer(variables, many=True, context=context).data)

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
        data = _validated(s.EnvVarCreateSerializer, request.data)
        var = services.env_var_create(component=component, actor=self.actor(), **data)
        return Response(s.EnvVarSerializer(var).data, status=status.HTTP_201_CREATED)


class EnvVarDetailApi(ConsoleApi):
    def get_var(self, service_id: str, name: str) -> tuple[Component, EnvVar]:
        component = self.get_component(service_id)
        var = (
            component.env_vars.filter(name=name).first()
            if len(name) <= 128 and re.match(ENV_NAME_RE, name)
            else None
        )
        if var is None:
            raise exceptions.NotFound("No such variable.")
        return component, var

    @extend_schema(
        operation_id="env_retrieve",
        tags=["connection information"],
        summary="One variable, by name",
        parameters=[SERVICE_ID_PARAM, NAME_PARAM, REVEAL_PARAM],
        responses={200: s.EnvVarSerializer, **error_responses(400, 401, 403, 404)},
    )
    def get(self, request: Request, service_id: str, name: str) -> Response:
        component, var = self.get_var(service_id, name)
        reveal = self.reveal_requested(component.team)
        if reveal and var.secret:
            services.env_reveal(
                component=component, actor=self.actor(), names=[var.name], via="api:env/<name>"
            )
        context = {"reveal": reveal, "values": _env_values(component, [var])}
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
        component, var = self.get_var(service_id, name)
        changes = _validated(s.EnvVarUpdateSerializer, request.data)
        fields = {
            field: changes.get(field, getattr(var, field))
            for field in ("value", "scope", "secret", "description")
        }
        var = services.env_var_set(component=component, name=var.name, actor=self.actor(), **fields)
        return Response(s.EnvVarSerializer(var, context={"values": _env_values(component, [var])}).data)

    @extend_schema(
        operation_id="env_delete",
        tags=["connection information"],
        summary="Delete a variable (generated ones go with the port's internal service)",
        parameters=[SERVICE_ID_PARAM, NAME_PARAM],
        responses={204: None, **error_responses(*WRITE_ERRORS)},
    )
    def delete(self, request: Request, service_id: str, name: str) -> Response:
        _, var = self.get_var(service_id, name)
        services.env_var_delete(var=var, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


class EffectiveEnvironmentApi(ConsoleApi):
    """``?format=json|dotenv|shell``: DRF selects the renderer by the ``format`` query parameter."""

    renderer_classes = [JSONRenderer, DotenvRenderer, ShellRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
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
        entries = environment.effective_environment(component)
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


# Dependencies


class DependencyListApi(ConsoleApi):
    def dependencies(self, component: Component) -> QuerySet[Dependency]:
        return component.dependencies.select_related("target__application").order_by("target__service_name")

    @extend_schema(
        operation_id="dependencies_list",
        tags=["dependencies"],
        summary="The components this component depends on",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.DependencySerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        return Response(s.DependencySerializer(self.dependencies(component), many=True).data)

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
        data = _validated(s.DependencyCreateSerializer, request.data)
        target = (
            selectors.components_for_user(request.user).filter(service_id=data["target"]).first()
            if SERVICE_ID_RE.match(data["target"])
            else None
        )
        if target is None:
            raise exceptions.ValidationError(
                {"target": [f"None of your components has the service id {data['target']!r}."]}
            )
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
        dependency = (
            component.dependencies.filter(target__service_id=target).select_related("target").first()
            if SERVICE_ID_RE.match(target)
            else None
        )
        if dependency is None:
            raise exceptions.NotFound(f"{component.name} does not depend on such a component.")
        services.dependency_remove(component=component, target=dependency.target, actor=self.actor())
        return Response(status=status.HTTP_204_NO_CONTENT)


# Instances, the health check and probing


class InstanceListApi(ConsoleApi):
    @extend_schema(
        operation_id="instances_list",
        tags=["instances"],
        summary="The component's instances with their status",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.InstanceSerializer(many=True), **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        return Response(s.InstanceSerializer(component.instances.all(), many=True).data)

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
        data = _validated(s.InstanceCreateSerializer, request.data)
        instance = instance_services.instance_add(
            component=component, address=data["address"], is_online=data["is_online"], actor=self.actor()
        )
        return Response(s.InstanceSerializer(instance).data, status=status.HTTP_201_CREATED)


class InstanceDetailApi(ConsoleApi):
    def get_instance(self, service_id: str, instance_id: str) -> Instance:
        component = self.get_component(service_id)
        instance = component.instances.filter(pk=_number_in(instance_id, 1, _MAX_ID, "instance")).first()
        if instance is None:
            raise exceptions.NotFound("No such instance.")
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
        serializer = s.InstanceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        is_online = serializer.validated_data.get("is_online")
        if is_online is not None and is_online != instance.is_online:
            instance = instance_services.instance_set_online(
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
        instance_services.instance_delete(
            instance=self.get_instance(service_id, instance_id), actor=self.actor()
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def health_check_warnings(check: HealthCheck) -> list[str]:
    """What the person configuring the check should know (the MySQL greeting-only probe, for one)."""
    from instances.health import greeting_only_warning

    warning = greeting_only_warning(check)
    return [warning] if warning else []


class HealthCheckApi(ConsoleApi):
    def check_of(self, component: Component) -> HealthCheck:
        return getattr(component, "health_check", None) or HealthCheck(component=component)

    def answer(self, check: HealthCheck) -> Response:
        data = {field: getattr(check, field) for field in instance_services.HEALTH_CHECK_FIELDS}
        data["warnings"] = health_check_warnings(check)
        return Response(s.HealthCheckSerializer(data).data)

    @extend_schema(
        operation_id="health_check_retrieve",
        tags=["instances"],
        summary="The component's health check",
        parameters=[SERVICE_ID_PARAM],
        responses={200: s.HealthCheckSerializer, **error_responses(*READ_ERRORS)},
    )
    def get(self, request: Request, service_id: str) -> Response:
        return self.answer(self.check_of(self.get_component(service_id)))

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
        changes = _validated(s.HealthCheckSerializer, request.data)
        if not changes:
            return self.answer(self.check_of(component))
        check = instance_services.health_check_update(component=component, actor=self.actor(), **changes)
        return self.answer(check)


class ProbeNowSerializer(serializers.Serializer):
    results = s.ProbeResultSerializer(many=True, help_text="The probes that finished within the wait.")
    pending = s.InstanceSerializer(many=True, help_text="Still being probed, by a background worker.")
    detail = serializers.CharField(help_text="Where the pending results will appear.")


class ProbeApi(ConsoleApi):
    @extend_schema(
        operation_id="components_probe",
        tags=["instances"],
        summary="Probe every online instance now and answer with the results that arrive within "
        "KATO_PROBE_NOW_WAIT_S seconds",
        parameters=[SERVICE_ID_PARAM],
        request=None,
        responses={200: ProbeNowSerializer, **error_responses(401, 403, 404, 501)},
    )
    def post(self, request: Request, service_id: str) -> Response:
        component = self.get_component(service_id)
        probe_component_now = _probe_component_now()
        if probe_component_now is None:
            return Response(
                {
                    "detail": "Probing on demand is not available in this installation yet; the background "
                    "checks still run."
                },
                status=status.HTTP_501_NOT_IMPLEMENTED,
            )
        probed = probe_component_now(component=component, actor=self.actor())
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
        pending = getattr(probed, "pending", [])
        return Response(
            ProbeNowSerializer(
                {"results": rows, "pending": pending, "detail": _probe_now_detail(pending)}
            ).data
        )


def _probe_now_detail(pending: list[Any]) -> str:
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
    return check.timeout_s if check is not None else HealthCheck._meta.get_field("timeout_s").default


def _probe_component_now() -> Any:
    """The probe-on-demand service; an installation without it answers 501."""
    from instances.sweep import probe_component_now

    return probe_component_now
