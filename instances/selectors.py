"""Reads about instances: statuses as a person sees them (docs/architecture.md, "The domain")."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import JSONObject
from django.http import Http404
from django.utils import timezone

from components import gateway
from components.models import Application, Component, Dependency, Port
from components.selectors import User, components_for_user, number_in, teams_for_user, transitive_dependents
from core.models import Role, Team
from instances import sql
from instances.addresses import Address
from instances.models import (
    Health,
    HealthCheck,
    Instance,
    ResolvedAddress,
    Status,
    instance_status,
)

# The largest id a PostgreSQL bigint holds: a longer number in a path finds nothing.
_MAX_ID = 2**63 - 1


class ComponentStatus:
    """A component's status as every page, the topology and the console API show it.

    "No instances" is neutral, not an alarm: an internal component (it has no instances in the
    standalone console) or a third-party one whose addresses have not been registered yet.
    "Offline" means instances exist and every one of them was taken offline. "Not ready": every
    online instance is still waiting for its first passing checks (none has failed them), as right
    after it was registered; "Unhealthy" is kept for a component whose checks fail.
    """

    HEALTHY = "Healthy"
    PARTIAL = "Partial"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"
    OFFLINE = "Offline"
    NO_INSTANCES = "No instances"
    NOT_READY = "Not ready"
    # During a maintenance window of the component or its application (``instances.maintenance``).
    MAINTENANCE = "Maintenance"


def _check_enabled(component: Component) -> bool:
    check = getattr(component, "health_check", None)
    return bool(check and check.enabled)


def instance_statuses(component: Component) -> list[tuple[Instance, str]]:
    """Every instance with its status; uses the prefetched instances when there are some."""
    enabled = _check_enabled(component)
    return [(instance, instance_status(instance, enabled)) for instance in component.instances.all()]


def component_status(component: Component) -> str:
    statuses = [status for _, status in instance_statuses(component)]
    if not statuses:
        return ComponentStatus.NO_INSTANCES
    online = [s for s in statuses if s != Status.OFFLINE]
    if not online:
        return ComponentStatus.OFFLINE
    counts = Counter(online)
    if counts[Status.UNKNOWN] == len(online):
        return ComponentStatus.UNKNOWN
    if counts[Status.HEALTHY] == len(online):
        return ComponentStatus.HEALTHY
    if counts[Status.NOTREADY] == len(online):
        return ComponentStatus.NOT_READY
    routed = counts[Status.HEALTHY] + counts[Status.UNKNOWN]
    if routed == 0:
        return ComponentStatus.UNHEALTHY
    return ComponentStatus.PARTIAL


# The component pages: counts per status and one page of the instance table


INSTANCES_PER_PAGE = 50


def instance_status_counts(component: Component) -> dict[str, int]:
    """How many instances of the component are in each status, counted by the database in one query."""
    online = Q(is_online=True)
    if _check_enabled(component):
        counts = {
            Status.HEALTHY: Count("pk", filter=online & Q(health=Health.HEALTHY)),
            Status.UNHEALTHY: Count("pk", filter=online & Q(health=Health.UNHEALTHY)),
            Status.NOTREADY: Count("pk", filter=online & Q(health=Health.UNKNOWN)),
        }
    else:
        counts = {Status.UNKNOWN: Count("pk", filter=online)}
    counts[Status.OFFLINE] = Count("pk", filter=Q(is_online=False))
    found = Instance.objects.filter(component=component).aggregate(**counts)
    return {status: found.get(status, 0) for status in Status.values}


def status_from_counts(counts: dict[str, int]) -> str:
    """A component's status (as ``component_status``) from ``instance_status_counts``."""
    online = sum(n for status, n in counts.items() if status != Status.OFFLINE)
    if not online:
        return ComponentStatus.OFFLINE if counts[Status.OFFLINE] else ComponentStatus.NO_INSTANCES
    if counts[Status.UNKNOWN] == online:
        return ComponentStatus.UNKNOWN
    if counts[Status.HEALTHY] == online:
        return ComponentStatus.HEALTHY
    if counts[Status.NOTREADY] == online:
        return ComponentStatus.NOT_READY
    if counts[Status.HEALTHY] + counts[Status.UNKNOWN] == 0:
        return ComponentStatus.UNHEALTHY
    return ComponentStatus.PARTIAL


def instance_page(
    component: Component, page: int | str | None, *, total: int | None = None
) -> Page[Instance]:
    """One page of the component's instances, in address order (the id breaks ties); a page number
    out of range gives the last page. Each instance knows its component, so its status costs nothing.
    ``total``, when the caller has counted the instances already, spares the paginator's own count.
    A DNS-name instance carries ``resolved``: what its name resolved to at its last check, each address
    with its own health (in the same query: an IP address's list is empty)."""
    instances: QuerySet[Instance] = component.instances.annotate(resolved=_resolved_addresses())
    paginator = Paginator(instances.order_by("host", "port", "id"), INSTANCES_PER_PAGE)
    if total is not None:
        paginator.count = total  # A cached property: set, it is never queried.
    return paginator.get_page(page)


def _resolved_addresses() -> ArraySubquery:
    addresses = ResolvedAddress.objects.filter(instance_id=OuterRef("pk"), name=OuterRef("host"))
    return ArraySubquery(
        addresses.order_by("ip").values(
            json=JSONObject(ip="ip", health="health", stage="last_stage", error="last_error")
        )
    )


# Applications: counts and statuses from SQL aggregates (the application page and its topology)

TOPOLOGY_LIMIT = 100


def components_with_counts(queryset: QuerySet[Component]) -> QuerySet[Component]:
    """Annotate each component with its instance counts and its status, in one query.

    ``instance_total``, ``instance_online``, ``instance_healthy``, ``instance_routed`` and
    ``status`` (a ``ComponentStatus`` word) follow ``component_status`` exactly, without loading
    a single instance: the application page stays at a fixed number of queries however many
    instances there are.
    """
    online = Q(instances__is_online=True)
    check_off = Q(health_check__enabled=False) | Q(health_check__isnull=True)
    counted = queryset.prefetch_related(None).annotate(
        instance_total=Count("instances"),
        instance_online=Count("instances", filter=online),
        instance_healthy=Count("instances", filter=online & Q(instances__health=Health.HEALTHY)),
        instance_unhealthy=Count("instances", filter=online & Q(instances__health=Health.UNHEALTHY)),
    )
    return counted.annotate(
        instance_routed=Case(When(check_off, then=F("instance_online")), default=F("instance_healthy")),
        status=Case(
            When(instance_total=0, then=Value(ComponentStatus.NO_INSTANCES)),
            When(instance_online=0, then=Value(ComponentStatus.OFFLINE)),
            When(check_off, then=Value(ComponentStatus.UNKNOWN)),
            When(instance_healthy=F("instance_online"), then=Value(ComponentStatus.HEALTHY)),
            When(instance_healthy=0, instance_unhealthy=0, then=Value(ComponentStatus.NOT_READY)),
            When(instance_healthy=0, then=Value(ComponentStatus.UNHEALTHY)),
            default=Value(ComponentStatus.PARTIAL),
            output_field=CharField(),
        ),
    )


def components_with_counts_for_user(user: User) -> QuerySet[Component]:
    """The user's components (``components_for_user``: by name, with their ports) annotated as
    ``components_with_counts`` does: a page of them costs the same queries however many instances."""
    return components_with_counts(components_for_user(user)).prefetch_related("ports")


def component_with_counts_for_user(user: User, service_id: str) -> Component:
    """The user's component with this service id, counted as ``components_with_counts_for_user``; 404
    for any other team's."""
    component = components_with_counts_for_user(user).filter(service_id=service_id).first()
    if component is None:
        raise Http404("No such component.")
    return component


def with_instances(component: Component) -> Component:
    """``component`` with its instances loaded once, in address order: the generated ``A_HOST`` /
    ``A_PORT`` of its connection information name the best routed one (``instances.environment``)."""
    prefetch_related_objects([component], Prefetch("instances", queryset=component_instances(component)))
    return component


def component_instances(component: Component) -> QuerySet[Instance]:
    """The component's instances in address order, the id breaking ties."""
    return component.instances.order_by("host", "port", "id")


def component_instances_with_addresses(component: Component) -> QuerySet[Instance]:
    """``component_instances``, each carrying ``resolved`` (``resolved_addresses``) from the same
    query: the console API's list."""
    return component_instances(component).annotate(resolved=_resolved_addresses())


def resolved_addresses(instance: Instance) -> list[dict[str, Any]]:
    """What a DNS-name instance's name resolved to at its last check, routed or not: each address with
    its health, whether the gateway routes it now, and its last error; empty for an IP address.

    An address is routed while the instance is online and, with the check on, both the instance and
    the address pass (``kato_console.gateway.snapshot``); with the check off the gateway routes every
    address the name resolves to when it reads it.
    """
    rows = getattr(instance, "resolved", None)
    if rows is None:
        rows = list(
            ResolvedAddress.objects.filter(instance=instance, name=instance.host)
            .order_by("ip")
            .annotate(json=JSONObject(ip="ip", health="health", stage="last_stage", error="last_error"))
            .values_list("json", flat=True)
        )
    checked = instance.health_check_enabled
    instance_passes = instance.is_online and (not checked or instance.health == Health.HEALTHY)
    return [
        {
            "ip": row["ip"],
            "health": row["health"],
            "routed": instance_passes and (not checked or row["health"] == Health.HEALTHY),
            "error": row["error"],
        }
        for row in rows
    ]


@dataclass(frozen=True)
class TopologyNode:
    name: str
    service_id: str
    status: str
    # Published through the gateway: a port's external service is on and routing is on.
    exposed: bool = False
    # Set for a component of another application that one of this application's depends on.
    application: str = ""


@dataclass(frozen=True)
class Topology:
    nodes: dict[int, TopologyNode]
    edges: list[tuple[int, int]]  # (dependent id, target id)
    too_many: bool = False


def application_topology(application: Application) -> Topology:
    """Who depends on whom in an application, with every component's status: two queries (a third
    when it depends on components of other applications).

    Past ``TOPOLOGY_LIMIT`` components a picture is no longer readable, and none is drawn.
    """
    components = components_with_counts(
        Component.objects.filter(application=application).order_by("name", "pk")
    ).annotate(exposed=Exists(Port.objects.filter(component=OuterRef("pk"), outer_service=True)))
    rows = components.values_list("pk", "name", "service_id", "status", "exposed")[: TOPOLOGY_LIMIT + 1]
    routing = gateway.routing_on()
    nodes = {
        pk: TopologyNode(name, service_id, status, exposed=exposed and routing)
        for pk, name, service_id, status, exposed in rows
    }
    if len(nodes) > TOPOLOGY_LIMIT:
        return Topology(nodes={}, edges=[], too_many=True)
    edges = list(
        Dependency.objects.filter(component__application=application).values_list("component_id", "target_id")
    )
    # What this application's components depend on in other applications is drawn too, marked
    # with its application (its dependents there belong to that application's picture).
    elsewhere = {target for _, target in edges if target not in nodes}
    if elsewhere:
        others = components_with_counts(
            Component.objects.filter(pk__in=elsewhere).order_by("name", "pk")
        ).annotate(application_name=F("application__name"))
        for pk, name, service_id, status, app_name in others.values_list(
            "pk", "name", "service_id", "status", "application_name"
        ):
            nodes[pk] = TopologyNode(name, service_id, status, application=app_name)
    return Topology(nodes=nodes, edges=edges)


def writable_teams_for_user(user: User) -> QuerySet[Team]:
    """The teams in which the user may create and change things (owners and developers)."""
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(
        memberships__user_id=user.pk, memberships__role__in=[Role.OWNER, Role.DEVELOPER]
    ).order_by("name", "pk")


def writable_applications_for_user(user: User) -> QuerySet[Application]:
    return (
        Application.objects.filter(team__in=writable_teams_for_user(user))
        .select_related("team")
        .order_by("name", "team__name", "pk")
    )


def component_instance(component: Component, instance_id: str) -> Instance:
    """The component's instance with this id (as written in a path); 404 when there is none."""
    pk = number_in(instance_id, 1, _MAX_ID)
    found = component.instances.annotate(resolved=_resolved_addresses())
    instance = found.filter(pk=pk).first() if pk is not None else None
    if instance is None:
        raise Http404("No such instance.")
    return instance


def health_check_of(component: Component) -> HealthCheck:
    """The component's health check, or an unsaved one with the defaults when it has none yet."""
    return getattr(component, "health_check", None) or HealthCheck(component=component)


def addresses_with_credentials_withheld(check: HealthCheck) -> list[str]:
    """The addresses a credentialed check probes greeting-only (nobody in the team vouched for them)."""
    return [instance.address for instance in check.component.instances.all() if instance.credentials_withheld]


# The instance API


@dataclass(frozen=True)
class KatoLookup:
    """What the instance API knows of a request before it authenticates it: the component, the
    requesting client's wrong secret keys in their current window, and the instance at the
    request's address (id, is_online, scheme), if any."""

    component: Component
    failures: int | None
    window_ends_at: datetime | None
    instance: tuple[int, bool, str] | None


def kato_lookup(*, service_id: str, client: str, address: Address | None) -> KatoLookup | None:
    """The component with this service id, the client's wrong secrets and the instance at
    ``address``, in one read; None when there is no such component.

    A statement written by hand (``instances.sql.lookup_sql``, with the measured reason beside it).
    It only reads: every write, its rules and audit event are the services'.
    """
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.lookup_sql(),
            [client, now, address.host if address else None, address.port if address else None, service_id],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    *component, failures, window_ends_at, instance_id, is_online, scheme = row
    return KatoLookup(
        Component.from_db(connection.alias, sql.component_fields(), component),
        failures,
        window_ends_at,
        (instance_id, is_online, scheme) if instance_id is not None else None,
    )


# What is down now, across the user's applications


@dataclass
class Affected:
    """A component that depends on a down one, directly or through ``distance - 1`` others."""

    component: Component
    distance: int


@dataclass
class Down:
    """A component with unhealthy instances: its status (Unhealthy or Partial), those instances
    (longest down first), since when the first of them is down, and what depends on it."""

    component: Component
    status: str
    instances: list[Instance]
    since: datetime | None
    dependents: list[Affected]


DOWN_NOW_LIMIT = 50


def down_now_for_user(user: User, *, limit: int = DOWN_NOW_LIMIT) -> tuple[list[Down], int]:
    """The user's components that have online instances failing their health check, the longest
    down first, at most ``limit`` of them, and how many there are in all; four queries however
    many components are up."""
    failing = list(
        Instance.objects.filter(
            component__team__in=teams_for_user(user),
            is_online=True,
            health=Health.UNHEALTHY,
            component__health_check__enabled=True,
        )
        .only(
            "id",
            "component_id",
            "host",
            "port",
            "scheme",
            "health",
            "health_since",
            "last_stage",
            "last_error",
        )
        .order_by("health_since", "id")
    )
    if not failing:
        return [], 0
    every: dict[int, list[Instance]] = {}
    for instance in failing:  # in the order they went down: the longest down component first
        every.setdefault(instance.component_id, []).append(instance)
    by_component = dict(list(every.items())[:limit])
    components = {
        component.pk: component
        for component in components_with_counts(
            Component.objects.filter(pk__in=by_component).select_related(
                "application", "team", "health_check"
            )
        )
    }
    closure = transitive_dependents(by_component)
    names = Component.objects.filter(
        pk__in={pk for found in closure.values() for pk in found}
    ).select_related("application")
    dependents = {component.pk: component for component in names}
    rows = []
    for pk, instances in by_component.items():
        component = components[pk]
        for instance in instances:
            instance.component = component
        affected = sorted(
            (Affected(dependents[other], distance) for other, distance in closure.get(pk, {}).items()),
            key=lambda item: (item.distance, item.component.name, item.component.pk),
        )
        status = component.status  # type: ignore[attr-defined]  # annotated by components_with_counts
        rows.append(Down(component, status, instances, instances[0].health_since, affected))
    rows.sort(key=lambda row: (row.since is None, row.since or timezone.now(), row.component.name))
    return rows, len(every)
