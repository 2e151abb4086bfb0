"""What the doors share: the request a page view receives, the one "is this a fragment request"
predicate, and the one way a service's refusal becomes form errors (pages, alerts' pages, admin).

The request is Django's, with django-htmx's details (``request.htmx``), which
``django_htmx.middleware.HtmxMiddleware`` sets on every request. Typed as django-htmx documents.
"""

from __future__ import annotations

from django import forms
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from core.errors import ComponentError


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


def is_fragment_request(request: HttpRequest, target: str | None = None) -> bool:
    """Whether htmx asked for one element of a page (``hx-target``; this one, when ``target`` is
    given) rather than a whole page (NetBox's ``htmx_partial``).

    A boosted link, a history restore and an ``HX-Location`` navigation (no target element: htmx
    swaps the whole body) all want the whole page, sidebar included.
    """
    htmx = getattr(request, "htmx", None)
    if not htmx or htmx.boosted or htmx.history_restore_request or not htmx.target:
        return False
    return target is None or htmx.target == target


def add_service_errors(
    form: forms.BaseForm, error: ComponentError, *, aliases: dict[str, str] | None = None
) -> None:
    """Put a service's refusal under the fields it names (``aliases`` maps the service's field
    names to the form's); the rest, and fields the form does not have, above the form."""
    for field, messages in error.messages.items():
        name = (aliases or {}).get(field, field)
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


# Post/redirect/get for what is shown once (a new token, a secret): the post keeps it in the session
# for the next page, which takes it out, so a reload neither posts again nor shows it again.

_SHOWN_ONCE = "kato-shown-once:"


def keep_for_one_display(request: HttpRequest, name: str, value: object) -> None:
    request.session[f"{_SHOWN_ONCE}{name}"] = value


def take_shown_once(request: HttpRequest, name: str, default: object = None) -> object:
    if f"{_SHOWN_ONCE}{name}" not in request.session:
        return default
    return request.session.pop(f"{_SHOWN_ONCE}{name}")
