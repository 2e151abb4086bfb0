"""The console's own "not found" and "server error" pages, in every run.

Without ``DEBUG`` Django renders ``templates/404.html`` and ``templates/500.html`` itself. With it
(the embedded run, ``make run``) Django shows its technical pages instead, which list the site's
URL patterns and settings to whoever mistypes an address: this middleware answers the product's
pages there too. ``KATO_TECHNICAL_ERROR_PAGES=1`` keeps Django's pages for a developer who wants
them (the traceback is also in the server's log either way).
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse


class ProductErrorPages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not settings.DEBUG
            or settings.KATO_TECHNICAL_ERROR_PAGES
            or response.status_code not in (404, 500)
            or not response.get("Content-Type", "").startswith("text/html")
        ):
            return response
        if response.status_code == 404:
            page = TemplateResponse(request, "404.html", {"request_path": request.path}, status=404)
            return page.render()
        # Rendered without the request, as Django's handler500 does: nothing that failed is read again.
        return HttpResponse(render_to_string("500.html"), status=500)
