"""A short path through the middleware stack for the instance API.

Every deploy hook and cron job calls ``/console/third_party/<service_id>``; the request carries no
cookie and needs no session, user, message, CSRF or static-file handling. This middleware sits
first and hands such a request straight to the view, after the checks that do apply to it (the
host against ALLOWED_HOSTS, Django's security middleware, and no caching).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.security import SecurityMiddleware

from kato_console.kato_api.views import API_PATH, ThirdPartyInstancesApi

INSTANCE_API_PATH = re.compile("^/" + API_PATH.lstrip("^"))


class InstanceApiShortcut:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.view = ThirdPartyInstancesApi.as_view()
        # The security headers and redirects apply to this endpoint as to every other.
        self.security = SecurityMiddleware(get_response)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = INSTANCE_API_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        request.get_host()  # Raises DisallowedHost (a 400) for a host not in ALLOWED_HOSTS.
        response = self.security.process_request(request) or self.view(
            request, service_id=match["service_id"]
        )
        if hasattr(response, "render"):
            # DRF's responses are rendered by the handler's innermost layer, which this one skips.
            response.render()
        response["Cache-Control"] = "no-store"
        return self.security.process_response(request, response)
