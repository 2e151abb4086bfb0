"""Maintenance windows and paused checks (docs/monitoring.md, "Maintenance and pause").

During a window of a component (or of its application) the sweep goes on and records every health
transition, but no alert is sent; the component's status reads "Maintenance"; and, when the window
asks for it, the component's online instances are taken out of routing when it starts (offline,
through ``instance_set_online``) and put back when it ends. ``tick`` (a beat task, every minute)
starts and ends the windows. A paused check probes nothing until it is resumed.

Every change goes through the services here, audited, whichever door it comes from.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from components.models import Application, Component
from core.audit import SYSTEM, Actor, audit_record
from core.errors import ComponentError, validated_save
from instances.models import HealthCheck, Instance, MaintenanceWindow, Recurrence, StatusPage
from instances.selectors import ComponentStatus
from instances.services import instance_set_online

MAINTENANCE = ComponentStatus.MAINTENANCE


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def windows_in_effect(
    component_ids: Iterable[int], *, now: datetime | None = None
) -> dict[int, MaintenanceWindow]:
    """The window each of these components is in now (its own or its application's), by component
    id; two queries."""
    now = now or timezone.now()
    applications = dict(
        Component.objects.filter(pk__in=list(component_ids)).values_list("pk", "application_id")
    )
    if not applications:
        return {}
    candidates = MaintenanceWindow.objects.filter(
        Q(component_id__in=applications) | Q(application_id__in=set(applications.values())),
        starts_at__lte=now,
    ).filter(Q(recurrence=Recurrence.WEEKLY) | Q(ends_at__gt=now))
    found: dict[int, MaintenanceWindow] = {}
    for window in candidates:
        if not window.is_active(now):
            continue
        for component_id, application_id in applications.items():
            if window.component_id == component_id or window.application_id == application_id:
                found.setdefault(component_id, window)
    return found


def in_maintenance(component: Component, *, now: datetime | None = None) -> bool:
    """Whether the component is in one of its windows or its application's now; one query."""
    now = now or timezone.now()
    candidates = MaintenanceWindow.objects.filter(
        Q(component_id=component.pk) | Q(application_id=component.application_id), starts_at__lte=now
    ).filter(Q(recurrence=Recurrence.WEEKLY) | Q(ends_at__gt=now))
    return any(window.is_active(now) for window in candidates)


def mark_maintenance(components: Iterable[Component], *, now: datetime | None = None) -> None:
    """Set ``status`` to "Maintenance" on the components in a window now (they carry ``status``
    from ``components_with_counts``), and ``maintenance`` (the window, or None) on each."""
    components = list(components)
    windows = _windows_of_loaded(components, now or timezone.now())
    for component in components:
        window = windows.get(component.pk)
        component.maintenance = window  # type: ignore[attr-defined]
        if window is not None:
            component.status = MAINTENANCE  # type: ignore[attr-defined]


def _windows_of_loaded(components: list[Component], now: datetime) -> dict[int, MaintenanceWindow]:
    """``windows_in_effect`` for components already loaded (their application known): one query."""
    if not components:
        return {}
    candidates = MaintenanceWindow.objects.filter(
        Q(component_id__in=[c.pk for c in components])
        | Q(application_id__in={c.application_id for c in components}),
        starts_at__lte=now,
    ).filter(Q(recurrence=Recurrence.WEEKLY) | Q(ends_at__gt=now))
    found: dict[int, MaintenanceWindow] = {}
    for window in candidates:
        if window.is_active(now):
            for component in components:
                if window.component_id == component.pk or window.application_id == component.application_id:
                    found.setdefault(component.pk, window)
    return found


def windows_of(component: Component) -> list[MaintenanceWindow]:
    """The component's windows and its application's, the next or current first."""
    return list(windows_query(component))


def windows_query(component: Component) -> QuerySet[MaintenanceWindow]:
    """``windows_of`` as a query, for a paged list or one window by id."""
    return (
        MaintenanceWindow.objects.filter(Q(component=component) | Q(application_id=component.application_id))
        .select_related("component", "application")
        .order_by("starts_at", "pk")
    )


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


@transaction.atomic
def maintenance_window_create(
    *,
    actor: Actor,
    reason: str,
    starts_at: datetime,
    ends_at: datetime,
    component: Component | None = None,
    application: Application | None = None,
    recurrence: str = Recurrence.ONCE,
    out_of_routing: bool = False,
) -> MaintenanceWindow:
    """A window for one component or one application (of the same team); audited."""
    if (component is None) == (application is None):
        raise ComponentError(gettext("A window is for one component or one application."))
    subject: Any = component or application
    window = MaintenanceWindow(
        team_id=subject.team_id,
        component=component,
        application=application,
        reason=reason.strip(),
        recurrence=recurrence,
        starts_at=starts_at,
        ends_at=ends_at,
        out_of_routing=out_of_routing,
    )
    validated_save(window)
    audit_record(
        actor=actor,
        action="maintenance.create",
        team=window.team,
        component=component,
        detail=_detail(window),
    )
    return window


@transaction.atomic
def maintenance_window_delete(*, window: MaintenanceWindow, actor: Actor) -> None:
    """Delete the window; one under way ends first (its instances put back)."""
    if window.active:
        _end(window, actor)
    detail = _detail(window)
    window.delete()
    audit_record(
        actor=actor, action="maintenance.delete", team=window.team, component=window.component, detail=detail
    )


@transaction.atomic
def health_check_pause(*, component: Component, paused: bool, actor: Actor) -> HealthCheck:
    """Pause the check (nothing is probed, the instances keep their last health) or resume it (every
    online instance is due at once); audited. Asking for the state it has changes nothing."""
    check, _ = HealthCheck.objects.select_for_update().get_or_create(component=component)
    if check.paused == paused:
        return check
    check.paused = paused
    check.save(update_fields=["paused"])
    if not paused:
        Instance.objects.filter(component=component, is_online=True).update(next_probe_at=timezone.now())
    audit_record(
        actor=actor, action="health_check.pause" if paused else "health_check.resume", component=component
    )
    return check


def _detail(window: MaintenanceWindow) -> dict[str, Any]:
    return {
        "reason": window.reason,
        "application": window.application.name if window.application else None,
        "recurrence": window.recurrence,
        "starts_at": window.starts_at.isoformat(),
        "ends_at": window.ends_at.isoformat(),
        "out_of_routing": window.out_of_routing,
    }


# --------------------------------------------------------------------------------------------
# Starting and ending (the beat task)
# --------------------------------------------------------------------------------------------


def tick(*, now: datetime | None = None) -> tuple[int, int]:
    """Start the windows that began and end those that ended; returns (started, ended)."""
    now = now or timezone.now()
    started = ended = 0
    candidates = MaintenanceWindow.objects.filter(
        Q(active=True) | Q(starts_at__lte=now) & (Q(recurrence=Recurrence.WEEKLY) | Q(ends_at__gt=now))
    ).values_list("pk", flat=True)
    for pk in candidates:
        with transaction.atomic():
            window = MaintenanceWindow.objects.select_for_update().filter(pk=pk).first()
            if window is None:
                continue
            if window.is_active(now) and not window.active:
                _start(window)
                started += 1
            elif window.active and not window.is_active(now):
                _end(window, SYSTEM)
                ended += 1
    return started, ended


def _subject_instances(window: MaintenanceWindow) -> Any:
    if window.component_id is not None:
        return Instance.objects.filter(component_id=window.component_id)
    return Instance.objects.filter(component__application_id=window.application_id or 0)


def _start(window: MaintenanceWindow) -> None:
    held = []
    if window.out_of_routing:
        for instance in _subject_instances(window).filter(is_online=True).select_related("component"):
            instance_set_online(instance=instance, is_online=False, actor=SYSTEM)
            held.append(instance.pk)
    window.active = True
    window.held_instance_ids = held
    window.save(update_fields=["active", "held_instance_ids"])
    audit_record(
        actor=SYSTEM,
        action="maintenance.start",
        team=window.team,
        component=window.component,
        detail={**_detail(window), "taken_out_of_routing": len(held)},
    )


def _end(window: MaintenanceWindow, actor: Actor) -> None:
    back = 0
    for instance in Instance.objects.filter(pk__in=window.held_instance_ids, is_online=False).select_related(
        "component"
    ):
        instance_set_online(instance=instance, is_online=True, actor=actor)
        back += 1
    window.active = False
    window.held_instance_ids = []
    window.save(update_fields=["active", "held_instance_ids"])
    audit_record(
        actor=actor,
        action="maintenance.end",
        team=window.team,
        component=window.component,
        detail={**_detail(window), "put_back_in_routing": back},
    )


# --------------------------------------------------------------------------------------------
# Status pages
# --------------------------------------------------------------------------------------------


@transaction.atomic
def status_page_publish(*, application: Application, actor: Actor) -> StatusPage:
    """Publish the application's status page (a new unguessable address); audited. Publishing a
    published page changes nothing."""
    page, created = StatusPage.objects.get_or_create(application=application)
    if created:
        audit_record(
            actor=actor,
            action="status_page.publish",
            team=application.team,
            detail={"application": application.name},
        )
    return page


@transaction.atomic
def status_page_unpublish(*, application: Application, actor: Actor) -> None:
    """Take the status page down: its address answers 404 from now on, its badges too; audited."""
    deleted, _ = StatusPage.objects.filter(application=application).delete()
    if deleted:
        audit_record(
            actor=actor,
            action="status_page.unpublish",
            team=application.team,
            detail={"application": application.name},
        )


def status_page_by_token(token: str) -> StatusPage | None:
    """The published page at this address, with its application; None for any other token."""
    if not token or len(token) > 64:
        return None
    return StatusPage.objects.select_related("application").filter(token=token).first()
