from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from components.selectors import applications_for_navigation, teams_for_user


def htmx_partial(request: HttpRequest) -> bool:
    """Whether htmx asked for a piece of a page rather than a whole one (NetBox's ``htmx_partial``).

    A boosted link, a history restore and an ``HX-Location`` navigation (no target element: htmx
    swaps the whole body) all want the whole page, sidebar included; a request that swaps one
    element of the page (``hx-target``) wants only that element.
    """
    htmx = getattr(request, "htmx", None)
    return bool(htmx and not htmx.boosted and not htmx.history_restore_request and htmx.target)


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in layout's side bar: the user's teams and their applications.

    A fragment never shows the side bar, so a partial request does not read it (the instance
    table alone polls every 5 seconds from every open overview)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    if htmx_partial(request):
        return {}
    applications = list(applications_for_navigation(user))
    return {
        "nav_teams": [
            (team, [app for app in applications if app.team_id == team.pk]) for team in teams_for_user(user)
        ]
    }
