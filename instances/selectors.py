"""Reads about instances: statuses as a person sees them (DESIGN.md section 3)."""

from __future__ import annotations

from collections import Counter

from components.models import Component
from instances.models import Instance, Status, instance_status


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
