"""Reads about instances: statuses as a person sees them (DESIGN.md section 3)."""

from __future__ import annotations

from collections import Counter

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from components.models import Component
from instances.models import Health, Instance, Status, instance_status


class ComponentStatus:
    HEALTHY = "Healthy"
    PARTIAL = "Partial"
    UNHEALTHY = "Unhealthy"
    UNKNOWN = "Unknown"
    OFFLINE = "Offline"


def _check_enabled(component: Component) -> bool:
    check = getattr(component, "health_check", None)
    return bool(check and check.enabled)


def instance_statuses(component: Component) -> list[tuple[Instance, str]]:
    """Every instance with its status; uses the prefetched instances when there are some."""
    enabled = _check_enabled(component)
    return [(instance, instance_status(instance, enabled)) for instance in component.instances.all()]


def component_status(component: Component) -> str:
    statuses = [status for _, status in instance_statuses(component)]
    online = [s for s in statuses if s != Status.OFFLINE]
    if not online:
        return ComponentStatus.OFFLINE
    counts = Counter(online)
    if counts[Status.UNKNOWN] == len(online):
        return ComponentStatus.UNKNOWN
    if counts[Status.HEALTHY] == len(online):
        return ComponentStatus.HEALTHY
    routed = counts[Status.HEALTHY] + counts[Status.UNKNOWN]
    if routed == 0:
        return ComponentStatus.UNHEALTHY
    return ComponentStatus.PARTIAL


def routed_count(component: Component) -> int:
    return sum(1 for _, status in instance_statuses(component) if status in (Status.HEALTHY, Status.UNKNOWN))


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
        return ComponentStatus.OFFLINE
    if counts[Status.UNKNOWN] == online:
        return ComponentStatus.UNKNOWN
    if counts[Status.HEALTHY] == online:
        return ComponentStatus.HEALTHY
    if counts[Status.HEALTHY] + counts[Status.UNKNOWN] == 0:
        return ComponentStatus.UNHEALTHY
    return ComponentStatus.PARTIAL


def instance_page(component: Component, page: object) -> Page:
    """One page of the component's instances, in address order (the id breaks ties); a page number
    out of range gives the last page. Each instance knows its component, so its status costs nothing."""
    instances = component.instances.order_by("host", "port", "id")
    return Paginator(instances, INSTANCES_PER_PAGE).get_page(page)
