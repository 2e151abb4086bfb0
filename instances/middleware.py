"""A short path through the middleware stack for the instance API.

Every deploy hook and cron job calls ``/console/third_party/<service_id>``; the request carries no
cookie and needs no session, user, message, CSRF or static-file handling. This middleware sits
first and hands such a request straight to the view, after the checks that do apply to it (the
host against ALLOWED_HOSTS, and the security headers a JSON answer needs).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from instances.kato_api import ThirdPartyInstancesApi

INSTANCE_API_PATH = re.compile(r"^/console/third_party/(?P<service_id>[^/]+)/?$")


class InstanceApiShortcut:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.view = ThirdPartyInstancesApi.as_view()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = INSTANCE_API_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        request.get_host()  # Raises DisallowedHost (a 400) for a host not in ALLOWED_HOSTS.
        response = self.view(request, service_id=match["service_id"])
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "no-store"
        return response
