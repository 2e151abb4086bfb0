"""Who may change what: every member reads, owners and developers write (docs/architecture.md, "The domain")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from components import selectors
from core.models import Team

VIEWER_MESSAGE = _(
    "Viewers can read but not change anything; ask an owner of the team for the developer role."
)


def can_write(request: Request, team: Team) -> bool:
    """True for owners and developers of ``team``; the membership is looked up once per request."""
    cache: dict[int, bool] = request.__dict__.setdefault("_kato_can_write", {})
    if team.pk not in cache:
        membership = selectors.membership_for(request.user, team)
        cache[team.pk] = bool(membership and membership.can_write)
    return cache[team.pk]


class TeamRolePermission(BasePermission):
    """Object permission on a Team: reading is for members (the selectors see to it), writing for writers."""

    message = VIEWER_MESSAGE

    def has_object_permission(self, request: Request, view: Any, obj: Team) -> bool:
        return request.method in SAFE_METHODS or can_write(request, obj)
