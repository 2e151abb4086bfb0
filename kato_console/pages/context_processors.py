from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from components.selectors import applications_for_navigation, teams_for_user
from kato_console.web import is_fragment_request


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in layout's side bar: the user's teams and their applications.

    A fragment never shows the side bar, so a partial request does not read it (the instance
    table alone polls every 5 seconds from every open overview)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    if is_fragment_request(request):
        return {}
    applications = list(applications_for_navigation(user))
    return {
        "nav_teams": [
            (team, [app for app in applications if app.team_id == team.pk]) for team in teams_for_user(user)
        ]
    }
