"""The "Down now" page: what is failing across the user's applications, refreshing itself."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone

from instances.selectors import down_now_for_user
from kato_console.web import HtmxHttpRequest, is_fragment_request

POLL_S = 10


def down_now(request: HtmxHttpRequest) -> HttpResponse:
    """Components with failing instances, the longest down first, each with what depends on it.
    htmx asks for the list alone every ``POLL_S`` seconds; without JavaScript the page says when it
    was read and a reload reads it again."""
    down, total = down_now_for_user(request.user)
    context = {"down": down, "more": total - len(down), "now": timezone.now(), "poll_s": POLL_S}
    if is_fragment_request(request, "down-now"):
        return render(request, "monitoring/_down_now.html", context)
    return render(request, "monitoring/down_now.html", context)
