"""The request a page view receives: Django's, with django-htmx's details (``request.htmx``), which
``django_htmx.middleware.HtmxMiddleware`` sets on every request. Typed as django-htmx documents."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails
