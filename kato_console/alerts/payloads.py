"""What a notification says: the JSON body of a webhook, and the one line of text that Slack-compatible
webhooks and emails carry. Pure functions over plain values; no secret ever goes in (no variable,
no key, no connection information).

The payload's fields are machine words (``unhealthy``, ``certificate.expired``) in every language;
the sentences made of them (``summary``, ``text_lines``, a test's ``message``) are in the active
language, which the caller sets to the channel's (``summary_in``, ``messages.build_message``)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from components.models import Component
from instances.models import Instance
from instances.signals import HealthTransition


@dataclass(frozen=True)
class Event:
    """One thing to notify about, for every channel that covers ``component_id``."""

    component_id: int
    team_id: int
    key: str
    kind: str  # "instance" or "component"
    payload: dict[str, Any]


def idempotency_key(*parts: object) -> str:
    """The same event always gets the same key, whichever worker computes it."""
    return hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()[:40]


def component_url(component: Component) -> str:
    return f"{settings.KATO_PUBLIC_URL}/components/{component.service_id}/"


def _about(component: Component) -> dict[str, Any]:
    return {
        "team": component.team.name,
        "application": component.application.name,
        "component": component.name,
        "service_id": component.service_id,
        "url": component_url(component),
    }


@dataclass(frozen=True)
class Context:
    """What an event says about the components around its own: those that depend on it (``affected``:
    name and distance, 1 for direct) and those whose change in the same round it caused (``also``)."""

    affected: tuple[tuple[str, int], ...] = ()
    also: tuple[str, ...] = ()


NO_CONTEXT = Context()


def _context(context: Context) -> dict[str, Any]:
    return {
        "affected": [
            {"component": name, "via": "direct" if distance == 1 else "indirect"}
            for name, distance in context.affected
        ],
        "also": list(context.also),
    }


def instance_event(
    transition: HealthTransition, component: Component, context: Context = NO_CONTEXT
) -> Event:
    payload = {
        "event": f"instance.{transition.new}",
        **_about(component),
        "instance": transition.address,
        "old_status": transition.old,
        "new_status": transition.new,
        "stage": transition.stage,
        "error": transition.error,
        "time": transition.at.isoformat(),
        **_context(context),
    }
    key = idempotency_key(
        "instance", transition.instance_id, transition.old, transition.new, transition.at.isoformat()
    )
    return Event(component.pk, component.team_id, key, "instance", payload)


def component_event(
    component: Component, *, old: str, new: str, at: datetime, context: Context = NO_CONTEXT
) -> Event:
    # A component's status reads "Partial" on the pages; in a payload, lower case like an instance's.
    old, new = old.lower(), new.lower()
    payload = {
        "event": f"component.{new}",
        **_about(component),
        "instance": "",
        "old_status": old,
        "new_status": new,
        "stage": "",
        "error": "",
        "time": at.isoformat(),
        **_context(context),
    }
    key = idempotency_key("component", component.pk, old, new, at.isoformat())
    return Event(component.pk, component.team_id, key, "component", payload)


def certificate_event(instance: Instance, *, threshold: int, now: datetime) -> Event:
    """An instance's certificate within ``threshold`` days of its expiry (or past it)."""
    component = instance.component
    expires_at = instance.cert_expires_at
    assert expires_at is not None
    expired = expires_at <= now
    payload = {
        "event": "certificate.expired" if expired else "certificate.expiring",
        **_about(component),
        "instance": instance.address,
        "old_status": "",
        "new_status": "expired" if expired else f"expires within {threshold} days",
        "stage": "",
        "error": "",
        "time": now.isoformat(),
        "expires_at": expires_at.isoformat(),
        "days_left": max(0, (expires_at - now).days),
    }
    key = idempotency_key("certificate", instance.pk, expires_at.isoformat(), threshold)
    return Event(component.pk, component.team_id, key, "instance", payload)


def sample_payload(*, team_name: str, channel_name: str, at: datetime) -> dict[str, Any]:
    return {
        "event": "test",
        "team": team_name,
        "application": "",
        "component": "",
        "service_id": "",
        "url": f"{settings.KATO_PUBLIC_URL}/",
        "instance": "",
        "old_status": "",
        "new_status": "",
        "stage": "",
        "error": "",
        "time": at.isoformat(),
        "message": gettext("A test notification from Kato Console for the channel %(channel)s.")
        % {"channel": channel_name},
    }


# The statuses a payload names (an instance's, a component's in lower case), as a sentence says them.
_STATUS_WORDS = {
    "healthy": _("healthy"),
    "unhealthy": _("unhealthy"),
    "unknown": _("unknown"),
    "offline": _("offline"),
    "partial": pgettext("a component's status", "partial"),
    "not ready": _("not ready"),
    "no instances": pgettext("a component's status", "no instances"),
    "maintenance": _("maintenance"),
}


def _status(word: object) -> str:
    return str(_STATUS_WORDS.get(str(word), word))


def summary_in(payload: dict[str, Any], language: str) -> str:
    """``summary`` in this language (a channel's)."""
    with translation.override(language):
        return summary(payload)


def summary(payload: dict[str, Any]) -> str:
    """One line a person reads in Slack, an email subject or the deliveries table, in the active language."""
    if payload.get("event") == "test":
        return str(payload.get("message", gettext("A test notification from Kato Console.")))
    where = f"{payload['application']} / {payload['component']}"
    if str(payload.get("event", "")).startswith("certificate."):
        when = str(payload.get("expires_at", ""))[:16].replace("T", " ")
        sentence = (
            gettext("the TLS certificate of %(instance)s (%(where)s) expired on %(when)s UTC")
            if payload["event"] == "certificate.expired"
            else gettext("the TLS certificate of %(instance)s (%(where)s) expires on %(when)s UTC")
        )
        return (sentence % {"instance": payload["instance"], "where": where, "when": when})[:290]
    words = {
        "instance": payload.get("instance"),
        "where": where,
        "new": _status(payload["new_status"]),
        "old": _status(payload["old_status"]),
    }
    if payload.get("instance"):
        what = gettext("instance %(instance)s of %(where)s is %(new)s (was %(old)s)") % words
    else:
        what = gettext("%(where)s is %(new)s (was %(old)s)") % words
    if payload.get("error"):
        what += pgettext("before an error", ": ") + f"{payload['stage']}: {payload['error']}"
    if payload.get("also"):
        what += gettext("; also %(new)s with it: %(also)s") % {
            "new": words["new"],
            "also": pgettext("list separator", ", ").join(payload["also"]),
        }
    if payload.get("affected"):
        what += gettext("; affects %(affected)s") % {"affected": affected_names(payload)}
    return what[:290]


def affected_names(payload: dict[str, Any]) -> str:
    """``orders, storefront (through others)``: the dependents an event names, as a person reads them."""
    through_others = gettext(" (through others)")
    return pgettext("list separator", ", ").join(
        item["component"] + (through_others if item["via"] == "indirect" else "")
        for item in payload.get("affected", [])
    )


def text_lines(payload: dict[str, Any]) -> list[str]:
    """The lines of a Slack-compatible message and of an email's body, before each channel's escaping."""
    return [gettext("Kato Console: %(summary)s") % {"summary": summary(payload)}, str(payload.get("url", ""))]


def text(payload: dict[str, Any]) -> str:
    return "\n".join(text_lines(payload))


# How long Alertmanager keeps an alert firing that the console does not resolve (a lost "healthy"
# notification): it resolves itself then. A resolution is sent with the recovery.
ALERTMANAGER_HOLD = timedelta(days=7)

_ALERT_NAMES = {
    "instance": "KatoInstanceUnhealthy",
    "component": "KatoComponentUnhealthy",
    "certificate": "KatoCertificateExpiry",
    "test": "KatoTest",
}


def alertmanager_alert(payload: dict[str, Any]) -> dict[str, Any]:
    """One alert of Alertmanager's API v2 (``POST /api/v2/alerts``) for a notification.

    The labels name what the alert is about and never its state, so that a recovery (the same
    labels with ``endsAt`` now) resolves the alert a failure fired, and Alertmanager's grouping and
    silences work on team, application, component and instance."""
    event = str(payload.get("event", ""))
    family = event.split(".", 1)[0]
    at = datetime.fromisoformat(str(payload["time"]))
    labels = {
        "alertname": _ALERT_NAMES.get(family, "KatoEvent"),
        "team": str(payload.get("team", "")),
        "application": str(payload.get("application", "")),
        "component": str(payload.get("component", "")),
        "service_id": str(payload.get("service_id", "")),
        "instance": str(payload.get("instance", "")),
    }
    status = str(payload.get("new_status", ""))
    if family == "certificate":
        # Firing until the certificate's end; the "expired" notice fires on from there.
        expires_at = datetime.fromisoformat(str(payload["expires_at"]))
        labels["alertname"] = (
            "KatoCertificateExpired" if event == "certificate.expired" else labels["alertname"]
        )
        ends_at = expires_at if event == "certificate.expiring" else at + ALERTMANAGER_HOLD
    elif status == "healthy" or event == "test":
        ends_at = at  # resolved (a test alert ends as it starts)
    else:
        ends_at = at + ALERTMANAGER_HOLD
    annotations = {"summary": summary(payload), "status": status}
    if payload.get("error"):
        annotations["description"] = f"{payload.get('stage', '')}: {payload['error']}"
    if payload.get("affected"):
        annotations["affected"] = affected_names(payload)
    if payload.get("also"):
        annotations["also"] = ", ".join(payload["also"])
    return {
        "labels": {key: value for key, value in labels.items() if value},
        "annotations": annotations,
        "startsAt": at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "generatorURL": str(payload.get("url", "")),
    }
