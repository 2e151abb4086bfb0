"""The applications pages: the list with "New application", an application's components and
topology, and the "Internal component" form."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseLocation

from components import selectors, services, topology
from components.models import Application, Component, ComponentKind
from core.audit import Actor
from core.errors import ComponentError
from instances import maintenance
from instances import services as instance_services
from instances.models import StatusPage
from instances.selectors import application_topology, components_with_counts, writable_teams_for_user
from kato_console.pages.forms import ApplicationForm, InternalComponentForm
from kato_console.web import HtmxHttpRequest, add_service_errors, is_fragment_request

APPLICATIONS_PER_PAGE = 50
COMPONENTS_PER_PAGE = 50


def _page(request: HtmxHttpRequest, items: Any, per_page: int) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))


@require_http_methods(["GET", "POST"])
def application_list(request: HtmxHttpRequest) -> HttpResponse:
    """The user's applications; "New application" opens the form in place (GET ?new=1) and the
    form posts back here."""
    teams = writable_teams_for_user(request.user)
    form = None
    if request.method == "POST":
        if not teams.exists():
            raise PermissionDenied(gettext("Viewers cannot create applications."))
        form = ApplicationForm(request.POST, teams=teams)
        if form.is_valid():
            return _application_create(request, form)
    elif "new" in request.GET and teams.exists():
        form = ApplicationForm(teams=teams)
    context = {
        "form": form,
        "can_create": teams.exists(),
        "page": _page(request, selectors.applications_for_user(request.user), APPLICATIONS_PER_PAGE),
    }
    if form is not None and is_fragment_request(request, "new-application"):
        return render(request, "applications/_application_form.html", context)
    return render(request, "applications/application_list.html", context)


def _application_create(request: HtmxHttpRequest, form: ApplicationForm) -> HttpResponse:
    try:
        application = services.application_create(
            team=form.chosen_team(), name=form.cleaned_data["name"], actor=Actor.from_request(request)
        )
    except ComponentError as error:
        add_service_errors(form, error)
        context = {"form": form, "can_create": True}
        if is_fragment_request(request, "new-application"):
            return render(request, "applications/_application_form.html", context)
        context["page"] = _page(request, selectors.applications_for_user(request.user), APPLICATIONS_PER_PAGE)
        return render(request, "applications/application_list.html", context)
    return open_page(request, reverse("application", args=[application.slug]))


def open_page(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Open ``url``: a full navigation for htmx (HX-Location), a redirect otherwise."""
    if request.htmx:
        return HttpResponseLocation(url)
    return redirect(url)


def _can_write(request: HtmxHttpRequest, application: Application) -> bool:
    membership = selectors.membership_for(request.user, application.team)
    return bool(membership and membership.can_write)


@require_POST
def status_page_switch(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """Publish (``publish=1``) or take down the application's public status page."""
    application = selectors.application_for_user(request.user, slug)
    if not _can_write(request, application):
        raise PermissionDenied(gettext("Viewers can look at an application but not change it."))
    actor = Actor.from_request(request)
    if request.POST.get("publish") == "1":
        maintenance.status_page_publish(application=application, actor=actor)
        messages.success(request, gettext("Published the status page: anyone with its address can see it."))
    else:
        maintenance.status_page_unpublish(application=application, actor=actor)
        messages.success(request, gettext("Took the status page down; its address no longer answers."))
    return redirect("application", application.slug)


def application_detail(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    application = selectors.application_for_user(request.user, slug)
    components = components_with_counts(
        Component.objects.filter(application=application).order_by("name", "pk")
    )
    context = {
        "application": application,
        "can_write": _can_write(request, application),
        "page": _page(request, components, COMPONENTS_PER_PAGE),
        "status_page": StatusPage.objects.filter(application=application).first(),
    }
    if is_fragment_request(request, "component-table"):
        return render(request, "applications/_component_table.html", context)
    graph = application_topology(application)
    context["topology"] = topology.layout(graph.nodes, graph.edges) if graph.nodes else None
    context["topology_too_many"] = graph.too_many
    return render(request, "applications/application_detail.html", context)


@require_http_methods(["GET", "POST"])
def internal_component_new(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    """ "Internal component": a name and an image, created at once."""
    application = selectors.application_for_user(request.user, slug)
    if not _can_write(request, application):
        raise PermissionDenied(gettext("Viewers cannot add components."))
    form = InternalComponentForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            component = instance_services.component_create(
                application=application,
                name=form.cleaned_data["name"],
                image=form.cleaned_data["image"],
                kind=ComponentKind.INTERNAL,
                actor=Actor.from_request(request),
            )
        except ComponentError as error:
            add_service_errors(form, error, aliases={"service_name": "name"})
        else:
            return open_page(request, reverse("component", args=[component.service_id]))
    context = {"application": application, "form": form}
    if is_fragment_request(request, "add-component"):
        return render(request, "applications/_internal_form.html", context)
    return render(request, "applications/internal_component.html", context)
