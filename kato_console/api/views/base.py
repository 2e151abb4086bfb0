"""What every console API view shares: authentication and roles, the component lookup, the actor,
reveals and secret-bearing answers, and the domain error as DRF's 400 (or 409 for a lost race)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model, QuerySet
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers, status
from rest_framework.pagination import BasePagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from components import selectors, services
from components.models import Component
from components.selectors import User
from components.validation import SERVICE_ID_RE
from core.audit import Actor
from core.errors import ComponentConflict, ComponentError
from core.models import ActorKind, ApiToken, Team
from instances import history, maintenance
from kato_console import serializers as s
from kato_console.api.permissions import TeamRolePermission, can_write

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

_M = TypeVar("_M", bound=Model)

READ_ERRORS = (401, 404)
WRITE_ERRORS = (400, 401, 403, 404)


class _Conflict(exceptions.APIException):
    """A change that lost a race with a concurrent one."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


@method_decorator(login_not_required, name="dispatch")  # a token or a session, answered in JSON
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
        context = {"can_write": can_write(self.request, component.team), "request": self.request}
        history.with_uptime([component])
        maintenance.mark_maintenance([component])
        data: dict[str, Any] = s.ComponentDetailSerializer(component, context=context).data
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

    def get_component(
        self, service_id: str, *, lookup: Callable[[User, str], Component] = selectors.component_for_user
    ) -> Component:
        """The requester's component, after the role check for writes; 404 for anyone else's.
        ``lookup`` is the selector that reads it (one that also counts its instances, say)."""
        if not SERVICE_ID_RE.match(service_id):
            raise exceptions.NotFound("No such component.")
        component = lookup(self.request.user, service_id)
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
        reveal: bool = query.validated_data["reveal"]
        if reveal and not can_write(self.request, team):
            raise exceptions.PermissionDenied("Only owners and developers can reveal secret values.")
        return reveal

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ComponentConflict):
            exc = _Conflict(str(exc))
        elif isinstance(exc, ComponentError):
            exc = exceptions.ValidationError(
                {
                    ("non_field_errors" if field in ("", "__all__") else field): msgs
                    for field, msgs in exc.messages.items()
                }
            )
        return super().handle_exception(exc)


class ConsoleListApi(ConsoleApi):
    """A view whose GET answers a list: one page of it, in DRF's ``count``/``next``/``previous``/
    ``results`` form (``REST_FRAMEWORK["DEFAULT_PAGINATION_CLASS"]``, kato_console.api.pagination).

    ``pagination_class`` is also what tells drf-spectacular to document the paged shape. (DRF's
    GenericAPIView would bring the same, but its OPTIONS answer needs a ``serializer_class``.)
    """

    # DRF imports the class named by the setting; older stubs type the settings as strings, newer ones
    # as the class (hence the ignore that may go unused).
    pagination_class: type[BasePagination] | None = api_settings.DEFAULT_PAGINATION_CLASS  # type: ignore[assignment, unused-ignore]
    _paginator: BasePagination

    def page_of(self, queryset: QuerySet[_M]) -> Sequence[_M]:
        """The requested page of ``queryset``, which must be in a fixed order (primary key last)."""
        paginator = self.pagination_class() if self.pagination_class else None
        page = paginator.paginate_queryset(queryset, self.request, view=self) if paginator else None
        if paginator is None or page is None:
            raise ImproperlyConfigured("The console API pages every list: set DEFAULT_PAGINATION_CLASS.")
        self._paginator = paginator
        return page

    def paged(self, data: Any) -> Response:
        """The answer for the page ``page_of`` gave, with ``data`` its serialized rows."""
        return self._paginator.get_paginated_response(data)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """The request's data through an input serializer; an invalid field is DRF's 400."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
