"""``/api/v1/applications/``: the applications of the requester's teams."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors, services
from kato_console import serializers as s
from kato_console.api.schema import error_responses, list_error_responses
from kato_console.api.views.base import ConsoleListApi, validated


class ApplicationListApi(ConsoleListApi):
    @extend_schema(
        operation_id="applications_list",
        tags=["applications"],
        summary="The applications of your teams",
        responses={200: s.ApplicationSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request) -> Response:
        applications = self.page_of(selectors.applications_for_user(request.user))
        return self.paged(s.ApplicationSerializer(applications, many=True).data)

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
        return Response(s.ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)
