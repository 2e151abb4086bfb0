"""``/api/v1/applications/``: the applications of the requester's teams; ``…/<slug>`` one of them,
whose status page owners and developers publish or take down."""

from __future__ import annotations

from collections.abc import Iterable

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors, services
from components.models import Application
from instances import maintenance
from instances.models import StatusPage
from kato_console import serializers as s
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import WRITE_ERRORS, ConsoleApi, ConsoleListApi, validated

SLUG_PARAM = OpenApiParameter(
    "slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The application's slug."
)
TEAM_PARAM = OpenApiParameter(
    "team", OpenApiTypes.STR, description="The team's slug, when several of yours have the application."
)


def with_status_pages(applications: Iterable[Application]) -> None:
    """Set ``status_page_token`` (None when unpublished) on each application; one query."""
    applications = list(applications)
    tokens = dict(
        StatusPage.objects.filter(application__in=applications).values_list("application_id", "token")
    )
    for application in applications:
        application.status_page_token = tokens.get(application.pk)  # type: ignore[attr-defined]


class ApplicationListApi(ConsoleListApi):
    @extend_schema(
        operation_id="applications_list",
        tags=["applications"],
        summary="The applications of your teams",
        responses={200: s.ApplicationSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request) -> Response:
        applications = self.page_of(selectors.applications_for_user(request.user))
        with_status_pages(applications)
        return self.paged(s.ApplicationSerializer(applications, many=True, context={"request": request}).data)

    @extend_schema(
        operation_id="applications_create",
        tags=["applications"],
        summary="Create an application in your team",
        request=s.ApplicationCreateSerializer,
        responses={201: s.ApplicationSerializer, **error_responses(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = validated(s.ApplicationCreateSerializer, request.data)
        team = selectors.team_to_create_in(request.user, data.get("team", ""))
        self.check_object_permissions(request, team)
        application = services.application_create(team=team, name=data["name"], actor=self.actor())
        # A new application has no components; the list's selector annotates these counts.
        application.component_count = application.third_party_count = 0  # type: ignore[attr-defined]
        application.status_page_token = None  # type: ignore[attr-defined]
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetailApi(ConsoleApi):
    def get_application(self, slug: str) -> Application:
        """The requester's application with this slug (``?team=`` when several of their teams have
        one), after the role check for writes; 404 for anyone else's."""
        applications = selectors.applications_for_user(self.request.user).filter(slug=slug)
        team = self.request.query_params.get("team", "")
        if team:
            applications = applications.filter(team__slug=team)
        found = list(applications[:2])
        if not found:
            raise exceptions.NotFound("No such application.")
        if len(found) > 1:
            raise exceptions.ValidationError(
                {"team": [f"Several of your teams have an application {slug!r}; say which with ?team=."]}
            )
        self.check_object_permissions(self.request, found[0].team)
        return found[0]

    def answer(self, application: Application) -> Response:
        with_status_pages([application])
        return Response(s.ApplicationSerializer(application, context={"request": self.request}).data)

    @extend_schema(
        operation_id="applications_retrieve",
        tags=["applications"],
        summary="One application, with its status page",
        parameters=[SLUG_PARAM, TEAM_PARAM],
        responses={200: s.ApplicationSerializer, **error_responses(400, 401, 404)},
    )
    def get(self, request: Request, slug: str) -> Response:
        return self.answer(self.get_application(slug))

    @extend_schema(
        operation_id="applications_update",
        tags=["applications"],
        summary="Publish the application's status page or take it down",
        parameters=[SLUG_PARAM, TEAM_PARAM],
        request=s.ApplicationUpdateSerializer,
        responses={200: s.ApplicationSerializer, **error_responses(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, slug: str) -> Response:
        application = self.get_application(slug)
        data = validated(s.ApplicationUpdateSerializer, request.data)
        if data["status_page"]:
            maintenance.status_page_publish(application=application, actor=self.actor())
        else:
            maintenance.status_page_unpublish(application=application, actor=self.actor())
        return self.answer(application)
