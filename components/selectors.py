"""Reads, always scoped by the requesting user's teams (DESIGN.md section 2)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from components.models import Application, AuditEvent, Component, Membership, Team


def teams_for_user(user: Any) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user).order_by("name")


def membership_for(user: Any, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user=user, team=team).first()


def applications_for_user(user: Any) -> QuerySet[Application]:
    return (
        Application.objects.filter(team__in=teams_for_user(user))
        .select_related("team")
        .annotate(
            component_count=Count("components", distinct=True),
            third_party_count=Count("components", filter=Q(components__kind="third_party"), distinct=True),
        )
        .order_by("name", "team__name")
    )


def application_for_user(user: Any, slug: str) -> Application:
    """The user's application with this slug; 404 when it belongs to no team of theirs."""
    application = applications_for_user(user).filter(slug=slug).first()
    if application is None:
        raise Http404("No such application.")
    return application


def components_for_user(user: Any) -> QuerySet[Component]:
    from instances.models import Instance

    return (
        Component.objects.filter(team__in=teams_for_user(user))
        .select_related("application", "team", "health_check")
        .prefetch_related(
            "ports", Prefetch("instances", queryset=Instance.objects.order_by("host", "port", "id"))
        )
        .order_by("name")
    )


def component_for_user(user: Any, service_id: str) -> Component:
    """The user's component with this service id; 404 for any other team's."""
    component = components_for_user(user).filter(service_id=service_id).first()
    if component is None:
        raise Http404("No such component.")
    return component


def events_for_component(component: Component, *, limit: int = 100) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(component=component).select_related("user")[:limit]
