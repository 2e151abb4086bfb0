"""Template filters of the console's pages."""

from __future__ import annotations

import math
from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timeuntil

register = template.Library()


@register.filter
def duration_in_words(duration: timedelta | None) -> str:
    """A duration as a person reads it ("15 minutes", "1 hour, 30 minutes"), not as ISO 8601 ("PT15M")."""
    if duration is None:
        return ""
    now = timezone.now()
    return timeuntil(now + duration, now)


@register.filter
def uptime(value: float | None) -> str:
    """An uptime figure as people read it: "99.95 %", "100 %", or a dash when nothing was probed.
    Below 100 it never rounds up to 100."""
    if value is None:
        return "–"
    if value >= 100:
        return "100 %"
    return f"{math.floor(value * 100) / 100:.2f} %"
