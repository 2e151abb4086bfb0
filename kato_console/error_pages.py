"""The console's own "not found" and "something went wrong" pages, with ``DEBUG`` on too.

With ``DEBUG`` off Django renders ``404.html`` and ``500.html``. With it on (the embedded run,
``make run``) Django answers with its technical pages instead, which list the URL patterns or a
traceback to anyone who asks; this middleware puts the product's pages in their place. The
traceback still goes to the server's log (the ``django.request`` logger);
``KATO_TECHNICAL_ERROR_PAGES=1`` keeps Django's pages for a developer who wants them.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views import defaults

_REASON = "kato.not_found"


class ProductErrorPages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.DEBUG or settings.KATO_TECHNICAL_ERROR_PAGES:
            return response  # Django renders the product's pages itself, or a developer asked for its own
        if not response.get("Content-Type", "").startswith("text/html"):
            return response  # an API's JSON error stays as it is
        if response.status_code == 404:
            return defaults.page_not_found(request, exception=request.META.pop(_REASON, None))
        if response.status_code == 500:
            return defaults.server_error(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # A view's Http404 says why ("This wizard was finished…"); the page says it too.
        if isinstance(exception, Http404):
            request.META[_REASON] = exception
