"""The "Kubernetes" downloads of the component and application pages: the manifests of
``instances.kubernetes`` as a YAML attachment, under the same rules as ``/api/v1/…/kubernetes``
(owners and developers receive the Secret's values, audited; viewers the Secret without them)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from components import selectors, services
from components.models import Application, Component
from core.audit import Actor
from core.models import Team
from instances import kubernetes

VIA = "page:kubernetes"


@require_GET
def component_kubernetes(request: HttpRequest, service_id: str) -> HttpResponse:
    component = selectors.component_page_for_user(request.user, service_id)
    loaded = kubernetes.load_components(Component.objects.filter(pk=component.pk))
    reason = kubernetes.not_exported_reason(loaded[0])
    if reason:
        messages.warning(request, reason)
        return redirect("component", service_id=component.service_id)
    title = f"Kubernetes manifests of {component.application.slug}/{component.service_name}"
    return _attachment(request, component.team, loaded, title, f"{component.service_name}.k8s.yaml")


@require_GET
def application_kubernetes(request: HttpRequest, slug: str) -> HttpResponse:
    application: Application = selectors.application_for_user(request.user, slug)
    loaded = kubernetes.load_components(Component.objects.filter(application=application))
    title = f"Kubernetes manifests of the application {application.slug} (team {application.team.slug})"
    return _attachment(request, application.team, loaded, title, f"{application.slug}.k8s.yaml")


def _attachment(
    request: HttpRequest, team: Team, components: list[Component], title: str, filename: str
) -> HttpResponse:
    membership = selectors.membership_for(request.user, team)
    reveal = bool(membership and membership.can_write)
    found = kubernetes.manifests(components, reveal=reveal)
    actor = Actor.from_request(request)
    for manifest in found:
        services.env_reveal(component=manifest.component, actor=actor, names=manifest.revealed, via=VIA)
    response = HttpResponse(
        kubernetes.to_yaml(found, title=title), content_type="application/yaml; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # The Secret may hold values.
    return response
