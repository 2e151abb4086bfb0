"""``/api/v1/components/<service_id>/events/`` and ``/api/v1/teams/<slug>/events/``: the audit trail
for scripts, newest first, paged, optionally one action (``?action=port.update``). Every member of
the team reads it, as on the events page."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from components import selectors
from core.models import AUDIT_ACTIONS, AuditEvent
from kato_console import serializers as s
from kato_console.api.schema import list_error_responses
from kato_console.api.views.base import SERVICE_ID_PARAM, ConsoleListApi, validated

ACTION_PARAM = OpenApiParameter(
    "action",
    OpenApiTypes.STR,
    enum=sorted(AUDIT_ACTIONS),
    description="Only events of this action.",
)
TEAM_PARAM = OpenApiParameter("slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The team's slug.")


class _EventsApi(ConsoleListApi):
    def events_page(self, events: QuerySet[AuditEvent]) -> Response:
        query = validated(s.EventQuerySerializer, self.request.query_params)
        if query.get("action"):
            events = events.filter(action=query["action"])
        return self.paged(s.EventSerializer(self.page_of(events), many=True).data)


class ComponentEventListApi(_EventsApi):
    @extend_schema(
        operation_id="component_events_list",
        tags=["events"],
        summary="The component's audit trail, newest first",
        parameters=[SERVICE_ID_PARAM, ACTION_PARAM],
        responses={200: s.EventSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, service_id: str) -> Response:
        return self.events_page(selectors.component_events(self.get_component(service_id)))


class TeamEventListApi(_EventsApi):
    @extend_schema(
        operation_id="team_events_list",
        tags=["events"],
        summary="The team's audit trail (its components' events and its own), newest first",
        parameters=[TEAM_PARAM, ACTION_PARAM],
        responses={200: s.EventSerializer(many=True), **list_error_responses()},
    )
    def get(self, request: Request, slug: str, **kwargs: Any) -> Response:
        team = selectors.teams_for_user(request.user).filter(slug=slug).first()
        if team is None:
            raise exceptions.NotFound("No such team.")
        return self.events_page(selectors.team_events(team))
