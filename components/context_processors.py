from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from components.selectors import applications_for_navigation, teams_for_user


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The signed-in layout's side bar: the user's teams and their applications."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    # Unevaluated querysets: a fragment that never draws the side bar costs no query for it, and
    # a page that does evaluates each once (a queryset keeps its rows for the nested loop).
    return {
        "nav_teams": teams_for_user(user),
        "nav_applications": applications_for_navigation(user),
    }
