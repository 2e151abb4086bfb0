from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from components.selectors import applications_for_user, teams_for_user


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in layout's side bar: the user's teams and their applications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    return {
        "nav_teams": list(teams_for_user(user)),
        "nav_applications": list(applications_for_user(user)),
    }
