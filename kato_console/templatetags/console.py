"""Template filters of the console's pages."""

from __future__ import annotations

from datetime import timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext_lazy as _

register = template.Library()


@register.filter
def duration_in_words(duration: timedelta | None) -> str:
    """A duration as a person reads it ("15 minutes", "1 hour, 30 minutes"), not as ISO 8601 ("PT15M")."""
    if duration is None:
        return ""
    now = timezone.now()
    return timeuntil(now + duration, now)


# The status words the pages show (a component's and an instance's), in the reader's language.
_STATUS_WORDS = {
    "Healthy": _("Healthy"),
    "Partial": _("Partial"),
    "Unhealthy": _("Unhealthy"),
    "Unknown": _("Unknown"),
    "Offline": _("Offline"),
    "No instances": _("No instances"),
    "Not ready": _("Not ready"),
    "healthy": _("healthy"),
    "unhealthy": _("unhealthy"),
    "unknown": _("unknown"),
    "offline": _("offline"),
    "notready": _("not ready"),
}


@register.filter
def status_word(status: object) -> str:
    """A status as the page shows it ("Healthy", "not ready"), translated; anything else as it is."""
    return str(_STATUS_WORDS.get(str(status), status))
