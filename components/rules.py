"""Invariants that span several rows, checked before a write (the database re-checks them on PostgreSQL)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from components.models import Component, ComponentKind, Dependency


def check_dependency(dependency: Dependency) -> None:
    """Refuse self-dependencies, dependencies of third-party components, duplicates and cycles."""
    component, target = dependency.component, dependency.target
    if component.pk == target.pk:
        raise ValidationError(gettext("A component cannot depend on itself."))
    if component.kind == ComponentKind.THIRD_PARTY:
        raise ValidationError(
            gettext(
                "%(component)s is a third-party component: it runs outside the platform and cannot depend on other components. Make the component that uses it depend on it instead."
            )
            % {"component": component.name}
        )
    if component.team_id != target.team_id:
        raise ValidationError(gettext("A component can only depend on components of its own team."))
    if Dependency.objects.filter(component=component, target=target).exclude(pk=dependency.pk).exists():
        raise ValidationError(
            gettext("%(component)s already depends on %(target)s.")
            % {"component": component.name, "target": target.name}
        )
    path = dependency_path(start=target.pk, goal=component.pk)
    if path is not None:
        names = " → ".join([component.name, *path])
        raise ValidationError(gettext("This dependency would make a cycle: %(names)s.") % {"names": names})


def dependency_path(*, start: int, goal: int) -> list[str] | None:
    """Names along a dependency path from ``start`` to ``goal``, or None when there is none.

    Walks the graph one level per query, so the cost is the depth of the graph, not its size.
    """
    parents: dict[int, int | None] = {start: None}
    frontier = {start}
    while frontier:
        if goal in frontier:
            break
        edges = Dependency.objects.filter(component_id__in=frontier).values_list("component_id", "target_id")
        frontier = set()
        for source, target in edges:
            if target not in parents:
                parents[target] = source
                frontier.add(target)
    if goal not in parents:
        return None
    chain = [goal]
    while (parent := parents[chain[-1]]) is not None:
        chain.append(parent)
    chain.reverse()
    names = dict(Component.objects.filter(pk__in=chain).values_list("pk", "name"))
    return [names[pk] for pk in chain]
