"""Reads, always scoped by the requesting user's teams (docs/architecture.md, "Layers")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TypeAlias

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, Exists, OuterRef, Q, QuerySet, Value, When
from django.http import Http404

from components.models import Application, Component, Dependency, EnvVar, Port
from components.validation import ENV_NAME_RE, SERVICE_ID_RE
from core.errors import ComponentError
from core.models import AUDIT_ACTIONS, ApiToken, AuditEvent, Membership, Role, Team

# Whoever asks: a signed-in user (or an API token's), or nobody, who sees nothing.
User: TypeAlias = AbstractBaseUser | AnonymousUser


def teams_for_user(user: User) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user_id=user.pk).order_by("name")


def api_tokens_for_user(user: User) -> QuerySet[ApiToken]:
    """The user's personal API tokens, newest first; none for nobody."""
    if not user.is_authenticated:
        return ApiToken.objects.none()
    return ApiToken.objects.filter(user_id=user.pk)


def membership_for(user: User, team: Team) -> Membership | None:
    if not user.is_authenticated:
        return None
    return Membership.objects.filter(user_id=user.pk, team=team).first()


def applications_for_navigation(user: User) -> QuerySet[Application]:
    """The side bar's applications: names and slugs only (no counts: it is on every page)."""
    applications = Application.objects.filter(team__in=teams_for_user(user))
    return applications.only("name", "slug", "team_id").order_by("name", "pk")


def applications_for_user(user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(team__in=teams_for_user(user))
        .select_related("team")
        .annotate(
            component_count=Count("components", distinct=True),
            third_party_count=Count("components", filter=Q(components__kind="third_party"), distinct=True),
        )
        .order_by("name", "team__name", "pk")
    )


def application_for_user(user: User, slug: str) -> Application:
    """The user's application with this slug; 404 when it belongs to no team of theirs."""
    application = applications_for_user(user).filter(slug=slug).first()
    if application is None:
        raise Http404("No such application.")
    return application


def components_for_user(user: User) -> QuerySet[Component]:
    """The user's components by name (the id breaks ties), with their ports but not their instances,
    which may be thousands: counts and statuses come from SQL (``instances.selectors.components_with_counts``)."""
    return (
        Component.objects.filter(team__in=teams_for_user(user))
        .select_related("application", "team", "health_check")
        .prefetch_related("ports")
        .order_by("name", "pk")
    )


def component_for_user(user: User, service_id: str) -> Component:
    """The user's component with this service id; 404 for any other team's."""
    component = components_for_user(user).filter(service_id=service_id).first()
    if component is None:
        raise Http404("No such component.")
    return component


def component_page_for_user(user: User, service_id: str) -> Component:
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


def component_fragment_for_user(user: User, service_id: str) -> tuple[Component, bool]:
    """The user's component for a fragment that shows one of its tables, and whether the user may
    change it (an owner or a developer of its team), in one query: with its health check, without
    its ports or instances; 404 for any other team's."""
    if not user.is_authenticated:
        raise Http404("No such component.")
    writes = Membership.objects.filter(
        user_id=user.pk, team=OuterRef("team_id"), role__in=[Role.OWNER, Role.DEVELOPER]
    )
    component = (
        Component.objects.filter(team__in=teams_for_user(user), service_id=service_id)
        .select_related("health_check")
        .annotate(user_can_write=Exists(writes))
        .first()
    )
    if component is None:
        raise Http404("No such component.")
    return component, bool(component.user_can_write)


def component_events(component: Component, *, action: str = "") -> QuerySet[AuditEvent]:
    """The component's audit trail, newest first (the audit_component_recent index), optionally one action."""
    events = (
        AuditEvent.objects.filter(component=component)
        .select_related("user", "component")
        .order_by("-created_at", "-id")
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


def team_to_create_in(user: User, slug: str) -> Team:
    """The team a new object goes into: the one named by ``slug``, or the user's only team.

    Raises ``ComponentError`` on the ``team`` field when the user is in no such team, in none, or in
    several and named none.
    """
    teams = list(teams_for_user(user))
    if slug:
        teams = [team for team in teams if team.slug == slug]
        if not teams:
            raise ComponentError({"team": [f"You are not a member of a team {slug!r}."]})
    if not teams:
        raise ComponentError({"team": ["You are not in a team yet; ask a team owner to add you."]})
    if len(teams) > 1:
        slugs = ", ".join(team.slug for team in teams)
        raise ComponentError({"team": [f"You belong to several teams; say which one: {slugs}."]})
    return teams[0]


def application_to_create_in(user: User, *, slug: str, team: str = "") -> Application:
    """The user's application a new component goes into, by slug (and team slug when several match).

    Raises ``ComponentError`` on the field the person has to change.
    """
    applications = applications_for_user(user).filter(slug=slug)
    if team:
        applications = applications.filter(team__slug=team)
    found = list(applications[:2])
    if not found:
        raise ComponentError({"application": [f"None of your teams has an application {slug!r}."]})
    if len(found) > 1:
        raise ComponentError({"team": [f"Several of your teams have an application {slug!r}; say which."]})
    return found[0]


def dependency_target_for_user(user: User, service_id: str) -> Component:
    """The user's component that another is to depend on; ``ComponentError`` on ``target`` otherwise."""
    target = (
        components_for_user(user).filter(service_id=service_id).first()
        if SERVICE_ID_RE.match(service_id)
        else None
    )
    if target is None:
        raise ComponentError({"target": [f"None of your components has the service id {service_id!r}."]})
    return target


def dependencies_with_targets(component: Component) -> QuerySet[Dependency]:
    """The component's dependencies with their targets, by the targets' service names."""
    return component.dependencies.select_related("target__application").order_by("target__service_name", "pk")


def dependency_on(component: Component, target: str) -> Dependency:
    """The component's dependency on the component with service id ``target``; 404 when there is none."""
    dependency = (
        component.dependencies.filter(target__service_id=target).select_related("target").first()
        if SERVICE_ID_RE.match(target)
        else None
    )
    if dependency is None:
        raise Http404(f"{component.name} does not depend on such a component.")
    return dependency


def number_in(text: str, low: int, high: int) -> int | None:
    """A path segment as a number in [low, high], or None for anything else (which finds nothing)."""
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        return None
    return int(text)


def component_ports(component: Component) -> QuerySet[Port]:
    """The component's ports by number (the id breaks ties), for the console API's list."""
    return component.ports.order_by("number", "pk")


def component_env_vars(component: Component) -> QuerySet[EnvVar]:
    """The component's variables by name (the id breaks ties), for the console API's list."""
    return component.env_vars.order_by("name", "pk")


def component_port(component: Component, number: str) -> Port:
    """The component's port with this number (as written in a path); 404 when there is none."""
    valid = number_in(number, 1, 65535)
    port = component.ports.filter(number=valid).first() if valid is not None else None
    if port is None:
        raise Http404("No such port.")
    return port


def component_env_var(component: Component, name: str) -> EnvVar:
    """The component's variable with this name; 404 when there is none (or the name cannot be one)."""
    valid = len(name) <= 128 and re.match(ENV_NAME_RE, name)
    var = component.env_vars.filter(name=name).first() if valid else None
    if var is None:
        raise Http404("No such variable.")
    return var


# The team page and the team's events


def membership_in_team(user: User, slug: str) -> Membership:
    """The user's membership of the team with this slug (with the team); 404 for a team they are not in."""
    membership = (
        Membership.objects.filter(user_id=user.pk, team__slug=slug).select_related("team").first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such team.")
    return membership


def team_members(team: Team) -> QuerySet[Membership]:
    """The team's members with their users: owners first, then by user name."""
    order = {Role.OWNER: 0, Role.DEVELOPER: 1, Role.VIEWER: 2}
    rank = Case(*(When(role=role, then=Value(n)) for role, n in order.items()), default=Value(3))
    return team.memberships.select_related("user").order_by(rank, "user__username")


def team_member(team: Team, user_id: int) -> Membership:
    membership = team.memberships.select_related("user", "team").filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


def team_events(team: Team, *, action: str = "") -> QuerySet[AuditEvent]:
    """The team's audit trail, newest first (the audit_team_recent index), optionally one action."""
    events = (
        AuditEvent.objects.filter(team=team)
        .select_related("user", "component")
        .order_by("-created_at", "-id")
    )
    return events.filter(action=action) if action else events


def transitive_dependents(component_ids: Iterable[int]) -> dict[int, dict[int, int]]:
    """For each component, every component that depends on it, directly (distance 1) or through
    others (2, 3, …), by id; one query over the dependency edges of the components' teams (a
    dependency never leaves its team). Not scoped by a user: callers pass components they may see."""
    wanted = set(component_ids)
    if not wanted:
        return {}
    teams = Component.objects.filter(pk__in=wanted).values("team_id")
    dependents_of: dict[int, list[int]] = {}
    for source, target in Dependency.objects.filter(component__team_id__in=teams).values_list(
        "component_id", "target_id"
    ):
        dependents_of.setdefault(target, []).append(source)
    found: dict[int, dict[int, int]] = {}
    for start in wanted:
        distances: dict[int, int] = {}
        frontier, distance = [start], 0
        while frontier:
            distance += 1
            following = []
            for node in frontier:
                for dependent in dependents_of.get(node, ()):
                    if dependent not in distances and dependent != start:
                        distances[dependent] = distance
                        following.append(dependent)
            frontier = following
        found[start] = distances
    return found
