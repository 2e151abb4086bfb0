"""Reads, always scoped by the requesting user's teams (DESIGN.md section 2)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from components.models import Application, Component, Membership, Team
from kato_console.core.models import AUDIT_ACTIONS, AuditEvent


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
    return (
        Component.objects.filter(team__in=teams_for_user(user))
        .select_related("application", "team", "health_check")
        .prefetch_related(
            "ports",
            "instances",  # in the instances' own order: host, port, id
        )
        .order_by("name")
    )


def component_for_user(user: Any, service_id: str) -> Component:
    """The user's component with this service id; 404 for any other team's."""
    component = components_for_user(user).filter(service_id=service_id).first()
    if component is None:
        raise Http404("No such component.")
    return component


def component_page_for_user(user: Any, service_id: str) -> Component:
    """The user's component for its pages: with its ports and health check but without its instances,
    which may be thousands (the pages count and page them in SQL); 404 for any other team's."""
    component = (
        Component.objects.filter(team__in=teams_for_user(user), service_id=service_id)
        .select_related("application", "team", "health_check")
        .prefetch_related("ports")
        .first()
    )
    if component is None:
        raise Http404("No such component.")
    return component


def component_events(component: Component, *, action: str = "") -> QuerySet[AuditEvent]:
    """The component's audit trail, newest first (the audit_component_recent index), optionally one action."""
    events = (
        AuditEvent.objects.filter(component=component).select_related("user").order_by("-created_at", "-id")
    )
    return events.filter(action=action) if action else events


def component_event_actions(component: Component) -> list[str]:
    """The actions the events page's filter offers: every known one, not a SELECT DISTINCT over
    the component's events (a busy component has hundreds of thousands)."""
    return list(AUDIT_ACTIONS)


def dependency_choices(component: Component) -> QuerySet[Component]:
    """The components ``component`` could depend on: its team's, not itself, not already a target."""
    return (
        Component.objects.filter(team_id=component.team_id)
        .exclude(pk=component.pk)
        .exclude(dependents__component=component)
        .select_related("application")
        .order_by("name", "pk")
    )


def dependencies_of(component: Component) -> QuerySet[Component]:
    """The components ``component`` depends on, with their ports."""
    return (
        Component.objects.filter(dependents__component=component)
        .select_related("application")
        .prefetch_related("ports")
        .order_by("name", "pk")
    )


def dependents_of(component: Component) -> QuerySet[Component]:
    """The components that depend on ``component``."""
    return Component.objects.filter(dependencies__target=component).order_by("name", "pk")
