"""Public status pages and badges of the applications that publish them (docs/monitoring.md,
"Status pages and badges").

No login: the address's token is the key (unguessable, and gone when the page is unpublished).
They show component names, statuses and uptimes, never an address, a port, a variable or a key.
"""

from __future__ import annotations

from typing import Any
from unicodedata import east_asian_width

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.html import escape
from django.utils.translation import gettext
from django.views.decorators.http import require_GET

from components.models import Component
from instances import history, maintenance
from instances.models import StatusPage
from instances.selectors import ComponentStatus, components_with_counts
from kato_console.templatetags.console import status_word
from kato_console.templatetags.console import uptime as uptime_text

# The worst first: an application's status is its worst component's.
_SEVERITY = [
    ComponentStatus.UNHEALTHY,
    ComponentStatus.PARTIAL,
    ComponentStatus.MAINTENANCE,
    ComponentStatus.NOT_READY,
    ComponentStatus.UNKNOWN,
    ComponentStatus.OFFLINE,
    ComponentStatus.HEALTHY,
    ComponentStatus.NO_INSTANCES,
]
_COLOURS = {
    ComponentStatus.HEALTHY: "#16a34a",
    ComponentStatus.PARTIAL: "#ca8a04",
    ComponentStatus.UNHEALTHY: "#dc2626",
    ComponentStatus.MAINTENANCE: "#7c3aed",
}


def _page(token: str) -> StatusPage:
    page = maintenance.status_page_by_token(token)
    if page is None:
        raise Http404("No such status page.")
    return page


def _components(page: StatusPage) -> list[Component]:
    components = list(
        components_with_counts(
            Component.objects.filter(application_id=page.application_id).order_by("name", "pk")
        )
    )
    history.with_uptime(components)
    maintenance.mark_maintenance(components)
    return components


def overall(components: list[Component]) -> str:
    statuses = {component.status for component in components}  # type: ignore[attr-defined]
    return next((status for status in _SEVERITY if status in statuses), ComponentStatus.NO_INSTANCES)


@login_not_required
@require_GET
def status_page(request: HttpRequest, token: str) -> HttpResponse:
    page = _page(token)
    components = _components(page)
    context = {
        "application": page.application,
        "components": components,
        "overall": overall(components),
        "token": token,
    }
    response = render(request, "monitoring/status_page.html", context)
    patch_cache_control(response, public=True, max_age=30)
    response["X-Robots-Tag"] = "noindex"
    return response


@login_not_required
@require_GET
def badge(request: HttpRequest, token: str, what: str) -> HttpResponse:
    """``status.svg`` or ``uptime.svg`` (30 days) of the application, or of one component with
    ``?component=<service name>``."""
    if what not in ("status", "uptime"):
        raise Http404("No such badge.")
    page = _page(token)
    components = _components(page)
    name = request.GET.get("component")
    if name is not None:
        components = [component for component in components if component.service_name == name]
        if not components:
            raise Http404("No such component.")
    if what == "status":
        status = overall(components)
        svg = badge_svg(gettext("status"), status_word(status), _COLOURS.get(status, "#6b7280"))
    else:
        uptime = _uptime_30d(components)
        svg = badge_svg(gettext("uptime 30d"), uptime_text(uptime), _uptime_colour(uptime))
    response = HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
    patch_cache_control(response, public=True, max_age=60)
    return response


def _uptime_30d(components: list[Component]) -> float | None:
    values = [c.uptime["30d"] for c in components if c.uptime["30d"] is not None]  # type: ignore[attr-defined]
    return sum(values) / len(values) if values else None


def _uptime_colour(value: float | None) -> str:
    if value is None:
        return "#6b7280"
    return "#16a34a" if value >= 99.9 else "#ca8a04" if value >= 99 else "#dc2626"


def _text_width(text: str) -> int:
    """The text's width in pixels at 11 px: 7 a character, 12 a wide one (Chinese)."""
    return sum(12 if east_asian_width(character) in ("W", "F") else 7 for character in text)


def badge_svg(label: str, value: str, colour: str) -> str:
    """A flat two-part badge, in the reader's language; its widths from the text (7 pixels a
    character, 12 a wide one)."""
    left, right = 12 + _text_width(label), 12 + _text_width(value)
    label_html, value_html, colour_html = escape(label), escape(value), escape(colour)
    parts: list[Any] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + right}" height="20" role="img" '
        f'aria-label="{label_html}: {value_html}"><title>{label_html}: {value_html}</title>',
        f'<rect width="{left}" height="20" fill="#555"/>',
        f'<rect x="{left}" width="{right}" height="20" fill="{colour_html}"/>',
        '<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">',
        f'<text x="{left / 2}" y="14">{label_html}</text>',
        f'<text x="{left + right / 2}" y="14">{value_html}</text></g></svg>',
    ]
    return "".join(parts)
