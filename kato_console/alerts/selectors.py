"""Reads of the alerts app, scoped to the requesting user's teams."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery
from django.http import Http404

from components.models import Component
from core.models import Membership, Team
from kato_console.alerts.models import Delivery, NotificationChannel

RECENT_DELIVERIES = 10


def membership_in_team(user: Any, slug: str) -> Membership:
    """The user's membership of the team with this slug (with the team); 404 for a team they are not in."""
    membership = (
        Membership.objects.filter(user=user, team__slug=slug).select_related("team").first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such team.")
    return membership


def channels_of(team: Team) -> QuerySet[NotificationChannel]:
    """The team's channels, each with its chosen components and its last delivery's status and time."""
    last = Delivery.objects.filter(channel=OuterRef("pk")).order_by("-created_at", "-id")
    return (
        NotificationChannel.objects.filter(team=team)
        .annotate(
            last_status=Subquery(last.values("status")[:1]),
            last_delivery_at=Subquery(last.values("created_at")[:1]),
        )
        .prefetch_related(
            Prefetch("components", queryset=Component.objects.only("id", "name").order_by("name"))
        )
        .order_by("name", "id")
    )


def channel_of(team: Team, pk: int) -> NotificationChannel:
    channel = channels_of(team).filter(pk=pk).first()
    if channel is None:
        raise Http404("No such channel.")
    return channel


def recent_deliveries(channel: NotificationChannel, limit: int = RECENT_DELIVERIES) -> list[Delivery]:
    return list(channel.deliveries.order_by("-created_at", "-id")[:limit])
