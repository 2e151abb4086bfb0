"""A refusal raised by a service in a page view becomes a message on the page, never a 500.

Page views catch the ``ComponentError`` they expect (a form's fields); one they do not (revealing
the key of a component that has none, say) arrives here. The console API and the instance API
answer with their own error formats and never let it reach this middleware.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import url_has_allowed_host_and_scheme
from django_htmx.http import HttpResponseClientRedirect

from core.errors import ComponentError


class DomainErrorMessages:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, ComponentError):
            return None
        messages.error(request, str(exception))
        back = _where_from(request)
        if getattr(request, "htmx", False):
            # htmx follows HX-Redirect with a full page load, which shows the message.
            return HttpResponseClientRedirect(back)
        return HttpResponseRedirect(back)


def _where_from(request: HttpRequest) -> str:
    """The page the request came from (same host only), else the page itself for a GET, else home."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return request.get_full_path() if request.method == "GET" else "/"
