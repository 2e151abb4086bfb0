"""Template filters of the console's pages."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.models import AuditEvent
from kato_console.events import event_sentence

register = template.Library()


@register.filter
def duration_in_words(duration: timedelta | None) -> str:
    """A duration as a person reads it ("15 minutes", "1 hour, 30 minutes"), not as ISO 8601 ("PT15M")."""
    if duration is None:
        return ""
    now = timezone.now()
    return timeuntil(now + duration, now)


@register.filter
def ago(moment: datetime | None) -> str:
    """How long ago, as a person says it: "just now" for the last minute, then "5 minutes ago"."""
    if moment is None:
        return ""
    now = timezone.now()
    if now - moment < timedelta(minutes=1):
        return str(_("just now"))
    return str(_("%(since)s ago") % {"since": timesince(moment, now)})


@register.filter
def sentence(event: AuditEvent) -> str:
    """An audit event as the sentence a person reads (kato_console/events.py)."""
    return event_sentence(event)


@register.filter
def detail_value(value: object) -> str:
    """A value of an event's detail as text: a change "from → to", a list with commas, a switch
    on or off; never a Python dictionary."""
    if isinstance(value, dict) and set(value) <= {"from", "to"}:
        return f"{_plain(value.get('from'))} → {_plain(value.get('to'))}"
    return _plain(value)


def _plain(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(_plain(item) for item in value) or "none"
    if isinstance(value, dict):
        return "; ".join(f"{key} {_plain(item)}" for key, item in value.items())
    return str(value)


@register.filter
def uptime(value: float | None) -> str:
    """An uptime figure as people read it: "99.95 %", "100 %", or a dash when nothing was probed.
    Below 100 it never rounds up to 100."""
    if value is None:
        return "–"
    if value >= 100:
        return "100 %"
    return f"{math.floor(value * 100) / 100:.2f} %"


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
    "Maintenance": _("Maintenance"),
    "maintenance": _("maintenance"),
}


# A probe's failure label (instances.probes.FAILURES, English in the domain and the APIs) as the
# pages say it: translated here, where the page is made.
FAILURE_WORDS = {
    "address not found": _("address not found"),
    "address not allowed": _("address not allowed"),
    "unreachable": _("unreachable"),
    "no answer": _("no answer"),
    "TLS failed": _("TLS failed"),
    "unexpected answer": _("unexpected answer"),
    "login failed": _("login failed"),
    "query failed": _("query failed"),
    "bad response": _("bad response"),
    "failed": _("failed"),
}


@register.filter
def failure_word(label: object) -> str:
    """A probe's failure label ("login failed") in the page's language; anything else as it is."""
    return str(FAILURE_WORDS.get(str(label), label))


# The stage a probe failed at (instances.probes, stored as these codes), as the pages say it; in
# English the code itself, as before.
_STAGE_WORDS = {
    "dns": pgettext_lazy("probe stage", "dns"),
    "policy": pgettext_lazy("probe stage", "policy"),
    "connect": pgettext_lazy("probe stage", "connect"),
    "tls": pgettext_lazy("probe stage", "tls"),
    "greeting": pgettext_lazy("probe stage", "greeting"),
    "auth": pgettext_lazy("probe stage", "auth"),
    "query": pgettext_lazy("probe stage", "query"),
    "response": pgettext_lazy("probe stage", "response"),
    "timeout": pgettext_lazy("probe stage", "timeout"),
}


@register.filter
def stage_word(stage: object) -> str:
    """A probe's stage ("connect") in the page's language; anything else as it is."""
    return str(_STAGE_WORDS.get(str(stage), stage))


@register.filter
def status_word(status: object) -> str:
    """A status as the page shows it ("Healthy", "not ready"), translated; anything else as it is."""
    return str(_STATUS_WORDS.get(str(status), status))


# The short names of the chart windows and uptime figures (instances.history's keys).
_WINDOW_WORDS = {"24h": _("24h"), "7d": _("7d"), "30d": _("30d"), "1y": _("1y")}


@register.filter
def window_word(key: object) -> str:
    """A window's short name ("24h") in the page's language; anything else as it is."""
    return str(_WINDOW_WORDS.get(str(key), key))


# The descriptions components.services writes on the variables a port's internal service generates
# (stored in English, like every value people did not type), as the page says them.
_GENERATED_DESCRIPTIONS = {
    "Internal address (generated)": _("Internal address (generated)"),
    "Internal port (generated)": _("Internal port (generated)"),
}


@register.filter
def description_word(description: object) -> str:
    """A generated variable's description in the page's language; a person's own as they wrote it."""
    return str(_GENERATED_DESCRIPTIONS.get(str(description), description))
