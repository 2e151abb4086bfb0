"""The console's pages for components (the applications pages are in views_applications)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from components import selectors, services
from components.audit import Actor
from components.models import Component
from instances.health import greeting_only_warning
from instances.selectors import component_status, instance_statuses


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("apps")


def _overview_context(request: HttpRequest, component: Component, *, revealed: str = "") -> dict:
    membership = selectors.membership_for(request.user, component.team)
    check = getattr(component, "health_check", None)
    return {
        "health_check": check,
        "check_warning": greeting_only_warning(check) if check is not None and check.enabled else "",
        "component": component,
        "status": component_status(component),
        "instances": instance_statuses(component),
        "port": next(iter(component.ports.all()), None),
        "can_write": bool(membership and membership.can_write),
        "api_url": component.instance_api_url,
        "revealed_key": revealed,
    }


@login_required
def component_overview(request: HttpRequest, service_id: str) -> HttpResponse:
    component = selectors.component_for_user(request.user, service_id)
    context = _overview_context(request, component)
    if not (request.htmx and request.htmx.target == "instance-table"):
        return render(request, "components/overview.html", context)
    response = render(request, "components/_instance_table.html", context)
    if not any(status != "offline" for _, status in context["instances"]):
        # Nothing is being checked: htmx stops polling on status 286.
        response.status_code = 286
    return response


def _writable_component(request: HttpRequest, service_id: str) -> Component:
    component = selectors.component_for_user(request.user, service_id)
    membership = selectors.membership_for(request.user, component.team)
    if not (membership and membership.can_write):
        raise PermissionDenied("Only owners and developers can see or change the secret key.")
    return component


@login_required
@require_POST
def secret_key_reveal(request: HttpRequest, service_id: str) -> HttpResponse:
    component = _writable_component(request, service_id)
    key = services.secret_key_reveal(
        component=component, actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
    )
    context = _overview_context(request, component, revealed=key)
    template = "components/_api_registration.html" if request.htmx else "components/overview.html"
    return render(request, template, context)


@login_required
@require_POST
def secret_key_regenerate(request: HttpRequest, service_id: str) -> HttpResponse:
    component = _writable_component(request, service_id)
    key = services.secret_key_regenerate(
        component=component, actor=Actor.for_user(request.user, request.META.get("REMOTE_ADDR"))
    )
    messages.success(request, "A new secret key was generated; the old one no longer works.")
    context = _overview_context(request, component, revealed=key)
    template = "components/_api_registration.html" if request.htmx else "components/overview.html"
    return render(request, template, context)
