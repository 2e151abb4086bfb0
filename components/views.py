"""The console's pages for applications and components."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from components import selectors
from instances.selectors import component_status, routed_count


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("apps")


@login_required
def application_list(request: HttpRequest) -> HttpResponse:
    applications = selectors.applications_for_user(request.user)
    return render(request, "components/application_list.html", {"applications": applications})


@login_required
def application_detail(request: HttpRequest, slug: str) -> HttpResponse:
    application = selectors.application_for_user(request.user, slug)
    components = selectors.components_for_user(request.user).filter(application=application)
    rows = [
        {
            "component": component,
            "status": component_status(component),
            "routed": routed_count(component),
            "total": len(component.instances.all()),
        }
        for component in components
    ]
    return render(request, "components/application_detail.html", {"application": application, "rows": rows})
