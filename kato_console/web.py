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


# Post/redirect/get with something shown once: a successful post keeps what its answer must show
# (a new token's key, "show the secret now") in the session, redirects, and the page it redirects to
# takes it out again, so the first display shows it and a reload (or Back) neither shows it again
# nor repeats the post. The session lives in the database, server-side; a secret the console keeps
# anyway (a secret key, a signing secret) is not put there: only the wish to show it.
_SHOWN_ONCE = "kato.shown_once."


def keep_for_one_display(request: HttpRequest, key: str, value: object) -> None:
    request.session[_SHOWN_ONCE + key] = value


def take_kept(request: HttpRequest, key: str) -> object:
    """What ``keep_for_one_display`` kept under ``key`` (``None`` when nothing), now forgotten."""
    return request.session.pop(_SHOWN_ONCE + key, None)
